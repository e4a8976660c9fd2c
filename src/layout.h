// layout.h: where a vision model's image tokens sit in the LLM sequence and which pixels each one covers.
//
// A vision model returns, with its embeddings, an image_layout: the image tokens form one contiguous block of
// n_tokens embeddings in the sequence (the attention tap captures exactly that block), inside which one or more
// grids of cells lie. Each grid says, for every cell (row-major), the index of its token in the block, and the
// rectangle of the ORIGINAL image it covers once letterboxing, padding, cropping or unpadding is undone: a grid that
// covers a padded square extends past the image (negative x/y, w/h larger than the image). Tokens that are in no
// grid (separators, newline tokens after each row) are simply not referenced.
//
//   LLaVA-1.5, DiffLMM, toy ViT: one 'image' grid, cells 0..n-1, over the padded square (x = -pad_x, y = -pad_y,
//                                w = h = max(W, H)).
//   LLaVA-NeXT:                  a 'base' grid (the squashed overview: the whole image) then a 'highres' grid whose
//                                rows are followed by a newline token (cells skip one index per row).
//   tiled models:                one 'tile' grid per crop, each over its rectangle of the image.
//
// Stage 2 maps the chosen grid (primary by default) back onto the image from its rectangle: the grid is upsampled
// to w x h and the image is the window at (-x, -y) of that canvas, exactly what the official code does for
// LLaVA-1.5's 'pad' (upsample to the square, crop the image).
//
// Pure data; every function is thread-safe.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace glm {

// A rectangle in original-image pixel coordinates: [x, x + w) x [y, y + h).
struct grid_rect {
    int x = 0, y = 0;
    int w = 0, h = 0;

    bool operator==(const grid_rect & o) const { return x == o.x && y == o.y && w == o.w && h == o.h; }
};

// What a grid is to the model.
enum class grid_role {
    image,    // the only grid: the whole image (LLaVA-1.5)
    base,     // the overview of a multi-grid model (LLaVA-NeXT's squashed 336x336 base image)
    tile,     // one crop of a tiled model
    highres,  // a high-resolution raster assembled from tiles (LLaVA-NeXT after unpadding)
};

const char * grid_role_name(grid_role r);
grid_role    grid_role_from_name(const std::string & s);  // throws glm::error on an unknown name

struct token_grid {
    grid_role        role = grid_role::image;
    int              rows = 0, cols = 0;
    std::vector<int> cells;  // rows x cols, row-major: the index of each cell's token in the image-token block
    grid_rect        rect;   // the pixels of the original image the grid covers

    bool contiguous() const;  // cells are 0, 1, ..., rows*cols - 1
};

struct image_layout {
    int                     n_tokens = 0;  // image tokens in the sequence (grid cells + separators + newlines)
    std::vector<token_grid> grids;
    int                     primary  = 0;  // the grid stage 2 points from by default

    // One grid covering the whole image-token block, cells in order (LLaVA-1.5 and every square-grid encoder).
    static image_layout single(int rows, int cols, grid_rect rect, grid_role role = grid_role::image);

    // Throws glm::error (prefixed with `what`) when a grid is empty, a cell is outside [0, n_tokens), a cell is
    // used twice, a rectangle is empty or primary is out of range.
    void validate(const char * what = "image layout") const;

    // One grid whose cells are exactly the whole block in order: maps can be stored as [T, rows, cols].
    bool is_single_contiguous() const { return grids.size() == 1 && grids[0].contiguous() && n_tokens == grids[0].rows * grids[0].cols; }

    // Index of the first grid with this role, or -1.
    int find(grid_role r) const;
};

// The rectangle of a square grid over LLaVA's expand2square canvas: the image of w x h pasted at
// ((side - w) / 2, (side - h) / 2) on a square of side max(w, h).
grid_rect rect_padded_square(int width, int height);

nlohmann::json layout_to_json(const image_layout & l);
image_layout   layout_from_json(const nlohmann::json & j);  // throws glm::error naming the bad field

// Per-token maps over the whole image-token block ([T, n_tokens], row-major) -> the [T, rows, cols] maps of one
// grid (the cells gathered in row-major order). A contiguous grid covering the block is a plain copy.
std::vector<float> layout_grid_maps(const image_layout & l, int grid, const std::vector<float> & block_maps,
                                    int n_rows);

}  // namespace glm
