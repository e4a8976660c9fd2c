// attention-tap.h: captures, while libllama decodes, each output token's attention to the image tokens.
//
// libllama names the post-softmax attention probabilities of layer il "kq_soft_max-<il>" (flash attention
// off), F32, contiguous, ne = [n_kv, n_tokens_ubatch, n_head, 1]: element (kv, t, h) at (h*n_tokens + t)*n_kv + kv.
// The tap is an eval callback (llama_context_params.cb_eval): it observes only while armed, reads only the
// armed query row and only the image's KV cells (a fresh cache of one sequence puts the t-th decoded token in
// cell t, whatever its position: M-RoPE positions jump, cells do not), and
// reduces on the fly:
//   - mean over all layers and heads (the paper's text), or over the chosen layers (set_layers),
//   - mean over those layers of head H-2 (what the official code does: attentions[..., -2, ...] with H heads),
//   - mean over a chosen head set (set_heads: a layer range, listed or calibrated heads; head-set.h), when one is set,
//   - optionally the full [layer, head] stack (research dump).
// Memory is O(rows x image tokens) unless dumping. "The map of token k" is the row of the query that
// PREDICTS token k (the last prompt position for the first token, then each decode step).
//
// One tap belongs to one llama_context (not thread-safe).
#pragma once

#include "ggml.h"
#include "head-set.h"

#include <cstdint>
#include <string>
#include <vector>

namespace glm {

struct attn_maps {
    int n_img   = 0;  // image tokens per row (grid_h x grid_w)
    int n_layer = 0;
    int n_head  = 0;
    int head_official = 0;        // H-2 (Python index -2), the head the official code keeps
    int n_rows  = 0;              // captured rows (= output tokens)
    std::vector<float> mean;      // n_rows x n_img
    std::vector<float> official;  // n_rows x n_img
    std::vector<head_pair> selected_heads;  // the head set reduced into `selected` (empty: none)
    std::vector<float> selected;  // n_rows x n_img: mean over selected_heads, when set
    std::vector<float> full;      // n_rows x n_layer x n_head x n_img, only when dumping
};

class attention_tap {
public:
    attention_tap(int n_layer, int n_head, bool dump);
    void set_dump(bool dump) { dump_ = dump; }  // between runs only
    // Also reduce the mean over these heads (empty: none); between runs only. Throws on a head out of range.
    void set_heads(const std::vector<head_pair> & heads);

    // The KV cells of the image tokens: [first_cell, first_cell + n_img).
    void set_image_cells(int first_cell, int n_img);
    // The layers `mean` and `official` average (empty = all; e.g. Gemma 3's global layers); `full` keeps every layer.
    void set_layers(const std::vector<int> & layers);
    // Capture row `row` (index in the next llama_decode batch) during the next decode.
    void arm(int row);
    // After the decode: checks that every layer was seen and appends the row to the maps.
    void commit();
    void reset();  // drops captured rows (keeps the image cells)

    const attn_maps & maps() const { return maps_; }
    attn_maps         take();  // moves the maps out and resets

    // ggml_backend_sched_eval_callback; user_data = the tap
    static bool eval_callback(ggml_tensor * t, bool ask, void * user_data);

private:
    bool on_tensor(ggml_tensor * t, bool ask);

    attn_maps           maps_;
    bool                dump_;
    int                 first_cell_ = 0;
    bool                armed_      = false;
    int                 row_        = 0;
    int                 ubatch_start_ = 0;   // batch row of the current ubatch's first token
    int                 ubatch_n_     = -1;  // tokens in the current ubatch (-1: none seen yet)
    std::vector<double> acc_mean_, acc_official_, acc_sel_;
    std::vector<uint8_t> sel_mask_;  // n_layer x n_head, 1 = in the head set (empty: no set)
    std::vector<float>  acc_full_;
    std::vector<int>    layer_seen_;
    std::vector<char>   layer_in_map_;  // per layer: counted in mean / official
    int                 n_map_layers_ = 0;
    std::vector<float>  buf_;
    std::string         error_;
};

}  // namespace glm
