// rle.h: COCO run-length encoding of binary masks, compatible with pycocotools (maskApi.c).
//
// Our masks are row-major H x W bytes (0/1) as images are; COCO RLE runs over the mask in column-major
// (Fortran) order, starting with a run of zeros. The compressed string form is pycocotools' LEB128-like
// code (6 bits per character, characters 48..111, counts after the second delta-coded against i-2).
// Polygons, boxes, merge and IoU follow maskApi.c operation for operation (rleFrPoly's 5x upsampling and
// rounding, rleIou's box prefilter and crowd rule), so results are bit-identical to pycocotools.
// Everything here is a pure function of its arguments: thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace glm {

struct rle {
    int                   h = 0;
    int                   w = 0;
    std::vector<uint32_t> counts;  // alternating runs of 0s and 1s, column-major, first run is 0s
};

rle                  rle_encode(const uint8_t * mask_row_major, int h, int w);  // nonzero = foreground
std::vector<uint8_t> rle_decode(const rle & r);                                // row-major 0/1
std::string          rle_to_string(const rle & r);
rle                  rle_from_string(const std::string & s, int h, int w);     // throws on a malformed string
uint64_t             rle_area(const rle & r);
// [x, y, width, height] of the mask, as pycocotools toBbox
void                 rle_bbox(const rle & r, double bbox[4]);

// Uncompressed RLE (COCO's {"size": [h, w], "counts": [..]}): the runs as given; throws when they do not sum
// to h*w (pycocotools does not check; such a mask is malformed).
rle  rle_from_counts(const std::vector<uint32_t> & counts, int h, int w);
// One polygon [x0, y0, x1, y1, ...] in pixel coordinates, rasterised as pycocotools rleFrPoly (an odd
// trailing coordinate is ignored, as pycocotools' int(len/2) does).
rle  rle_from_polygon(const std::vector<double> & xy, int h, int w);
// A box [x, y, width, height] as pycocotools rleFrBbox (a 4-point polygon).
rle  rle_from_bbox(const double bbox[4], int h, int w);
// COCO's polygon-list segmentation as annToRLE does it (frPyObjects + merge): the parts are merged into one
// mask. Throws on an empty list or a first part of 4 numbers or fewer (pycocotools fails on those too).
rle  rle_from_polygons(const std::vector<std::vector<double>> & parts, int h, int w);
// Union (intersect = false) or intersection of masks of one size (rleMerge); throws on differing sizes.
rle  rle_merge(const std::vector<rle> & rs, bool intersect);
// Mask IoU as rleIou: 0 when the boxes do not overlap, -1 when the sizes differ; with gt_crowd the
// denominator is the detection's area (intersection over detection area).
double rle_iou(const rle & dt, const rle & gt, bool gt_crowd);
// All pairs: result[d * gts.size() + g], as maskUtils.iou(dt, gt, iscrowd) (rows = detections).
std::vector<double> rle_iou_matrix(const std::vector<rle> & dts, const std::vector<rle> & gts,
                                   const std::vector<uint8_t> & gt_crowd);
// Box IoU as bbIou ([x, y, w, h]; crowd: intersection over the detection box's area).
double bbox_iou(const double dt[4], const double gt[4], bool gt_crowd);
// Whether pixel (x, y) (column, row) is set; false outside the mask.
bool   rle_contains(const rle & r, int x, int y);

}  // namespace glm
