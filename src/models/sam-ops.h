// models/sam-ops.h: the SAM-specific ggml building blocks shared by its encoder and decoder graphs (the generic
// ones come from models/blocks.h).
//
// Activations are kept channels-first in ggml order, [C, W, H, B] (channels fastest, like PyTorch's
// B H W C): LayerNorm2d is then a norm over ne0, and 1x1 convolutions are plain matmuls.
// Stateless inline functions: thread-safe.
#pragma once

#include "ggml.h"
#include "models/blocks.h"

namespace glm {
namespace sam_ops {

// LayerNorm2d is blocks::layer_norm over ne0 (channels first); convolutions are blocks::conv2d.
using blocks::conv2d;
using blocks::layer_norm;
using blocks::linear;
using blocks::to_planar;

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
