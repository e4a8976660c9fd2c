#include "models/cambrian-vision.h"

#include "common.h"

namespace glm {

cambrian_encoder::cambrian_encoder(const std::string & path, compute_backend & backend) :
    loader_(path),
    backend_(backend) {
    loader_.load(backend_.primary());
    model_.load(loader_);
    const char * missing[k_cambrian_towers] = { model_.has_siglip ? nullptr : "SigLIP", model_.has_clip ? nullptr : "CLIP",
                                                model_.has_dino ? nullptr : "DINOv2",
                                                model_.has_convnext ? nullptr : "ConvNeXt" };
    std::string miss;
    for (const char * m : missing) {
        if (m) {
            miss += miss.empty() ? m : std::string(", ") + m;
        }
    }
    if (!miss.empty()) {
        fail("%s: the Cambrian GGUF lacks the tower(s) %s (convert it with every tower: groundlmm convert-cambrian "
             "--siglip --clip --dino --convnext)", path.c_str(), miss.c_str());
    }
}

std::string cambrian_encoder::name() const {
    const cambrian_hparams & hp = model_.hp;
    return strfmt("cambrian (SigLIP + CLIP + DINOv2 + ConvNeXt, SVA %d layers of %d on a %dx%d query grid, %d in-LLM "
                  "blocks from layer %d every %d, image_position %d) -> %d",
                  hp.connector_depth, hp.vision_hidden, hp.query_side, hp.query_side, hp.n_llm_blocks,
                  hp.llm_block_start, hp.llm_block_stride, hp.image_position, hp.llm_hidden);
}

image_layout cambrian_layout(const cambrian_span & span, int width, int height) {
    const int    rows = span.rows(), cols = span.cols();
    image_layout l;
    l.n_tokens = rows * (cols + 1);
    token_grid g;
    g.role = grid_role::highres;  // the unpadded raster, newline after each row, as LLaVA-NeXT's
    g.rows = rows;
    g.cols = cols;
    g.rect = { 0, 0, width, height };  // GL cambrian.py maps the unpadded grid over the whole image
    g.cells.reserve((size_t) rows * cols);
    for (int r = 0; r < rows; ++r) {
        for (int c = 0; c < cols; ++c) {
            g.cells.push_back(r * (cols + 1) + c);
        }
    }
    l.grids.push_back(std::move(g));
    l.primary = 0;
    return l;
}

vision_output cambrian_encoder::encode(const image_u8 & img, compute_backend & compute, uint64_t) const {
    if (img.w <= 0 || img.h <= 0) {
        fail("cambrian: empty image (%d x %d)", img.w, img.h);
    }
    auto side   = std::make_shared<cambrian_prefill>();
    side->model = &model_;
    side->w     = img.w;
    side->h     = img.h;
    side->conn  = cambrian_run_connector(model_, compute, cambrian_run_towers(model_, compute, img), img.w, img.h);
    const cambrian_span & sp = side->conn.span;
    vision_output         out;
    out.n_embd   = n_embd();
    out.n_tokens = sp.rows() * (sp.cols() + 1);
    if (side->conn.image_tokens.size() != (size_t) out.n_tokens * out.n_embd) {
        fail("cambrian: the connector returned %zu values for %d tokens of width %d", side->conn.image_tokens.size(),
             out.n_tokens, out.n_embd);
    }
    out.embd   = side->conn.image_tokens;
    out.layout = cambrian_layout(sp, img.w, img.h);
    out.grid_w = sp.cols();
    out.grid_h = sp.rows();
    // every tower pads to a square and resizes it; the tokens left after unpadding cover the image itself
    out.geom.orig_w     = img.w;
    out.geom.orig_h     = img.h;
    out.geom.side       = std::max(img.w, img.h);
    out.geom.input_size = model_.hp.query_side;
    out.geom.scale      = (float) model_.hp.query_side / (float) out.geom.side;
    out.decode.cambrian = std::move(side);
    return out;
}

}  // namespace glm
