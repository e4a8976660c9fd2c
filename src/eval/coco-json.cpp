// eval/coco-json.cpp: COCO JSON reading for cocoeval.h (ground truth as COCO(), results as COCO.loadRes(),
// segmentations as annToRLE()).
#include "eval/cocoeval.h"

#include "common.h"

#include <nlohmann/json.hpp>

#include <cmath>

namespace glm {

using json = nlohmann::json;

const coco_image & coco_dataset::image(int64_t id) const {
    auto it = image_index.find(id);
    if (it == image_index.end()) {
        fail("image id %lld is not in the ground truth", (long long) id);
    }
    return images[it->second];
}

static const json & field(const json & o, const char * key, const std::string & where) {
    if (!o.is_object()) {
        fail("%s: expected an object", where.c_str());
    }
    auto it = o.find(key);
    if (it == o.end()) {
        fail("%s: missing '%s'", where.c_str(), key);
    }
    return *it;
}

static double get_number(const json & v, const std::string & where) {
    if (!v.is_number()) {
        fail("%s: expected a number, got %s", where.c_str(), v.type_name());
    }
    return v.get<double>();
}

// Ids: JSON integers (or floats with an integral value, which Python's dicts treat as the same key).
static int64_t get_id(const json & v, const std::string & where) {
    if (v.is_number_integer()) {
        return v.get<int64_t>();
    }
    if (v.is_number_float()) {
        const double d = v.get<double>();
        if (std::floor(d) == d && std::fabs(d) < 9e15) {
            return (int64_t) d;
        }
    }
    fail("%s: expected an integer id, got %s", where.c_str(), v.dump().c_str());
}

static int get_size(const json & v, const std::string & where) {
    const int64_t n = get_id(v, where);
    if (n < 0 || n > (1 << 20)) {
        fail("%s: size %lld out of range", where.c_str(), (long long) n);
    }
    return (int) n;
}

json coco_read_json(const std::string & path) {
    const std::vector<uint8_t> bytes = read_file(path);
    try {
        return json::parse(bytes.begin(), bytes.end());
    } catch (const json::exception & e) {
        fail("%s: malformed JSON: %s", path.c_str(), e.what());
    }
}

rle coco_segmentation_to_rle(const json & segm, int h, int w, const std::string & what) {
    if (segm.is_array()) {  // polygons (or, pycocotools quirk, boxes), merged into one mask
        std::vector<std::vector<double>> parts;
        for (size_t i = 0; i < segm.size(); ++i) {
            const std::string wi = what + "[" + std::to_string(i) + "]";
            if (!segm[i].is_array()) {
                fail("%s: expected a polygon (array of numbers)", wi.c_str());
            }
            std::vector<double> p;
            for (const auto & x : segm[i]) {
                p.push_back(get_number(x, wi));
            }
            parts.push_back(std::move(p));
        }
        try {
            return rle_from_polygons(parts, h, w);
        } catch (const error & e) {
            fail("%s: %s", what.c_str(), e.what());
        }
    }
    const json & size   = field(segm, "size", what);
    const json & counts = field(segm, "counts", what);
    if (!size.is_array() || size.size() != 2) {
        fail("%s: 'size' must be [height, width]", what.c_str());
    }
    const int rh = get_size(size[0], what + ".size"), rw = get_size(size[1], what + ".size");
    try {
        if (counts.is_string()) {
            rle r = rle_from_string(counts.get<std::string>(), rh, rw);
            uint64_t sum = 0;
            for (uint32_t c : r.counts) {
                sum += c;
            }
            if (sum != (uint64_t) rh * rw) {
                fail("RLE counts sum to %llu, expected %d*%d", (unsigned long long) sum, rh, rw);
            }
            return r;
        }
        if (counts.is_array()) {
            std::vector<uint32_t> c;
            for (const auto & x : counts) {
                const int64_t n = get_id(x, what + ".counts");
                if (n < 0 || n > UINT32_MAX) {
                    fail("run length %lld out of range", (long long) n);
                }
                c.push_back((uint32_t) n);
            }
            return rle_from_counts(c, rh, rw);
        }
    } catch (const error & e) {
        fail("%s: %s", what.c_str(), e.what());
    }
    fail("%s: 'counts' must be a string or a list of run lengths", what.c_str());
}

coco_dataset coco_parse_dataset(const json & j, const std::string & what) {
    if (!j.is_object()) {
        fail("%s: expected a COCO object with images, annotations and categories", what.c_str());
    }
    coco_dataset ds;
    const json & imgs = field(j, "images", what);
    for (size_t i = 0; i < imgs.size(); ++i) {
        const std::string wi = what + ": images[" + std::to_string(i) + "]";
        coco_image        im;
        im.id     = get_id(field(imgs[i], "id", wi), wi + ".id");
        im.width  = get_size(field(imgs[i], "width", wi), wi + ".width");
        im.height = get_size(field(imgs[i], "height", wi), wi + ".height");
        if (imgs[i].contains("file_name") && imgs[i]["file_name"].is_string()) {
            im.file_name = imgs[i]["file_name"].get<std::string>();
        }
        if (!ds.image_index.emplace(im.id, ds.images.size()).second) {
            fail("%s: duplicate image id %lld", wi.c_str(), (long long) im.id);
        }
        ds.images.push_back(im);
    }
    const json & cats = field(j, "categories", what);
    for (size_t i = 0; i < cats.size(); ++i) {
        const std::string wi = what + ": categories[" + std::to_string(i) + "]";
        coco_category     c;
        c.id = get_id(field(cats[i], "id", wi), wi + ".id");
        if (cats[i].contains("name") && cats[i]["name"].is_string()) {
            c.name = cats[i]["name"].get<std::string>();
        }
        if (!ds.category_index.emplace(c.id, ds.categories.size()).second) {
            fail("%s: duplicate category id %lld", wi.c_str(), (long long) c.id);
        }
        ds.categories.push_back(c);
    }
    const json & anns = field(j, "annotations", what);
    std::map<int64_t, size_t> ann_ids;
    for (size_t i = 0; i < anns.size(); ++i) {
        const std::string wi = what + ": annotations[" + std::to_string(i) + "]";
        const json &      a  = anns[i];
        coco_annotation   an;
        an.id          = get_id(field(a, "id", wi), wi + ".id");
        an.image_id    = get_id(field(a, "image_id", wi), wi + ".image_id");
        an.category_id = get_id(field(a, "category_id", wi), wi + ".category_id");
        if (!ann_ids.emplace(an.id, i).second) {
            fail("%s: duplicate annotation id %lld", wi.c_str(), (long long) an.id);
        }
        auto im = ds.image_index.find(an.image_id);
        if (im == ds.image_index.end()) {
            ds.n_ann_unknown_image++;
            continue;
        }
        if (!ds.category_index.count(an.category_id)) {
            ds.n_ann_unknown_category++;
            continue;
        }
        const coco_image & img = ds.images[im->second];
        an.segm = coco_segmentation_to_rle(field(a, "segmentation", wi), img.height, img.width, wi + ".segmentation");
        if (a.contains("iscrowd")) {
            an.iscrowd = get_number(a["iscrowd"], wi + ".iscrowd") != 0;
        }
        if (a.contains("area")) {
            an.area = get_number(a["area"], wi + ".area");
        } else {
            an.area = (double) rle_area(an.segm);
            ds.n_area_computed++;
        }
        ds.annotations.push_back(std::move(an));
    }
    if (ds.n_ann_unknown_image || ds.n_ann_unknown_category) {
        GLM_LOG_WARN("%s: skipped %d annotations on unknown images and %d on unknown categories", what.c_str(),
                     ds.n_ann_unknown_image, ds.n_ann_unknown_category);
    }
    if (ds.n_area_computed) {
        GLM_LOG_WARN("%s: %d annotations have no 'area'; using their mask area", what.c_str(), ds.n_area_computed);
    }
    return ds;
}

coco_dataset coco_load_dataset(const std::string & path) { return coco_parse_dataset(coco_read_json(path), path); }

std::vector<coco_annotation> coco_parse_results(const coco_dataset & gt, const json & j, const std::string & what) {
    if (!j.is_array()) {
        fail("%s: results must be a JSON array of detections", what.c_str());
    }
    std::vector<coco_annotation> out;
    if (j.empty()) {
        return out;  // valid: every ground truth becomes a miss
    }
    // loadRes picks the mode from the first entry: a non-empty "bbox" makes areas box areas.
    const bool box_area = j[0].is_object() && j[0].contains("bbox") && j[0]["bbox"].is_array() && !j[0]["bbox"].empty();
    if (j[0].is_object() && j[0].contains("caption")) {
        fail("%s: caption results are not segmentation results", what.c_str());
    }
    for (size_t i = 0; i < j.size(); ++i) {
        const std::string wi = what + ": [" + std::to_string(i) + "]";
        const json &      a  = j[i];
        coco_annotation   d;
        d.id          = (int64_t) i + 1;
        d.image_id    = get_id(field(a, "image_id", wi), wi + ".image_id");
        d.category_id = get_id(field(a, "category_id", wi), wi + ".category_id");
        d.score       = get_number(field(a, "score", wi), wi + ".score");
        if (!gt.image_index.count(d.image_id)) {
            fail("%s: image_id %lld is not in the ground truth", wi.c_str(), (long long) d.image_id);
        }
        const coco_image & img = gt.image(d.image_id);
        d.segm = coco_segmentation_to_rle(field(a, "segmentation", wi), img.height, img.width, wi + ".segmentation");
        if (box_area) {
            const json & bb = field(a, "bbox", wi);
            if (!bb.is_array() || bb.size() != 4) {
                fail("%s: 'bbox' must be [x, y, w, h]", wi.c_str());
            }
            d.area = get_number(bb[2], wi + ".bbox") * get_number(bb[3], wi + ".bbox");
        } else {
            d.area = (double) rle_area(d.segm);
        }
        out.push_back(std::move(d));
    }
    return out;
}

std::vector<coco_annotation> coco_load_results(const coco_dataset & gt, const std::string & path) {
    return coco_parse_results(gt, coco_read_json(path), path);
}

}  // namespace glm
