// bench-cambrian: time per image of each Cambrian-1 vision stage at the real shapes (cambrian-8b: SigLIP SO400M/384,
// CLIP ViT-L/14-336 to layer -2, DINOv2-giant/378, ConvNeXt-XXL/1024, the 3-layer SVA connector, one in-LLM block
// on 576 rows of width 4096) with random F16 weights, on the CPU or the GPU.
//
// Real depths do not fit a small machine's memory and time, so each tower runs at two depths (ViTs: 1 and 2 layers;
// ConvNeXt: 1 and 2 blocks per stage, whose blocks all cost ~78 GMAC) and the real time is extrapolated linearly:
// t(L) = t(1) + (L - 1) * (t(2) - t(1)) (ConvNeXt: t([1,1,1,1]) + 36 * (t([2,2,2,2]) - t([1,1,1,1])) / 4). The in-LLM
// blocks: 10 x one block.
//
//   OMP_WAIT_POLICY=passive build/bin/bench-cambrian -t 2 [-r 2] [--gpu]
//
// The first run of each graph is a warm-up; the best of the others is printed (least disturbed by other load).
#include "backend.h"
#include "common.h"
#include "gguf-loader.h"
#include "models/cambrian.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <random>
#include <string>
#include <vector>

using namespace glm;

namespace {

struct rnd_writer {
    gguf_writer  w;
    std::mt19937 rng{ 1234 };

    void t(const std::string & name, std::vector<int64_t> ne, float scale, bool matrix = true) {
        size_t n = 1;
        for (int64_t d : ne) {
            n *= (size_t) d;
        }
        std::normal_distribution<float> nd(0.0f, scale);
        std::vector<float>              v(n);
        for (float & x : v) {
            x = nd(rng);
        }
        w.add_tensor(name, matrix && ne.size() >= 2 ? GGML_TYPE_F16 : GGML_TYPE_F32, ne, v.data());
    }
    void ln(const std::string & p, int64_t C) {
        std::vector<float> one((size_t) C, 1.0f), zero((size_t) C, 0.0f);
        w.add_tensor(p + ".weight", GGML_TYPE_F32, { C }, one.data());
        w.add_tensor(p + ".bias", GGML_TYPE_F32, { C }, zero.data());
    }
    void lin(const std::string & p, int64_t in, int64_t out, bool bias = true) {
        t(p + ".weight", { in, out }, 1.0f / std::sqrt((float) in));
        if (bias) {
            t(p + ".bias", { out }, 0.02f, false);
        }
    }
};

void vit_keys(gguf_writer & w, const std::string & kp, int S, int C, int F, int heads, int L, bool cls, bool swiglu,
              bool ls, const float mean[3], const float sd[3]) {
    w.set_u32(kp + ".image_size", S);
    w.set_u32(kp + ".patch_size", 14);
    w.set_u32(kp + ".embedding_length", C);
    w.set_u32(kp + ".feed_forward_length", F);
    w.set_u32(kp + ".attention.head_count", heads);
    w.set_f32(kp + ".attention.layer_norm_epsilon", 1e-6f);
    w.set_u32(kp + ".block_count", L);
    w.set_bool(kp + ".cls", cls);
    w.set_bool(kp + ".swiglu", swiglu);
    w.set_bool(kp + ".layer_scale", ls);
    w.set_u32(kp + ".out_side", 24);
    w.set_arr_f32(kp + ".image_mean", { mean[0], mean[1], mean[2] });
    w.set_arr_f32(kp + ".image_std", { sd[0], sd[1], sd[2] });
    w.set_arr_i32(kp + ".pad_fill", { 122, 116, 104 });
}

void vit_tensors(rnd_writer & r, const std::string & tp, int S, int C, int F, int L, bool cls, bool swiglu, bool ls) {
    const int64_t N = (S / 14) * (S / 14) + (cls ? 1 : 0);
    r.t(tp + ".patch_embd.weight", { 14, 14, 3, C }, 0.05f);
    r.t(tp + ".patch_embd.bias", { C }, 0.02f, false);
    if (cls) {
        r.t(tp + ".class_embd", { C }, 0.02f, false);
    }
    r.t(tp + ".position_embd.weight", { C, N }, 0.02f, false);
    r.ln(tp + ".post_ln", C);
    for (int i = 0; i < L; ++i) {
        const std::string b = tp + ".blk." + std::to_string(i) + ".";
        r.ln(b + "ln1", C);
        r.ln(b + "ln2", C);
        r.lin(b + "attn_qkv", C, 3 * C);
        r.lin(b + "attn_out", C, C);
        r.lin(b + "ffn_up", C, swiglu ? 2 * F : F);
        r.lin(b + "ffn_down", F, C);
        if (ls) {
            r.t(b + "ls1", { C }, 0.1f, false);
            r.t(b + "ls2", { C }, 0.1f, false);
        }
    }
}

// The whole model at the real widths with `vit_layers` layers per ViT and `cx_depth` blocks per ConvNeXt stage.
void write_model(const std::string & path, int vit_layers, int cx_depth, int clip_layers) {
    rnd_writer    r;
    gguf_writer & w = r.w;
    const int     vh = 1024, H = 4096, q = 24;
    const int     dims[4] = { 384, 768, 1536, 3072 };
    w.set_str("general.architecture", "cambrian");
    w.set_u32("cambrian.query_side", q);
    w.set_u32("cambrian.vision_hidden", vh);
    w.set_u32("cambrian.llm_hidden", H);
    w.set_u32("cambrian.sva_head_count", 16);
    w.set_u32("cambrian.connector_depth", 3);
    w.set_u32("cambrian.llm_block_count", 1);
    w.set_u32("cambrian.llm_block_start", 0);
    w.set_u32("cambrian.llm_block_stride", 3);
    w.set_u32("cambrian.image_position", 91);
    w.set_f32("cambrian.layer_norm_epsilon", 1e-5f);
    const int widths[4] = { 1152, 1024, 1536, 384 + 768 + 1536 + 3072 }, sides[4] = { 24, 24, 24, 96 };
    w.set_arr_i32("cambrian.tower_width", { widths[0], widths[1], widths[2], widths[3] });
    w.set_arr_i32("cambrian.tower_side", { sides[0], sides[1], sides[2], sides[3] });
    for (int i = 0; i < 4; ++i) {
        const std::string p = "aux." + std::to_string(i);
        r.lin(p + ".fc1", widths[i], vh);
        r.lin(p + ".fc2", vh, vh);
        r.ln(p + ".ln", vh);
    }
    r.t("sva.query", { vh }, 1.0f, false);
    r.t("newline", { H }, 1.0f, false);
    r.lin("proj.fc1", vh, H);
    r.lin("proj.fc2", H, H);
    auto layer = [&](const std::string & p, int q_dim) {
        r.lin(p + "ctx", vh, vh, false);
        r.lin(p + "in", q_dim + vh, vh, false);
        r.ln(p + "q_ln", vh);
        r.lin(p + "q", vh, vh, false);
        for (int i = 0; i < 4; ++i) {
            const std::string s = std::to_string(i);
            r.ln(p + "k" + s + "_ln", vh);
            r.lin(p + "k" + s, vh, vh, false);
            r.ln(p + "v" + s + "_ln", vh);
            r.lin(p + "v" + s, vh, vh, false);
        }
        r.t(p + "pos3", { vh, 16 }, 0.02f, false);
        r.lin(p + "o", vh, vh, false);
        r.ln(p + "norm", vh);
        r.lin(p + "out1", vh, vh, false);
        r.lin(p + "out2", vh, q_dim, false);
    };
    for (int l = 0; l < 3; ++l) {
        layer("sva.c" + std::to_string(l) + ".", vh);
    }
    layer("sva.l0.", H);

    const float half[3] = { 0.5f, 0.5f, 0.5f }, clip_m[3] = { 0.48145466f, 0.4578275f, 0.40821073f },
                clip_s[3] = { 0.26862954f, 0.26130258f, 0.27577711f }, in_m[3] = { 0.485f, 0.456f, 0.406f },
                in_s[3] = { 0.229f, 0.224f, 0.225f };
    vit_keys(w, "cambrian.siglip", 384, 1152, 4304, 16, vit_layers, false, false, false, half, half);
    vit_tensors(r, "sg", 384, 1152, 4304, vit_layers, false, false, false);
    vit_keys(w, "cambrian.dino", 378, 1536, 4096, 24, vit_layers, true, true, true, in_m, in_s);
    vit_tensors(r, "dn", 378, 1536, 4096, vit_layers, true, true, true);
    // CLIP ViT-L/14-336 (models/clip.h names)
    w.set_u32("cambrian.clip.image_size", 336);
    w.set_u32("cambrian.clip.patch_size", 14);
    w.set_u32("cambrian.clip.embedding_length", 1024);
    w.set_u32("cambrian.clip.feed_forward_length", 4096);
    w.set_u32("cambrian.clip.attention.head_count", 16);
    w.set_f32("cambrian.clip.attention.layer_norm_epsilon", 1e-5f);
    w.set_u32("cambrian.clip.block_count", clip_layers);
    w.set_arr_f32("cambrian.clip.image_mean", { clip_m[0], clip_m[1], clip_m[2] });
    w.set_arr_f32("cambrian.clip.image_std", { clip_s[0], clip_s[1], clip_s[2] });
    r.t("cl.patch_embd.weight", { 14, 14, 3, 1024 }, 0.05f);
    r.t("cl.class_embd", { 1024 }, 0.02f, false);
    r.t("cl.position_embd.weight", { 1024, 577 }, 0.02f, false);
    r.ln("cl.pre_ln", 1024);
    for (int i = 0; i < clip_layers; ++i) {
        const std::string b = "cl.blk." + std::to_string(i) + ".";
        r.ln(b + "ln1", 1024);
        r.ln(b + "ln2", 1024);
        for (const char * n : { "attn_q", "attn_k", "attn_v", "attn_out" }) {
            r.lin(b + n, 1024, 1024);
        }
        r.lin(b + "ffn_up", 1024, 4096);
        r.lin(b + "ffn_down", 4096, 1024);
    }
    // ConvNeXt-XXL
    w.set_u32("cambrian.convnext.image_size", 1024);
    w.set_u32("cambrian.convnext.out_side", 96);
    w.set_f32("cambrian.convnext.layer_norm_epsilon", 1e-5f);
    w.set_arr_i32("cambrian.convnext.dims", { dims[0], dims[1], dims[2], dims[3] });
    w.set_arr_i32("cambrian.convnext.depths", { cx_depth, cx_depth, cx_depth, cx_depth });
    w.set_arr_f32("cambrian.convnext.image_mean", { clip_m[0], clip_m[1], clip_m[2] });
    w.set_arr_f32("cambrian.convnext.image_std", { clip_s[0], clip_s[1], clip_s[2] });
    w.set_arr_i32("cambrian.convnext.pad_fill", { 122, 116, 104 });
    r.t("cx.stem.weight", { 4, 4, 3, dims[0] }, 0.1f);
    r.t("cx.stem.bias", { dims[0] }, 0.02f, false);
    r.ln("cx.stem_ln", dims[0]);
    for (int s = 0; s < 4; ++s) {
        const std::string p = "cx.s" + std::to_string(s) + ".";
        if (s > 0) {
            r.ln(p + "down_ln", dims[s - 1]);
            r.t(p + "down.weight", { 2, 2, dims[s - 1], dims[s] }, 0.02f);
            r.t(p + "down.bias", { dims[s] }, 0.02f, false);
        }
        for (int b = 0; b < cx_depth; ++b) {
            const std::string q2 = p + "b" + std::to_string(b) + ".";
            r.t(q2 + "dw.weight", { 7, 7, 1, dims[s] }, 0.1f);
            r.t(q2 + "dw.bias", { dims[s] }, 0.02f, false);
            r.ln(q2 + "ln", dims[s]);
            r.lin(q2 + "fc1", dims[s], 4 * dims[s]);
            r.lin(q2 + "fc2", 4 * dims[s], dims[s]);
            r.t(q2 + "gamma", { dims[s] }, 0.1f, false);
        }
    }
    w.write(path);
}

struct stage_times {
    double siglip = 0, clip = 0, dino = 0, convnext = 0, connector = 0, llm_block = 0;
};

double best_of(int reps, const std::function<void()> & f) {
    f();  // warm-up
    double best = 1e30;
    for (int i = 0; i < reps; ++i) {
        const double t0 = now_s();
        f();
        best = std::min(best, now_s() - t0);
    }
    return best;
}

stage_times time_model(const std::string & path, compute_backend & be, int reps) {
    gguf_loader ml(path);
    ml.load(be.primary());
    cambrian_model m;
    m.load(ml);
    image_u8 img;
    img.w = 640;
    img.h = 480;
    img.rgb.resize((size_t) img.w * img.h * 3);
    for (size_t i = 0; i < img.rgb.size(); ++i) {
        img.rgb[i] = (uint8_t) ((i * 2654435761u) >> 24);
    }
    stage_times t;
    std::array<std::vector<float>, k_cambrian_towers> feats;
    t.siglip = best_of(reps, [&] {
        const cambrian_vit_hparams & h = m.siglip.hp;
        const std::vector<float>     px = cambrian_tower_preprocess(img, h.image_size, h.fill, h.mean, h.std_);
        graph_ctx                    g;
        ggml_tensor *                inp = ggml_new_tensor_4d(g.ctx(), GGML_TYPE_F32, h.image_size, h.image_size, 3, 1);
        ggml_set_input(inp);
        ggml_tensor * f = cambrian_vit_build(g.ctx(), m.siglip, inp);
        ggml_set_output(f);
        ggml_cgraph * gf = g.new_graph();
        ggml_build_forward_expand(gf, f);
        be.run(gf, [&] { ggml_backend_tensor_set(inp, px.data(), 0, px.size() * sizeof(float)); });
        feats[0] = tensor_to_f32(f);
    });
    t.clip = best_of(reps, [&] {
        const std::vector<float> px = clip_preprocess(m.clip.hp, img, nullptr);
        graph_ctx                g;
        ggml_tensor *            inp = ggml_new_tensor_4d(g.ctx(), GGML_TYPE_F32, 336, 336, 3, 1);
        ggml_set_input(inp);
        ggml_tensor * f = clip_build_features(g.ctx(), m.clip, inp);
        ggml_set_output(f);
        ggml_cgraph * gf = g.new_graph();
        ggml_build_forward_expand(gf, f);
        be.run(gf, [&] { ggml_backend_tensor_set(inp, px.data(), 0, px.size() * sizeof(float)); });
        feats[1] = tensor_to_f32(f);
    });
    t.dino = best_of(reps, [&] {
        const cambrian_vit_hparams & h = m.dino.hp;
        const std::vector<float>     px = cambrian_tower_preprocess(img, h.image_size, h.fill, h.mean, h.std_);
        graph_ctx                    g;
        ggml_tensor *                inp = ggml_new_tensor_4d(g.ctx(), GGML_TYPE_F32, h.image_size, h.image_size, 3, 1);
        ggml_set_input(inp);
        ggml_tensor * f = cambrian_vit_build(g.ctx(), m.dino, inp);
        ggml_set_output(f);
        ggml_cgraph * gf = g.new_graph();
        ggml_build_forward_expand(gf, f);
        be.run(gf, [&] { ggml_backend_tensor_set(inp, px.data(), 0, px.size() * sizeof(float)); });
        feats[2] = tensor_to_f32(f);
    });
    t.convnext = best_of(reps, [&] {
        const cambrian_convnext & cx = m.convnext;
        const std::vector<float>  px = cambrian_tower_preprocess(img, cx.image_size, cx.fill, cx.mean, cx.std_);
        graph_ctx                 g;
        ggml_tensor *             inp = ggml_new_tensor_4d(g.ctx(), GGML_TYPE_F32, cx.image_size, cx.image_size, 3, 1);
        ggml_set_input(inp);
        ggml_tensor * f = cambrian_convnext_build(g.ctx(), cx, inp);
        ggml_set_output(f);
        ggml_cgraph * gf = g.new_graph();
        ggml_build_forward_expand(gf, f);
        be.run(gf, [&] { ggml_backend_tensor_set(inp, px.data(), 0, px.size() * sizeof(float)); });
        feats[3] = tensor_to_f32(f);
    });
    cambrian_connector_out conn;
    t.connector = best_of(reps, [&] { conn = cambrian_run_connector(m, be, feats, img.w, img.h); });
    const cambrian_span s = cambrian_unpad(24, img.w, img.h);
    std::vector<float>  rows((size_t) s.rows() * s.cols() * 4096, 0.01f);
    t.llm_block           = best_of(reps, [&] { cambrian_run_llm_block(m, be, 0, rows, conn, img.w, img.h); });
    return t;
}

}  // namespace

int main(int argc, char ** argv) {
    int  n_threads = 0, reps = 1;
    bool gpu = false;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        if ((a == "-t" || a == "--threads") && i + 1 < argc) {
            n_threads = std::atoi(argv[++i]);
        } else if ((a == "-r" || a == "--reps") && i + 1 < argc) {
            reps = std::max(1, std::atoi(argv[++i]));
        } else if (a == "--gpu") {
            gpu = true;
        } else {
            fprintf(stderr, "usage: bench-cambrian [-t threads] [-r reps] [--gpu]\n");
            return 2;
        }
    }
    try {
        log_route_ggml(false);
        compute_backend be({ n_threads, gpu });
        const std::string dir = (std::filesystem::temp_directory_path() / "glm-bench-cambrian").string();
        std::filesystem::create_directories(dir);
        printf("backend: %s, %d threads; 640x480 image (18 x 24 unpadded cells)\n", be.name().c_str(), be.n_threads());
        stage_times real;
        write_model(dir + "/d1.gguf", 1, 1, 1);
        write_model(dir + "/d2.gguf", 2, 2, 2);
        const stage_times a = time_model(dir + "/d1.gguf", be, reps);
        const stage_times b = time_model(dir + "/d2.gguf", be, reps);
        auto ext = [](double t1, double t2, double extra) { return t1 + extra * std::max(0.0, t2 - t1); };
        real.siglip    = ext(a.siglip, b.siglip, 26);
        real.clip      = ext(a.clip, b.clip, 22);
        real.dino      = ext(a.dino, b.dino, 39);
        real.convnext  = ext(a.convnext, b.convnext, 36.0 / 4.0);
        real.connector = a.connector;
        real.llm_block = a.llm_block;
        printf("%-28s %10s %10s %12s\n", "stage", "1 layer s", "2 layers s", "real (est) s");
        printf("%-28s %10.2f %10.2f %12.1f\n", "SigLIP SO400M/384 (27)", a.siglip, b.siglip, real.siglip);
        printf("%-28s %10.2f %10.2f %12.1f\n", "CLIP L/14-336 (23 of 24)", a.clip, b.clip, real.clip);
        printf("%-28s %10.2f %10.2f %12.1f\n", "DINOv2-g/378 (40)", a.dino, b.dino, real.dino);
        printf("%-28s %10.2f %10.2f %12.1f\n", "ConvNeXt-XXL/1024 (3/4/30/3)", a.convnext, b.convnext, real.convnext);
        printf("%-28s %10.2f %10s %12.1f\n", "SVA connector (3 layers)", a.connector, "-", real.connector);
        printf("%-28s %10.2f %10s %12.1f\n", "in-LLM blocks (10 x 432 rows)", a.llm_block, "-", 10 * real.llm_block);
        printf("%-28s %10s %10s %12.1f\n", "vision total", "", "",
               real.siglip + real.clip + real.dino + real.convnext + real.connector + 10 * real.llm_block);
        std::filesystem::remove_all(dir);
    } catch (const std::exception & e) {
        fprintf(stderr, "bench-cambrian: %s\n", e.what());
        return 1;
    }
    return 0;
}
