// models/blocks.h: the ggml building blocks our vision/segmentation graphs share (CLIP, SAM, SD/DiffLMM, the
// CLIP text encoder): LayerNorm, Linear, convolution as im2col + one matmul, multi-head attention, quick GELU.
// Every block uses portable ggml ops (CPU, CUDA, ...) and keeps activations in F32 where ggml's fused ops would
// round them to F16 (ggml_conv_2d's F16 im2col, ggml_gelu_quick's F16 table on the CPU).
// Stateless inline functions: thread-safe.
#pragma once

#include "ggml.h"

#include <cmath>

namespace glm {
namespace blocks {

// nn.LayerNorm over ne0: (x - mean) / sqrt(var + eps) * w + b
inline ggml_tensor * layer_norm(ggml_context * ctx, ggml_tensor * x, ggml_tensor * w, ggml_tensor * b, float eps) {
    x = ggml_norm(ctx, x, eps);
    return ggml_add(ctx, ggml_mul(ctx, x, w), b);
}

// nn.Linear: x @ w^T + b over ne0 (b may be null)
inline ggml_tensor * linear(ggml_context * ctx, ggml_tensor * x, ggml_tensor * w, ggml_tensor * b) {
    x = ggml_mul_mat(ctx, w, x);
    return b ? ggml_add(ctx, x, b) : x;
}

// quick_gelu(x) = x * sigmoid(1.702 x), in F32
inline ggml_tensor * gelu_quick(ggml_context * ctx, ggml_tensor * x) {
    return ggml_mul(ctx, x, ggml_sigmoid(ctx, ggml_scale(ctx, x, 1.702f)));
}

// nn.Conv2d (square stride s, zero padding pad, no bias) as im2col + one matmul.
// kernel [KW, KH, Cin, Cout] (torch [Cout, Cin, KH, KW]), x [W, H, Cin, N] (planar) -> [Cout, OW, OH, N]
// (channels first). The im2col is F32 unless the kernel is F16 (an F16 kernel multiplies F16 activations anyway).
inline ggml_tensor * conv2d(ggml_context * ctx, ggml_tensor * kernel, ggml_tensor * x, int s, int pad) {
    const ggml_type it  = kernel->type == GGML_TYPE_F16 ? GGML_TYPE_F16 : GGML_TYPE_F32;
    ggml_tensor *   col = ggml_im2col(ctx, kernel, x, s, s, pad, pad, 1, 1, true, it);  // [K, OW, OH, N]
    const int64_t   K   = col->ne[0];
    ggml_tensor *   y   = ggml_mul_mat(ctx, ggml_reshape_2d(ctx, kernel, K, kernel->ne[3]),
                                       ggml_reshape_2d(ctx, col, K, col->ne[1] * col->ne[2] * col->ne[3]));
    return ggml_reshape_4d(ctx, y, kernel->ne[3], col->ne[1], col->ne[2], col->ne[3]);
}

// channels-first [C, W, H, N] <-> planar [W, H, C, N]
inline ggml_tensor * to_planar(ggml_context * ctx, ggml_tensor * x) {
    return ggml_cont(ctx, ggml_permute(ctx, x, 2, 0, 1, 3));
}

// Multi-head scaled dot-product attention. q [C, Tq, N], k and v [C, Tk, N or 1] (already projected), heads of
// width C / n_head -> [C, Tq, N]. mask: optional [Tk, Tq] added before the softmax (e.g. causal).
inline ggml_tensor * attention(ggml_context * ctx, ggml_tensor * q, ggml_tensor * k, ggml_tensor * v, int n_head,
                               ggml_tensor * mask = nullptr) {
    const int64_t C = q->ne[0], Tq = q->ne[1], N = q->ne[2], Tk = k->ne[1], Nk = k->ne[2];
    const int64_t D = C / n_head;
    q = ggml_permute(ctx, ggml_reshape_4d(ctx, q, D, n_head, Tq, N), 0, 2, 1, 3);                   // [D, Tq, H, N]
    k = ggml_permute(ctx, ggml_reshape_4d(ctx, k, D, n_head, Tk, Nk), 0, 2, 1, 3);                  // [D, Tk, H, Nk]
    v = ggml_cont(ctx, ggml_permute(ctx, ggml_reshape_4d(ctx, v, D, n_head, Tk, Nk), 1, 2, 0, 3));  // [Tk, D, H, Nk]
    ggml_tensor * kq = ggml_mul_mat(ctx, k, q);                                                     // [Tk, Tq, H, N]
    kq               = ggml_soft_max_ext(ctx, kq, mask, 1.0f / std::sqrt((float) D), 0.0f);
    ggml_tensor * o  = ggml_mul_mat(ctx, v, kq);                                                    // [D, Tq, H, N]
    o                = ggml_cont(ctx, ggml_permute(ctx, o, 0, 2, 1, 3));                            // [D, H, Tq, N]
    return ggml_reshape_3d(ctx, o, C, Tq, N);
}

}  // namespace blocks
}  // namespace glm
