// models/sam-ops.h: small ggml building blocks shared by the SAM encoder and decoder graphs.
//
// Activations are kept channels-first in ggml order, [C, W, H, B] (channels fastest, like PyTorch's
// B H W C): LayerNorm2d is then a norm over ne0, and 1x1 convolutions are plain matmuls.
// Stateless inline functions: thread-safe.
#pragma once

#include "ggml.h"

namespace glm {
namespace sam_ops {

// nn.LayerNorm / LayerNorm2d over ne0: (x - mean) / sqrt(var + eps) * w + b
inline ggml_tensor * layer_norm(ggml_context * ctx, ggml_tensor * x, ggml_tensor * w, ggml_tensor * b, float eps) {
    x = ggml_norm(ctx, x, eps);
    return ggml_add(ctx, ggml_mul(ctx, x, w), b);
}

// nn.Linear: x @ w^T + b (b may be null)
inline ggml_tensor * linear(ggml_context * ctx, ggml_tensor * x, ggml_tensor * w, ggml_tensor * b) {
    x = ggml_mul_mat(ctx, w, x);
    return b ? ggml_add(ctx, x, b) : x;
}

// nn.Conv2d (square kernel, stride s, zero padding pad) with an F32 im2col (ggml_conv_2d's F16 im2col would
// round the activations). kernel [k, k, Cin, Cout] (torch [Cout, Cin, k, k]), x [W, H, Cin, N] (planar)
// -> [Cout, OW, OH, N], channels first.
inline ggml_tensor * conv2d_cf(ggml_context * ctx, ggml_tensor * kernel, ggml_tensor * x, int s, int pad) {
    ggml_tensor * col = ggml_im2col(ctx, kernel, x, s, s, pad, pad, 1, 1, true, GGML_TYPE_F32);  // [K, OW, OH, N]
    const int64_t K   = col->ne[0];
    ggml_tensor * y   = ggml_mul_mat(ctx, ggml_reshape_2d(ctx, kernel, K, kernel->ne[3]),
                                     ggml_reshape_2d(ctx, col, K, col->ne[1] * col->ne[2] * col->ne[3]));
    return ggml_reshape_4d(ctx, y, kernel->ne[3], col->ne[1], col->ne[2], col->ne[3]);
}

// channels-first [C, W, H, N] <-> planar [W, H, C, N]
inline ggml_tensor * to_planar(ggml_context * ctx, ggml_tensor * x) {
    return ggml_cont(ctx, ggml_permute(ctx, x, 2, 0, 1, 3));
}

// nn.ConvTranspose2d(kernel_size=2, stride=2): the 2x2 outputs of each input pixel do not overlap, so it is
// one matmul followed by a pixel shuffle. w [2, 2, Cout, Cin] (torch [Cin, Cout, 2, 2]), x [Cin, W, H, N]
// -> [Cout, 2W, 2H, N] with out[co, 2x+dx, 2y+dy] = b[co] + sum_ci w[ci, co, dy, dx] x[ci, x, y].
inline ggml_tensor * conv_transpose_2x2(ggml_context * ctx, ggml_tensor * w, ggml_tensor * b, ggml_tensor * x) {
    const int64_t Cout = w->ne[2], Cin = w->ne[3];
    const int64_t W = x->ne[1], H = x->ne[2], N = x->ne[3];
    ggml_tensor * a = ggml_cont(ctx, ggml_permute(ctx, w, 2, 3, 1, 0));                // [Cin, Cout, dx, dy]
    a               = ggml_reshape_2d(ctx, a, Cin, Cout * 4);
    ggml_tensor * y = ggml_mul_mat(ctx, a, ggml_reshape_2d(ctx, x, Cin, W * H * N));    // [(co,dx,dy), (x,y,n)]
    y               = ggml_reshape_4d(ctx, y, Cout * 2, 2, W, H * N);                  // [(co,dx), dy, x, (y,n)]
    y               = ggml_cont(ctx, ggml_permute(ctx, y, 0, 2, 1, 3));                // [(co,dx), x, dy, (y,n)]
    y               = ggml_reshape_4d(ctx, y, Cout, 2 * W, 2 * H, N);
    return ggml_add(ctx, y, b);
}

}  // namespace sam_ops
}  // namespace glm
