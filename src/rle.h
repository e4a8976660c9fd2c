// rle.h: COCO run-length encoding of binary masks, compatible with pycocotools (maskApi.c).
//
// Our masks are row-major H x W bytes (0/1) as images are; COCO RLE runs over the mask in column-major
// (Fortran) order, starting with a run of zeros. The compressed string form is pycocotools' LEB128-like
// code (6 bits per character, characters 48..111, counts after the second delta-coded against i-2).
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

}  // namespace glm
