#include "toy/probe.h"

#include "common.h"
#include "toy/batch.h"

#include "ggml-alloc.h"

#include <algorithm>
#include <cmath>

namespace glm::toy {

std::vector<probe_maps> toy_probe(const toy_model & m, const std::vector<world_scene> & scenes, int batch) {
    std::vector<probe_maps> out;
    const int               L = m.dec_hp().n_layer, H = m.dec_hp().n_head, N = m.vit_hp().n_patches();
    const int               P0 = (int) m.prompt_pre().size(), C0 = m.caption_start();
    for (size_t s0 = 0; s0 < scenes.size(); s0 += batch) {
        const size_t             s1 = std::min(scenes.size(), s0 + (size_t) batch);
        std::vector<world_scene> part(scenes.begin() + s0, scenes.begin() + s1);
        const toy_batch          b = toy_make_batch(m, part);

        graph_ctx     gctx(16384);
        toy_graph     g  = toy_build_graph(gctx.ctx(), m, b.B, b.T, b.R, /*keep_attn=*/true);
        ggml_tensor * lp = ggml_soft_max(gctx.ctx(), g.logits);  // probabilities, for the loss
        ggml_set_output(lp);
        ggml_cgraph * gf = gctx.new_graph();
        for (ggml_tensor * a : g.attn) {
            ggml_set_output(a);
            ggml_build_forward_expand(gf, a);
        }
        ggml_build_forward_expand(gf, lp);
        ggml_gallocr_t galloc = ggml_gallocr_new(ggml_backend_get_default_buffer_type(m.backend()));
        if (!ggml_gallocr_alloc_graph(galloc, gf)) {
            ggml_gallocr_free(galloc);
            fail("toy probe: cannot allocate the graph");
        }
        toy_set_inputs(m, g, b);
        if (ggml_backend_graph_compute(m.backend(), gf) != GGML_STATUS_SUCCESS) {
            ggml_gallocr_free(galloc);
            fail("toy probe: graph compute failed");
        }
        std::vector<std::vector<float>> attn;
        for (ggml_tensor * a : g.attn) {
            attn.push_back(tensor_to_f32(a));  // [T_k, T_q, H, B]
        }
        const std::vector<float> prob = tensor_to_f32(lp);  // [V, R]
        ggml_gallocr_free(galloc);

        const int V = m.dec_hp().n_vocab, T = b.T;
        for (int i = 0; i < b.B; ++i) {
            probe_maps pm;
            pm.tokens  = b.caption[i];
            pm.spans   = m.vocab().encode_spans(part[i].caption);
            pm.n_steps = (int) pm.tokens.size() + 1;
            pm.n_layer = L;
            pm.n_head  = H;
            pm.n_img   = N;
            pm.grid    = m.vit_hp().grid();
            pm.attn.resize((size_t) pm.n_steps * L * H * N);
            for (int st = 0; st < pm.n_steps; ++st) {
                const int q = C0 - 1 + st;
                for (int l = 0; l < L; ++l) {
                    for (int h = 0; h < H; ++h) {
                        const float * src = &attn[l][(((size_t) i * H + h) * T + q) * T + P0];
                        std::copy(src, src + N, pm.attn.begin() + (((size_t) st * L + l) * H + h) * N);
                    }
                }
            }
            for (int r = b.row_begin[i]; r < b.row_begin[i] + pm.n_steps; ++r) {
                pm.nll -= std::log(std::max(1e-30f, prob[(size_t) r * V + b.targets[r]]));
            }
            out.push_back(std::move(pm));
        }
    }
    return out;
}

std::vector<float> probe_step_map(const probe_maps & pm, int step, const map_select & sel) {
    const int          N = pm.n_img;
    std::vector<float> map((size_t) N, 0.0f);
    auto               add = [&](int l, int h, float w) {
        const float * a = pm.at(step, l, h);
        for (int j = 0; j < N; ++j) {
            map[j] += w * a[j];
        }
    };
    switch (sel.heads) {
        case head_select::mean_all:
            for (int l = 0; l < pm.n_layer; ++l) {
                for (int h = 0; h < pm.n_head; ++h) {
                    add(l, h, 1.0f / (pm.n_layer * pm.n_head));
                }
            }
            break;
        case head_select::head_h2:
            for (int l = 0; l < pm.n_layer; ++l) {
                add(l, std::max(0, pm.n_head - 2), 1.0f / pm.n_layer);
            }
            break;
        case head_select::one: add(sel.layer, sel.head, 1.0f); break;
        case head_select::layer_mean:
            for (int h = 0; h < pm.n_head; ++h) {
                add(sel.layer, h, 1.0f / pm.n_head);
            }
            break;
    }
    return map;
}

std::vector<float> probe_object_map(const probe_maps & pm, const world_object & o, const map_select & sel) {
    // the caption tokens of the chosen words
    std::vector<int> steps;
    for (size_t t = 0; t < pm.spans.size(); ++t) {
        const int b  = pm.spans[t].first;
        bool      in = false;
        switch (sel.words) {
            case phrase_words::phrase: in = b >= o.phrase_begin && b < o.phrase_end; break;
            case phrase_words::shape:  in = b == o.shape_begin; break;
            case phrase_words::colour: in = b == o.colour_begin; break;
        }
        if (in) {
            steps.push_back((int) t);
        }
    }
    if (steps.empty()) {
        return {};
    }
    const int          N = pm.n_img;
    std::vector<float> map((size_t) N, 0.0f);
    for (int st : steps) {
        const std::vector<float> m = probe_step_map(pm, st, sel);
        for (int j = 0; j < N; ++j) {
            map[j] += m[j] / steps.size();
        }
    }
    if (sel.normalise) {
        std::vector<float> mean((size_t) N, 0.0f);
        for (int st = 0; st < pm.n_steps; ++st) {
            const std::vector<float> m = probe_step_map(pm, st, sel);
            for (int j = 0; j < N; ++j) {
                mean[j] += m[j] / pm.n_steps;
            }
        }
        for (int j = 0; j < N; ++j) {
            map[j] -= mean[j];
        }
    }
    return map;
}

int map_argmax_point(const std::vector<float> & map, int grid, int size) {
    const std::vector<float> up = torch_interpolate(map.data(), 1, grid, grid, size, size, interp_mode::bicubic);
    return (int) (std::max_element(up.begin(), up.end()) - up.begin());
}

grounding_score probe_point_accuracy(const std::vector<world_scene> & scenes, const std::vector<probe_maps> & maps,
                                     const map_select & sel) {
    grounding_score sc;
    for (size_t i = 0; i < scenes.size(); ++i) {
        const world_scene & s = scenes[i];
        for (const world_object & o : s.objects) {
            const std::vector<float> map = probe_object_map(maps[i], o, sel);
            const bool hard = std::count_if(s.objects.begin(), s.objects.end(),
                                            [&](const world_object & q) { return q.colour == o.colour; }) > 1;
            const bool hit = !map.empty() && o.mask[map_argmax_point(map, maps[i].grid, s.img.w)];
            sc.n_objects++;
            sc.n_hits += hit;
            sc.n_hard += hard;
            sc.n_hard_hits += hard && hit;
        }
    }
    return sc;
}

}  // namespace glm::toy
