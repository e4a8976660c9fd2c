// groundlmm segment: Segment Anything on one image with point and box prompts. Writes into the output folder
// mask_<k>.png (white = object), masks.json (COCO RLE, area, bbox and the predicted IoU of every mask, the
// prompt) and overlay.png (the best-scoring mask over the image, with the prompt drawn on it).
#include "cli-common.h"
#include "common.h"
#include "image.h"
#include "rle.h"
#include "sam.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <sstream>

using json = nlohmann::json;

static std::vector<float> parse_numbers(const std::string & s, const char * what, size_t min_n, size_t max_n) {
    std::vector<float> v;
    std::stringstream  ss(s);
    std::string        item;
    while (std::getline(ss, item, ',')) {
        try {
            size_t used = 0;
            v.push_back(std::stof(item, &used));
            if (used != item.size()) {
                throw std::invalid_argument(item);
            }
        } catch (...) {
            glm::fail("%s '%s': '%s' is not a number", what, s.c_str(), item.c_str());
        }
    }
    if (v.size() < min_n || v.size() > max_n) {
        if (min_n == max_n) {
            glm::fail("%s '%s': expected %zu numbers separated by commas", what, s.c_str(), min_n);
        }
        glm::fail("%s '%s': expected %zu to %zu numbers separated by commas", what, s.c_str(), min_n, max_n);
    }
    return v;
}

static void blend(glm::image_u8 & img, int x, int y, const uint8_t c[3], float a) {
    if (x < 0 || y < 0 || x >= img.w || y >= img.h) {
        return;
    }
    uint8_t * p = img.at(x, y);
    for (int k = 0; k < 3; ++k) {
        p[k] = (uint8_t) std::lround((1.0f - a) * p[k] + a * c[k]);
    }
}

static glm::image_u8 render_overlay(const glm::image_u8 & img, const glm::sam_prompt & prompt, const uint8_t * mask) {
    glm::image_u8 out         = img;
    const uint8_t fill[3]     = { 30, 144, 255 };
    const uint8_t edge[3]     = { 255, 255, 255 };
    const uint8_t fg[3]       = { 0, 220, 0 };
    const uint8_t bg[3]       = { 230, 0, 0 };
    const uint8_t box_c[3]    = { 255, 215, 0 };
    for (int y = 0; y < img.h; ++y) {
        for (int x = 0; x < img.w; ++x) {
            if (!mask[(size_t) y * img.w + x]) {
                continue;
            }
            const bool border = x == 0 || y == 0 || x == img.w - 1 || y == img.h - 1 || !mask[(size_t) y * img.w + x - 1] ||
                                !mask[(size_t) y * img.w + x + 1] || !mask[(size_t) (y - 1) * img.w + x] ||
                                !mask[(size_t) (y + 1) * img.w + x];
            blend(out, x, y, border ? edge : fill, border ? 0.9f : 0.5f);
        }
    }
    const int r = std::max(3, std::min(img.w, img.h) / 100);
    for (const glm::sam_point & p : prompt.points) {
        const int cx = (int) std::lround(p.x), cy = (int) std::lround(p.y);
        for (int dy = -r - 1; dy <= r + 1; ++dy) {
            for (int dx = -r - 1; dx <= r + 1; ++dx) {
                const int d2 = dx * dx + dy * dy;
                if (d2 <= r * r) {
                    blend(out, cx + dx, cy + dy, p.label == 1 ? fg : bg, 1.0f);
                } else if (d2 <= (r + 1) * (r + 1)) {
                    blend(out, cx + dx, cy + dy, edge, 1.0f);
                }
            }
        }
    }
    if (prompt.has_box) {
        const int x0 = (int) std::lround(prompt.box[0]), y0 = (int) std::lround(prompt.box[1]);
        const int x1 = (int) std::lround(prompt.box[2]), y1 = (int) std::lround(prompt.box[3]);
        for (int t = 0; t < 2; ++t) {
            for (int x = x0; x <= x1; ++x) {
                blend(out, x, y0 + t, box_c, 1.0f);
                blend(out, x, y1 - t, box_c, 1.0f);
            }
            for (int y = y0; y <= y1; ++y) {
                blend(out, x0 + t, y, box_c, 1.0f);
                blend(out, x1 - t, y, box_c, 1.0f);
            }
        }
    }
    return out;
}

int cmd_segment(int argc, char ** argv) {
    CLI::App                 app("Segment Anything: masks for point and box prompts on one image", argv[0]);
    std::string              sam_path, image_path, out_dir, box_str;
    std::vector<std::string> point_strs;
    bool                     multimask = false, cpu = false, verbose = false;
    int                      n_threads = 0;
    glm::sam_params          sp;
    app.add_option("--sam", sam_path, "SAM GGUF (groundlmm convert-sam)")->required();
    app.add_option("--image", image_path, "image file (JPEG, PNG, ...)")->required();
    app.add_option("--point", point_strs, "a point prompt X,Y[,LABEL] in image pixels; LABEL 1 = foreground "
                                          "(default), 0 = background; repeat for several points");
    app.add_option("--box", box_str, "a box prompt x0,y0,x1,y1 in image pixels");
    app.add_flag("--multimask", multimask, "return the model's multiple masks for ambiguous prompts (default: one)");
    app.add_option("-o,--output", out_dir, "output folder")->required();
    app.add_option("--mask-threshold", sp.mask_threshold, "logit threshold of the masks (default: the model's, 0)");
    app.add_option("-t,--threads", n_threads, "CPU threads (0 = all)")->capture_default_str()->check(CLI::Range(0, 1024));
    app.add_flag("--cpu", cpu, "run on the CPU even when a GPU is available");
    app.add_flag("-v,--verbose", verbose, "show ggml logs");
    if (int rc = cli_parse(app, argc, argv); rc >= 0) {
        return rc;
    }
    glm::log_route_ggml(verbose);
    if (verbose) {
        glm::log_set_level(glm::log_level::debug);
    }

    glm::sam_prompt prompt;
    prompt.multimask = multimask;
    for (const std::string & s : point_strs) {
        const std::vector<float> v = parse_numbers(s, "--point", 2, 3);
        if (v.size() == 3 && v[2] != 0.0f && v[2] != 1.0f) {
            glm::fail("--point '%s': the label must be 1 (foreground) or 0 (background)", s.c_str());
        }
        prompt.points.push_back({ v[0], v[1], v.size() == 3 ? (int) v[2] : 1 });
    }
    if (!box_str.empty()) {
        const std::vector<float> v = parse_numbers(box_str, "--box", 4, 4);
        prompt.has_box             = true;
        std::copy(v.begin(), v.end(), prompt.box);
    }
    if (prompt.points.empty() && !prompt.has_box) {
        glm::fail("empty prompt: give at least one --point or a --box");
    }

    const glm::image_u8 img = glm::image_load(image_path);
    glm::backend_params bp;
    bp.n_threads = n_threads;
    bp.use_gpu   = !cpu;
    glm::compute_backend backend(bp);
    const double         t0    = glm::now_s();
    auto                 model = glm::sam_model::load(sam_path, backend);
    glm::sam_state       state(model, backend, sp);
    glm::sam_check_prompt(model->hparams(), prompt, img.w, img.h);  // before the (long) image encoding
    const double         t1 = glm::now_s();
    state.set_image(img);
    const double           t2 = glm::now_s();
    const glm::sam_result  r  = state.predict(prompt);
    const double           t3 = glm::now_s();

    glm::make_dirs(out_dir);
    json masks = json::array();
    int  best  = 0;
    for (int k = 0; k < r.n_masks; ++k) {
        const uint8_t * m = &r.masks[(size_t) k * r.width * r.height];
        glm::image_u8   png;
        png.w = r.width;
        png.h = r.height;
        png.rgb.resize((size_t) 3 * r.width * r.height);
        for (size_t i = 0; i < (size_t) r.width * r.height; ++i) {
            png.rgb[3 * i] = png.rgb[3 * i + 1] = png.rgb[3 * i + 2] = m[i] ? 255 : 0;
        }
        const std::string file = glm::strfmt("mask_%d.png", k);
        glm::image_save_png(out_dir + "/" + file, png);
        const glm::rle rl = glm::rle_encode(m, r.height, r.width);
        double         bbox[4];
        glm::rle_bbox(rl, bbox);
        masks.push_back({ { "index", k },
                          { "iou", r.iou[k] },
                          { "area", glm::rle_area(rl) },
                          { "bbox", { bbox[0], bbox[1], bbox[2], bbox[3] } },
                          { "segmentation", { { "size", { r.height, r.width } }, { "counts", glm::rle_to_string(rl) } } },
                          { "png", file } });
        if (r.iou[k] > r.iou[best]) {
            best = k;
        }
        printf("mask %d: predicted IoU %.4f, area %llu px -> %s/%s\n", k, r.iou[k],
               (unsigned long long) glm::rle_area(rl), out_dir.c_str(), file.c_str());
    }
    json pts = json::array();
    for (const glm::sam_point & p : prompt.points) {
        pts.push_back({ p.x, p.y, p.label });
    }
    json out = { { "image", image_path },
                 { "width", r.width },
                 { "height", r.height },
                 { "model", sam_path },
                 { "prompt",
                   { { "points", pts },
                     { "box", prompt.has_box ? json({ prompt.box[0], prompt.box[1], prompt.box[2], prompt.box[3] }) : json() },
                     { "multimask", multimask } } },
                 { "mask_threshold", state.mask_threshold() },
                 { "masks", masks },
                 { "best", best },
                 { "seconds", { { "load", t1 - t0 }, { "encode", t2 - t1 }, { "decode", t3 - t2 } } } };
    glm::write_file(out_dir + "/masks.json", out.dump(2) + "\n");
    glm::image_save_png(out_dir + "/overlay.png",
                        render_overlay(img, prompt, &r.masks[(size_t) best * r.width * r.height]));
    fprintf(stderr, "%s: load %.2f s, image encoder %.2f s, decoder %.3f s on %s; wrote %s/masks.json, overlay.png\n",
            image_path.c_str(), t1 - t0, t2 - t1, t3 - t2, backend.name().c_str(), out_dir.c_str());
    return 0;
}
