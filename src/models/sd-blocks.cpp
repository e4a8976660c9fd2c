#include "models/sd-blocks.h"
#include "models/blocks.h"

#include "common.h"

#include <cmath>

namespace glm {

sd_conv sd_load_conv(const gguf_loader & ml, const std::string & prefix, int64_t cin, int64_t cout, int64_t k,
                     bool bias) {
    sd_conv c;
    c.w = ml.get(prefix + ".weight", { k, k, cin, cout });
    if (bias) {
        c.b = ml.get(prefix + ".bias", { cout });
    }
    return c;
}

sd_linear sd_load_linear(const gguf_loader & ml, const std::string & prefix, int64_t in, int64_t out, bool bias) {
    sd_linear l;
    l.w = ml.get(prefix + ".weight", { in, out });
    if (bias) {
        l.b = ml.get(prefix + ".bias", { out });
    }
    return l;
}

sd_norm sd_load_norm(const gguf_loader & ml, const std::string & prefix, int64_t c) {
    sd_norm n;
    n.w = ml.get(prefix + ".weight", { c });
    n.b = ml.get(prefix + ".bias", { c });
    return n;
}

sd_resnet sd_load_resnet(const gguf_loader & ml, const std::string & p, int64_t cin, int64_t cout, int64_t temb_dim) {
    sd_resnet r;
    r.norm1 = sd_load_norm(ml, p + ".norm1", cin);
    r.conv1 = sd_load_conv(ml, p + ".conv1", cin, cout, 3);
    if (temb_dim > 0) {
        r.temb = sd_load_linear(ml, p + ".temb", temb_dim, cout);
    }
    r.norm2 = sd_load_norm(ml, p + ".norm2", cout);
    r.conv2 = sd_load_conv(ml, p + ".conv2", cout, cout, 3);
    if (cin != cout) {
        r.skip = sd_load_conv(ml, p + ".skip", cin, cout, 1);
    }
    return r;
}

// a [C] parameter as [1, 1, C, 1] for broadcasting over a feature map
static ggml_tensor * as_channels(ggml_context * ctx, ggml_tensor * v) {
    return ggml_reshape_4d(ctx, v, 1, 1, v->ne[0], 1);
}

ggml_tensor * sd_conv2d(ggml_context * ctx, const sd_conv & c, ggml_tensor * x, int stride, int pad) {
    // im2col + one matrix product (about twice as fast as ggml_conv_2d_direct on the CPU: bench-difflmm --conv);
    // F32 models stay F32 (ggml_conv_2d always builds an F16 im2col)
    ggml_tensor * y = blocks::conv2d(ctx, c.w, x, stride, pad);  // [OC, OW, OH, N]
    if (c.b) {
        y = ggml_add(ctx, y, c.b);  // bias along OC, before the transpose (contiguous rows)
    }
    return blocks::to_planar(ctx, y);  // [OW, OH, OC, N]
}

ggml_tensor * sd_group_norm(ggml_context * ctx, ggml_tensor * x, const sd_norm & n, int groups, float eps) {
    x = ggml_group_norm(ctx, x, groups, eps);  // over W*H*(C/groups) per group, as torch.nn.GroupNorm
    x = ggml_mul(ctx, x, as_channels(ctx, n.w));
    return ggml_add(ctx, x, as_channels(ctx, n.b));
}

ggml_tensor * sd_layer_norm(ggml_context * ctx, ggml_tensor * x, const sd_norm & n, float eps) {
    return blocks::layer_norm(ctx, x, n.w, n.b, eps);
}

ggml_tensor * sd_linear_fwd(ggml_context * ctx, const sd_linear & l, ggml_tensor * x) {
    return blocks::linear(ctx, x, l.w, l.b);
}

// diffusers ResnetBlock2D.forward (resnet.py): norm1-silu-conv1 (+ time_emb_proj(silu(temb))), norm2-silu-
// (dropout)-conv2, + (conv_shortcut)(input).
ggml_tensor * sd_resnet_fwd(ggml_context * ctx, const sd_resnet & r, ggml_tensor * x, ggml_tensor * temb_act,
                            int groups, float eps) {
    ggml_tensor * h = ggml_silu(ctx, sd_group_norm(ctx, x, r.norm1, groups, eps));
    h               = sd_conv2d(ctx, r.conv1, h, 1, 1);
    if (r.temb.w && temb_act) {
        ggml_tensor * t = sd_linear_fwd(ctx, r.temb, temb_act);               // [Cout, N]
        t               = ggml_reshape_4d(ctx, t, 1, 1, t->ne[0], t->ne[1]);  // [1, 1, Cout, N]
        h               = ggml_add(ctx, h, t);
    }
    h                   = ggml_silu(ctx, sd_group_norm(ctx, h, r.norm2, groups, eps));
    h                   = sd_conv2d(ctx, r.conv2, h, 1, 1);
    ggml_tensor * short_ = r.skip.w ? sd_conv2d(ctx, r.skip, x, 1, 0) : x;
    return ggml_add(ctx, short_, h);
}

ggml_tensor * sd_map_to_tokens(ggml_context * ctx, ggml_tensor * x) {
    const int64_t W = x->ne[0], H = x->ne[1], C = x->ne[2], N = x->ne[3];
    x = ggml_cont(ctx, ggml_permute(ctx, x, 1, 2, 0, 3));  // [C, W, H, N]
    return ggml_reshape_3d(ctx, x, C, W * H, N);
}

ggml_tensor * sd_tokens_to_map(ggml_context * ctx, ggml_tensor * t, int64_t w, int64_t h) {
    const int64_t C = t->ne[0], N = t->ne[2];
    t = ggml_reshape_4d(ctx, t, C, w, h, N);
    return ggml_cont(ctx, ggml_permute(ctx, t, 2, 0, 1, 3));  // [W, H, C, N]
}

}  // namespace glm
