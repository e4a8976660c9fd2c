#include "attention-tap.h"

#include "common.h"

#include "ggml-backend.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

namespace glm {

static const char   k_prefix[]  = "kq_soft_max-";
static const size_t k_prefix_n = sizeof(k_prefix) - 1;

attention_tap::attention_tap(int n_layer, int n_head, bool dump) : dump_(dump) {
    if (n_layer <= 0 || n_head <= 0) {
        fail("attention tap: invalid model shape (%d layers, %d heads)", n_layer, n_head);
    }
    maps_.n_layer       = n_layer;
    maps_.n_head        = n_head;
    maps_.head_official = ((n_head - 2) % n_head + n_head) % n_head;
    set_layers({});
}

void attention_tap::set_layers(const std::vector<int> & layers) {
    layer_in_map_.assign((size_t) maps_.n_layer, layers.empty() ? 1 : 0);
    for (int il : layers) {
        if (il < 0 || il >= maps_.n_layer) {
            fail("attention tap: map layer %d out of range [0, %d)", il, maps_.n_layer);
        }
        layer_in_map_[(size_t) il] = 1;
    }
    n_map_layers_ = 0;
    for (char c : layer_in_map_) {
        n_map_layers_ += c;
    }
}

void attention_tap::set_heads(const std::vector<head_pair> & heads) {
    if (heads.empty()) {
        sel_mask_.clear();
        maps_.selected_heads.clear();
        return;
    }
    std::vector<uint8_t> mask((size_t) maps_.n_layer * maps_.n_head, 0);
    for (const head_pair & p : heads) {
        if (p.first < 0 || p.first >= maps_.n_layer || p.second < 0 || p.second >= maps_.n_head) {
            fail("attention tap: head %d.%d out of range (%d layers, %d heads)", p.first, p.second, maps_.n_layer,
                 maps_.n_head);
        }
        mask[(size_t) p.first * maps_.n_head + p.second] = 1;
    }
    sel_mask_            = std::move(mask);
    maps_.selected_heads = heads;
}

void attention_tap::set_image_cells(int first_cell, int n_img) {
    if (first_cell < 0 || n_img <= 0) {
        fail("attention tap: invalid image cells [%d, %d)", first_cell, first_cell + n_img);
    }
    first_cell_  = first_cell;
    maps_.n_img  = n_img;
    reset();
}

void attention_tap::reset() {
    maps_.n_rows = 0;
    maps_.mean.clear();
    maps_.official.clear();
    maps_.selected.clear();
    maps_.full.clear();
    armed_ = false;
}

void attention_tap::arm(int row) {
    if (maps_.n_img <= 0) {
        fail("attention tap: armed before the image cells were set");
    }
    armed_        = true;
    row_          = row;
    ubatch_start_ = 0;
    ubatch_n_     = -1;
    error_.clear();
    const size_t n = (size_t) maps_.n_img;
    acc_mean_.assign(n, 0.0);
    acc_official_.assign(n, 0.0);
    acc_sel_.assign(sel_mask_.empty() ? 0 : n, 0.0);
    if (dump_) {
        acc_full_.assign((size_t) maps_.n_layer * maps_.n_head * n, 0.0f);
    }
    layer_seen_.assign(maps_.n_layer, 0);
}

void attention_tap::commit() {
    if (!armed_) {
        fail("attention tap: commit without arm");
    }
    armed_ = false;
    if (!error_.empty()) {
        fail("attention tap: %s", error_.c_str());
    }
    for (int il = 0; il < maps_.n_layer; ++il) {
        if (layer_seen_[il] != 1) {
            fail("attention tap: layer %d seen %d times for one row (is flash attention off?)", il, layer_seen_[il]);
        }
    }
    const int    L = n_map_layers_, H = maps_.n_head;
    const size_t n = (size_t) maps_.n_img;
    for (size_t i = 0; i < n; ++i) {
        maps_.mean.push_back((float) (acc_mean_[i] / (double) (L * H)));
        maps_.official.push_back((float) (acc_official_[i] / (double) L));
    }
    if (!sel_mask_.empty()) {
        const double n_sel = (double) std::count(sel_mask_.begin(), sel_mask_.end(), (uint8_t) 1);
        for (size_t i = 0; i < n; ++i) {
            maps_.selected.push_back((float) (acc_sel_[i] / n_sel));
        }
    }
    if (dump_) {
        maps_.full.insert(maps_.full.end(), acc_full_.begin(), acc_full_.end());
    }
    maps_.n_rows++;
}

attn_maps attention_tap::take() {
    attn_maps out = std::move(maps_);
    maps_         = attn_maps();
    maps_.n_layer = out.n_layer;
    maps_.n_head  = out.n_head;
    maps_.n_img   = out.n_img;
    maps_.head_official = out.head_official;
    maps_.selected_heads = out.selected_heads;
    return out;
}

bool attention_tap::eval_callback(ggml_tensor * t, bool ask, void * user_data) {
    return ((attention_tap *) user_data)->on_tensor(t, ask);
}

bool attention_tap::on_tensor(ggml_tensor * t, bool ask) {
    if (!armed_ || strncmp(t->name, k_prefix, k_prefix_n) != 0) {
        return ask ? false : true;
    }
    if (ask) {
        return true;
    }
    const int il = atoi(t->name + k_prefix_n);
    const int n_kv = (int) t->ne[0], n_tok = (int) t->ne[1], n_head = (int) t->ne[2];
    if (il == 0) {  // a new ubatch starts with layer 0
        if (ubatch_n_ >= 0) {
            ubatch_start_ += ubatch_n_;
        }
        ubatch_n_ = n_tok;
    }
    const int r = row_ - ubatch_start_;
    if (r < 0 || r >= n_tok) {
        return true;  // the armed row is in another ubatch
    }
    if (t->type != GGML_TYPE_F32 || !ggml_is_contiguous(t) || il < 0 || il >= maps_.n_layer ||
        n_head != maps_.n_head || first_cell_ + maps_.n_img > n_kv) {
        error_ = strfmt("unexpected %s: type %s, ne [%d, %d, %d], expected %d heads and at least %d KV cells",
                        t->name, ggml_type_name(t->type), n_kv, n_tok, n_head, maps_.n_head,
                        first_cell_ + maps_.n_img);
        return false;  // aborts the decode; commit() reports the error
    }
    const size_t n = (size_t) maps_.n_img;
    buf_.resize(n);
    const bool in_map = layer_in_map_[(size_t) il] != 0;
    for (int h = 0; h < n_head; ++h) {
        const size_t off = (((size_t) h * n_tok + r) * n_kv + first_cell_) * sizeof(float);
        ggml_backend_tensor_get(t, buf_.data(), off, n * sizeof(float));
        for (size_t i = 0; in_map && i < n; ++i) {
            acc_mean_[i] += buf_[i];
        }
        if (!sel_mask_.empty() && sel_mask_[(size_t) il * maps_.n_head + h]) {
            for (size_t i = 0; i < n; ++i) {
                acc_sel_[i] += buf_[i];
            }
        }
        if (in_map && h == maps_.head_official) {
            for (size_t i = 0; i < n; ++i) {
                acc_official_[i] += buf_[i];
            }
        }
        if (dump_) {
            memcpy(&acc_full_[((size_t) il * maps_.n_head + h) * n], buf_.data(), n * sizeof(float));
        }
    }
    layer_seen_[il]++;
    return true;
}

}  // namespace glm
