#!/usr/bin/env python3
"""DiffLMM golden folders (the format of tests/golden/difflmm) from a plain-PyTorch float32 reference.

The reference is written out here with torch ops, following the semantics of the pieces the official DiffLMM
visual encoder is made of (diffusers, transformers and the official projector are not needed):

  preprocessing   LLaVA expand2square with (127, 127, 127), CLIPImageProcessor(size=S, mean=std=0.5): Pillow
                  BICUBIC to SxS, /255 (float64, then float32), (x - 0.5) / 0.5                    -> sd_input
                  SDCLIPFeaturizer.sd_to_clip_img: F.interpolate bilinear (align_corners=False) to S*7/8,
                  x * 0.5 + 0.5, (x - clip_mean) / clip_std                                        -> clip_input
  CLIP            transformers CLIPVisionModel: patch conv, CLS, positions, pre_layrnorm, pre-LN layers
                  (q scaled by head_dim^-0.5, quick_gelu or gelu MLP), hidden_states[-2][:, 1:] -> clip_features
  caption         SDCLIPBlock.clip_projector (Linear-GELU-Linear) + clip_pe                   -> implicit_caption
  VAE             diffusers AutoencoderKL encoder (DownEncoderBlock2D with ResnetBlock2D eps 1e-6, Downsample2D
                  with F.pad(0,1,0,1), UNetMidBlock2D with one-head attention), quant_conv; mean/logvar chunk,
                  logvar clamped to [-30, 20], std = exp(logvar / 2)                          -> vae_mean, vae_std
                  latent = (mean + std * vae_noise) * scaling_factor                                 -> latent
  DDIM            scaled_linear betas (0.00085..0.012, 1000 steps) in float32, alphas_cumprod = cumprod,
                  add_noise: sqrt(a) * latent + sqrt(1 - a) * unet_noise                       -> noisy_latent
  UNet            diffusers UNet2DConditionModel: get_timestep_embedding (flip_sin_to_cos, freq_shift 0),
                  TimestepEmbedding, conv_in, CrossAttnDownBlock2D / DownBlock2D (ResnetBlock2D eps 1e-5,
                  Transformer2DModel: GroupNorm eps 1e-6, proj_in 1x1 conv or linear, BasicTransformerBlocks with
                  self-attention, cross-attention, GEGLU feed-forward), Downsample2D (padding 1), the
                  cross-attention mid block, CrossAttnUpBlock2D / UpBlock2D (skip concatenation, nearest 2x +
                  conv); the outputs of every up block                                          -> up0..up<n-1>
  projector       official SDCLIPBlock: LayerNorm over the up1 channels, 1x1 conv + GELU, concat with the CLIP
                  map (SD channels first), tokens row-major, Linear-GELU-Linear, + vt_pe   -> image_embeddings

Block types, transformer depth, linear projections, the CLIP MLP width and the VAE depth are read from the
weight names and shapes, as tests/util/difflmm-golden.cpp does.

  /usr/bin/python3 scripts/difflmm-golden.py check [tests/golden/difflmm]
      recompute every tensor of the folder's cases.safetensors from its weights.safetensors, image.png and
      noise tensors, and print the relative errors (validates this reference)
  /usr/bin/python3 scripts/difflmm-golden.py make NAME OUT_DIR     (NAME: one of VARIANTS, or "all")
      write a variant golden folder (weights.safetensors, cases.json, cases.safetensors, image.png) with other
      widths, depths, heads, resolution, seed and a portrait image, then check it as above
"""
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402  (scripts/safetensors_io.py)

torch.set_grad_enabled(False)
torch.set_num_threads(2)

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


# ----------------------------------------------------------------------------------------------------------
# safetensors

def load_safetensors(path):
    return {k: torch.from_numpy(v) for k, v in safetensors_io.load(path).items()}


def save_safetensors(path, tensors):
    safetensors_io.save(path, tensors, dtype=torch.float32)


# ----------------------------------------------------------------------------------------------------------
# architecture facts from the weights

def has_prefix(W, p):
    return any(k.startswith(p) for k in W)


def count(W, fmt):
    n = 0
    while has_prefix(W, fmt % n):
        n += 1
    return n


def per_block(v, n):
    return list(v) if isinstance(v, (list, tuple)) else [v] * n


# ----------------------------------------------------------------------------------------------------------
# building blocks (diffusers / transformers semantics)

def conv(W, p, x, stride=1, pad=1):
    return F.conv2d(x, W[p + ".weight"], W.get(p + ".bias"), stride, pad)


def linear(W, p, x):
    return F.linear(x, W[p + ".weight"], W.get(p + ".bias"))


def group_norm(W, p, x, groups, eps):
    return F.group_norm(x, groups, W[p + ".weight"], W[p + ".bias"], eps)


def layer_norm(W, p, x, eps):
    return F.layer_norm(x, (x.shape[-1],), W[p + ".weight"], W[p + ".bias"], eps)


def attention(q, k, v, heads, scale=None):
    # [B, N, C] -> heads -> softmax(q k^T * scale) v -> [B, N, C]
    B, N, C = q.shape
    d = C // heads
    scale = d ** -0.5 if scale is None else scale
    q = q.view(B, N, heads, d).transpose(1, 2)
    k = k.view(B, k.shape[1], heads, d).transpose(1, 2)
    v = v.view(B, v.shape[1], heads, d).transpose(1, 2)
    a = torch.softmax(torch.matmul(q, k.transpose(-1, -2)) * scale, dim=-1)
    return torch.matmul(a, v).transpose(1, 2).reshape(B, N, C)


def resnet(W, p, x, temb, groups, eps):
    # diffusers ResnetBlock2D (time_embedding_norm "default", output_scale_factor 1)
    h = conv(W, p + ".conv1", F.silu(group_norm(W, p + ".norm1", x, groups, eps)))
    if temb is not None:
        h = h + linear(W, p + ".time_emb_proj", F.silu(temb))[:, :, None, None]
    h = conv(W, p + ".conv2", F.silu(group_norm(W, p + ".norm2", h, groups, eps)))
    if p + ".conv_shortcut.weight" in W:
        x = conv(W, p + ".conv_shortcut", x, 1, 0)
    return x + h


def basic_transformer_block(W, p, h, ctx, heads):
    n = layer_norm(W, p + ".norm1", h, 1e-5)
    a = attention(linear(W, p + ".attn1.to_q", n), linear(W, p + ".attn1.to_k", n), linear(W, p + ".attn1.to_v", n),
                  heads)
    h = linear(W, p + ".attn1.to_out.0", a) + h
    n = layer_norm(W, p + ".norm2", h, 1e-5)
    a = attention(linear(W, p + ".attn2.to_q", n), linear(W, p + ".attn2.to_k", ctx),
                  linear(W, p + ".attn2.to_v", ctx), heads)
    h = linear(W, p + ".attn2.to_out.0", a) + h
    n = layer_norm(W, p + ".norm3", h, 1e-5)
    hidden, gate = linear(W, p + ".ff.net.0.proj", n).chunk(2, dim=-1)  # GEGLU
    return linear(W, p + ".ff.net.2", hidden * F.gelu(gate)) + h


def transformer_2d(W, p, x, ctx, heads, groups):
    B, C, H, Wd = x.shape
    h = F.group_norm(x, groups, W[p + ".norm.weight"], W[p + ".norm.bias"], 1e-6)
    lin = W[p + ".proj_in.weight"].dim() == 2  # use_linear_projection
    if lin:
        h = linear(W, p + ".proj_in", h.permute(0, 2, 3, 1).reshape(B, H * Wd, C))
    else:
        h = conv(W, p + ".proj_in", h, 1, 0).permute(0, 2, 3, 1).reshape(B, H * Wd, C)
    for k in range(count(W, p + ".transformer_blocks.%d.")):
        h = basic_transformer_block(W, p + ".transformer_blocks.%d" % k, h, ctx, heads)
    if lin:
        h = linear(W, p + ".proj_out", h).reshape(B, H, Wd, C).permute(0, 3, 1, 2)
    else:
        h = conv(W, p + ".proj_out", h.reshape(B, H, Wd, C).permute(0, 3, 1, 2).contiguous(), 1, 0)
    return h + x


def timestep_embedding(t, dim, flip_sin_to_cos=True, shift=0.0):
    # diffusers get_timestep_embedding, float32
    half = dim // 2
    exponent = -math.log(10000) * torch.arange(0, half, dtype=torch.float32)
    exponent = exponent / (half - shift)
    emb = torch.exp(exponent)
    emb = torch.tensor([t], dtype=torch.long)[:, None].float() * emb[None, :]
    emb = torch.cat([torch.sin(emb), torch.cos(emb)], dim=-1)
    if flip_sin_to_cos:
        emb = torch.cat([emb[:, half:], emb[:, :half]], dim=-1)
    if dim % 2 == 1:
        emb = F.pad(emb, (0, 1, 0, 0))
    return emb


def alphas_cumprod(n=1000, beta_start=0.00085, beta_end=0.012):
    betas = torch.linspace(beta_start ** 0.5, beta_end ** 0.5, n, dtype=torch.float32) ** 2
    return torch.cumprod(1.0 - betas, dim=0)


# ----------------------------------------------------------------------------------------------------------
# the models

def vae_encode(W, x, groups):
    p = "vae.encoder"
    nb = count(W, p + ".down_blocks.%d.")
    h = conv(W, p + ".conv_in", x)
    for i in range(nb):
        for j in range(count(W, p + ".down_blocks.%d.resnets.%%d." % i)):
            h = resnet(W, p + ".down_blocks.%d.resnets.%d" % (i, j), h, None, groups, 1e-6)
        if p + ".down_blocks.%d.downsamplers.0.conv.weight" % i in W:
            h = conv(W, p + ".down_blocks.%d.downsamplers.0.conv" % i, F.pad(h, (0, 1, 0, 1)), 2, 0)
    h = resnet(W, p + ".mid_block.resnets.0", h, None, groups, 1e-6)
    if has_prefix(W, p + ".mid_block.attentions.0."):
        a = p + ".mid_block.attentions.0"
        B, C, H, Wd = h.shape
        n = group_norm(W, a + ".group_norm", h, groups, 1e-6).view(B, C, H * Wd).transpose(1, 2)
        o = attention(linear(W, a + ".to_q", n), linear(W, a + ".to_k", n), linear(W, a + ".to_v", n), 1)
        h = linear(W, a + ".to_out.0", o).transpose(-1, -2).reshape(B, C, H, Wd) + h
    h = resnet(W, p + ".mid_block.resnets.1", h, None, groups, 1e-6)
    h = conv(W, p + ".conv_out", F.silu(group_norm(W, p + ".conv_norm_out", h, groups, 1e-6)))
    h = conv(W, "vae.quant_conv", h, 1, 0)
    mean, logvar = torch.chunk(h, 2, dim=1)
    logvar = torch.clamp(logvar, -30.0, 20.0)
    return mean, torch.exp(0.5 * logvar)


def unet_up(W, cfg, sample, t, ctx):
    p = "unet"
    boc = cfg["unet_block_out_channels"]
    nb = len(boc)
    G = cfg["norm_num_groups"]
    heads = per_block(cfg["attention_head_dim(=num heads)"], nb)
    eps = 1e-5
    temb = timestep_embedding(t, boc[0])
    temb = linear(W, p + ".time_embedding.linear_2", F.silu(linear(W, p + ".time_embedding.linear_1", temb)))
    x = conv(W, p + ".conv_in", sample)
    skips = [x]
    for i in range(nb):
        b = p + ".down_blocks.%d" % i
        for j in range(count(W, b + ".resnets.%d.")):
            x = resnet(W, b + ".resnets.%d" % j, x, temb, G, eps)
            if has_prefix(W, b + ".attentions.%d." % j):
                x = transformer_2d(W, b + ".attentions.%d" % j, x, ctx, heads[i], G)
            skips.append(x)
        if b + ".downsamplers.0.conv.weight" in W:
            x = conv(W, b + ".downsamplers.0.conv", x, 2, 1)
            skips.append(x)
    x = resnet(W, p + ".mid_block.resnets.0", x, temb, G, eps)
    x = transformer_2d(W, p + ".mid_block.attentions.0", x, ctx, heads[-1], G)
    x = resnet(W, p + ".mid_block.resnets.1", x, temb, G, eps)
    ups = []
    for i in range(nb):
        b = p + ".up_blocks.%d" % i
        for j in range(count(W, b + ".resnets.%d.")):
            x = torch.cat([x, skips.pop()], dim=1)
            x = resnet(W, b + ".resnets.%d" % j, x, temb, G, eps)
            if has_prefix(W, b + ".attentions.%d." % j):
                x = transformer_2d(W, b + ".attentions.%d" % j, x, ctx, heads[nb - 1 - i], G)
        if b + ".upsamplers.0.conv.weight" in W:
            x = conv(W, b + ".upsamplers.0.conv", F.interpolate(x, scale_factor=2.0, mode="nearest"))
        ups.append(x)
    assert not skips
    return ups


def clip_features(W, cfg, x):
    c = cfg["clip"]
    p = "clip"
    heads, L = c["heads"], c["layers"]
    act = (lambda v: v * torch.sigmoid(1.702 * v)) if c["act"] == "quick_gelu" else F.gelu
    h = F.conv2d(x, W[p + ".embeddings.patch_embedding.weight"], None, c["patch"])
    h = h.flatten(2).transpose(1, 2)
    cls = W[p + ".embeddings.class_embedding"].view(1, 1, -1)
    h = torch.cat([cls, h], dim=1) + W[p + ".embeddings.position_embedding.weight"][None]
    h = layer_norm(W, p + ".pre_layrnorm", h, 1e-5)
    hs = [h]
    for i in range(L):
        q = p + ".encoder.layers.%d" % i
        r = h
        n = layer_norm(W, q + ".layer_norm1", h, 1e-5)
        d = n.shape[-1] // heads
        a = attention(linear(W, q + ".self_attn.q_proj", n) * d ** -0.5, linear(W, q + ".self_attn.k_proj", n),
                      linear(W, q + ".self_attn.v_proj", n), heads, scale=1.0)
        h = r + linear(W, q + ".self_attn.out_proj", a)
        r = h
        n = layer_norm(W, q + ".layer_norm2", h, 1e-5)
        h = r + linear(W, q + ".mlp.fc2", act(linear(W, q + ".mlp.fc1", n)))
        hs.append(h)
    return hs[-2][0, 1:]


def projector(W, up_sel, feats):
    p = "mm_projector"
    _, CS, G, _ = up_sel.shape
    y = layer_norm(W, p + ".sd_norm_layer", up_sel.permute(0, 2, 3, 1), 1e-5).permute(0, 3, 1, 2)
    y = F.gelu(conv(W, p + ".sd_proj_layer.0", y, 1, 0))
    z = feats.view(1, G, G, -1).permute(0, 3, 1, 2)
    y = torch.cat([y, z], dim=1)
    b, c, h, w = y.shape
    y = y.reshape(b, c, h * w).permute(0, 2, 1)
    y = linear(W, p + ".linear.2", F.gelu(linear(W, p + ".linear.0", y)))
    return (y + W[p + ".vt_pe"])[0]


def preprocess(img, S):
    img = img.convert("RGB")
    w, h = img.size
    bg = (127, 127, 127)  # tuple(int(x * 255) for x in image_mean), mean 0.5
    if w != h:
        side = max(w, h)
        sq = Image.new("RGB", (side, side), bg)
        sq.paste(img, (0, (w - h) // 2) if w > h else ((h - w) // 2, 0))
        img = sq
    img = img.resize((S, S), resample=Image.BICUBIC, reducing_gap=None)
    a = (np.asarray(img).astype(np.float64) * (1 / 255)).astype(np.float32)
    mean = np.array([0.5, 0.5, 0.5], dtype=np.float32)
    a = (a - mean) / mean
    return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))


def bilinear_taps(n_in, n_out):
    # aten's linear interpolation indices and weights (align_corners=False), computed in float32
    scale = np.float32(n_in) / np.float32(n_out)
    i = np.arange(n_out, dtype=np.float32)
    real = np.maximum(scale * (i + np.float32(0.5)) - np.float32(0.5), np.float32(0))
    i0 = np.minimum(np.floor(real).astype(np.int64), n_in - 1)
    l1 = np.clip(real - i0.astype(np.float32), np.float32(0), np.float32(1)).astype(np.float32)
    i1 = i0 + (i0 < n_in - 1)
    return i0, i1, (np.float32(1) - l1).astype(np.float32), l1


def interpolate_bilinear(x, oh, ow):
    # F.interpolate(mode="bilinear", align_corners=False) of a [C, H, W] float32 array, with the order of operations
    # of aten's CPU kernel in recent PyTorch (sum over the two source rows of w_y * (sum over the two source columns
    # of w_x * x)); Debian's PyTorch 1.13 rounds differently (about 1e-5 relative on the public golden)
    x = x.numpy()
    y0, y1, wy0, wy1 = bilinear_taps(x.shape[1], oh)
    x0, x1, wx0, wx1 = bilinear_taps(x.shape[2], ow)
    hz = x[:, :, x0] * wx0 + x[:, :, x1] * wx1
    out = hz[:, y0, :] * wy0[:, None] + hz[:, y1, :] * wy1[:, None]
    return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32))


def sd_to_clip(sd_input):
    S = sd_input.shape[-1]
    x = interpolate_bilinear(sd_input, S * 7 // 8, S * 7 // 8)[None]
    half = torch.tensor([0.5, 0.5, 0.5]).view(1, 3, 1, 1)
    x = x * half + half
    x = (x - torch.tensor(CLIP_MEAN).view(1, 3, 1, 1)) / torch.tensor(CLIP_STD).view(1, 3, 1, 1)
    return x[0]


def run(W, cfg, img, vae_noise, unet_noise):
    """The whole chain; returns every tensor of cases.safetensors."""
    out = {}
    S = int(cfg["sd_resolution"])
    out["sd_input"] = preprocess(img, S)
    out["clip_input"] = sd_to_clip(out["sd_input"])
    out["clip_features"] = clip_features(W, cfg, out["clip_input"][None])
    p = "mm_projector"
    out["implicit_caption"] = linear(W, p + ".clip_projector.2",
                                     F.gelu(linear(W, p + ".clip_projector.0", out["clip_features"]))) + W[p + ".clip_pe"]
    mean, std = vae_encode(W, out["sd_input"][None], cfg["norm_num_groups"])
    out["vae_mean"], out["vae_std"] = mean[0], std[0]
    out["vae_noise"] = vae_noise
    out["latent"] = ((mean + std * vae_noise[None]) * cfg["vae_scaling_factor"])[0]
    out["unet_noise"] = unet_noise
    t = cfg["timestep"]
    a = alphas_cumprod()[t]
    out["noisy_latent"] = a ** 0.5 * out["latent"] + (1 - a) ** 0.5 * unet_noise
    ups = unet_up(W, cfg, out["noisy_latent"][None], t, out["implicit_caption"][None])
    for i, u in enumerate(ups):
        out["up%d" % i] = u[0]
    out["image_embeddings"] = projector(W, ups[1], out["clip_features"])
    return out


def compare(ref, got, label):
    worst = 0.0
    for k in ref:
        r, g = ref[k], got[k]
        if tuple(r.shape) != tuple(g.shape):
            print("  %-18s shape %s vs %s" % (k, tuple(g.shape), tuple(r.shape)))
            worst = float("inf")
            continue
        e = (r - g).abs().max().item()
        rel = e / max(r.abs().max().item(), 1e-12)
        worst = max(worst, rel if k != "sd_input" else 0.0)
        print("  %-18s max abs %.3e  rel %.3e" % (k, e, rel))
    print("%s: worst relative error %.3e (sd_input excluded: resampling)" % (label, worst))
    return worst


def check(folder):
    cfg = json.load(open(os.path.join(folder, "cases.json")))["config"]
    ref = load_safetensors(os.path.join(folder, "cases.safetensors"))
    W = load_safetensors(os.path.join(folder, "weights.safetensors"))
    cfg = dict(cfg, sd_resolution=ref["sd_input"].shape[-1])
    got = run(W, cfg, Image.open(os.path.join(folder, "image.png")), ref["vae_noise"], ref["unet_noise"])
    a = alphas_cumprod()[100].item()
    print("  alphas_cumprod[100] %.9g vs %.9g" % (a, cfg["alphas_cumprod[100]"]))
    # the chain from the image: sd_input may differ by a grey level; feed the reference's to see the rest tight
    worst = compare(ref, got, folder + " (whole chain)")
    got2 = run_from_sd(W, cfg, ref)
    worst2 = compare({k: ref[k] for k in got2}, got2, folder + " (each stage from the reference's input)")
    return max(worst, worst2)


def run_from_sd(W, cfg, ref):
    """Every stage fed the reference output of the previous one (as the C++ golden test does)."""
    out = {}
    out["clip_input"] = sd_to_clip(ref["sd_input"])
    out["clip_features"] = clip_features(W, cfg, ref["clip_input"][None])
    p = "mm_projector"
    out["implicit_caption"] = linear(W, p + ".clip_projector.2",
                                     F.gelu(linear(W, p + ".clip_projector.0", ref["clip_features"]))) + W[p + ".clip_pe"]
    mean, std = vae_encode(W, ref["sd_input"][None], cfg["norm_num_groups"])
    out["vae_mean"], out["vae_std"] = mean[0], std[0]
    ups = unet_up(W, cfg, ref["noisy_latent"][None], cfg["timestep"], ref["implicit_caption"][None])
    for i, u in enumerate(ups):
        out["up%d" % i] = u[0]
    out["image_embeddings"] = projector(W, ref["up1"][None], ref["clip_features"])
    return out


# ----------------------------------------------------------------------------------------------------------
# variants: random weights in the golden's naming

VARIANTS = {
    # 384 px like the released model, a portrait image, other widths/groups/heads/cross width/depths, gelu CLIP
    "portrait384": dict(
        seed=1, image=(300, 420), sd_resolution=384,
        unet=[16, 32, 32, 48], layers_per_block=1, heads=4, groups=4, cross=20,
        down_attn=[1, 1, 1, 0], transformer_layers=1, linear_proj=False, latent=4,
        vae=[8, 16, 24, 24], vae_layers=1,
        clip=dict(hidden=40, layers=4, heads=5, patch=14, mlp=120, act="gelu"), llm=64, timestep=100),
    # small (committed as tests/golden/difflmm-variant): 256 px (CLIP 224, 16x16 tokens), heads per block, linear
    # projections, two transformer blocks in the second block's and the mid block's attentions, a cross-attention
    # width that is not a multiple of 4, t = 250
    "small256": dict(
        seed=3, image=(300, 420), sd_resolution=256,
        unet=[16, 16, 24, 32], layers_per_block=1, heads=[2, 4, 6, 8], groups=8, cross=18,
        down_attn=[1, 1, 1, 0], transformer_layers=[1, 2, 1, 2], linear_proj=True, latent=4,
        vae=[8, 16, 16, 16], vae_layers=2,
        clip=dict(hidden=24, layers=2, heads=3, patch=14, mlp=64, act="quick_gelu"), llm=32, timestep=250),
    # three UNet blocks (up1 is the full latent map), 192 px with CLIP patch 7 (24x24 tokens), 6 latent channels,
    # per-block ResNet counts, a small landscape image (upscaled)
    "three-block192": dict(
        seed=5, image=(150, 100), sd_resolution=192,
        unet=[16, 24, 32], layers_per_block=[1, 2, 1], heads=2, groups=4, cross=12,
        down_attn=[1, 1, 0], transformer_layers=1, linear_proj=False, latent=6,
        vae=[8, 8, 16, 16], vae_layers=1,
        clip=dict(hidden=16, layers=3, heads=2, patch=7, mlp=48, act="quick_gelu"), llm=40, timestep=100),
    # odd sizes: 5 norm groups, an odd first width (odd timestep embedding), a plain first block, a cross width
    # and CLIP width that are not multiples of 4, one CLIP layer (features = the embeddings after pre_layrnorm),
    # 128 px (8x8 tokens), a portrait image whose padding is odd
    "odd128": dict(
        seed=11, image=(301, 420), sd_resolution=128,
        unet=[15, 30, 30, 45], layers_per_block=1, heads=3, groups=5, cross=18,
        down_attn=[0, 1, 1, 0], transformer_layers=1, linear_proj=False, latent=4,
        vae=[5, 10, 15, 15], vae_layers=3,
        clip=dict(hidden=27, layers=1, heads=3, patch=14, mlp=50, act="quick_gelu"), llm=36, timestep=100),
    # a 3-block VAE (latent = image / 4), 96 px (CLIP 84, patch 7, 12x12 tokens), SDXL's scaling factor, the last
    # timestep, a palette PNG
    "vae3-96": dict(
        seed=21, image=(220, 160), image_mode="P", sd_resolution=96,
        unet=[8, 16, 16, 24], layers_per_block=2, heads=[2, 2, 4, 4], groups=4, cross=10,
        down_attn=[1, 1, 1, 0], transformer_layers=1, linear_proj=False, latent=4, scaling=0.13025,
        vae=[8, 16, 16], vae_layers=2,
        clip=dict(hidden=12, layers=2, heads=2, patch=7, mlp=36, act="gelu"), llm=20, timestep=999),
}


class Init:
    def __init__(self, seed):
        self.g = torch.Generator().manual_seed(seed)
        self.W = {}

    def uniform(self, name, shape, fan_in):
        b = 1.0 / math.sqrt(fan_in)
        self.W[name] = (torch.rand(shape, generator=self.g) * 2 - 1) * b

    def normal(self, name, shape, std, mean=0.0):
        self.W[name] = mean + std * torch.randn(shape, generator=self.g)

    def conv(self, p, cout, cin, k, bias=True):
        self.uniform(p + ".weight", (cout, cin, k, k), cin * k * k)
        if bias:
            self.uniform(p + ".bias", (cout,), cin * k * k)

    def linear(self, p, cout, cin, bias=True):
        self.uniform(p + ".weight", (cout, cin), cin)
        if bias:
            self.uniform(p + ".bias", (cout,), cin)

    def norm(self, p, c):
        self.normal(p + ".weight", (c,), 0.05, 1.0)
        self.normal(p + ".bias", (c,), 0.05)

    def resnet(self, p, cin, cout, temb):
        self.norm(p + ".norm1", cin)
        self.conv(p + ".conv1", cout, cin, 3)
        if temb:
            self.linear(p + ".time_emb_proj", cout, temb)
        self.norm(p + ".norm2", cout)
        self.conv(p + ".conv2", cout, cout, 3)
        if cin != cout:
            self.conv(p + ".conv_shortcut", cout, cin, 1)

    def transformer(self, p, C, X, layers, lin):
        self.norm(p + ".norm", C)
        for n in ("proj_in", "proj_out"):
            if lin:
                self.linear(p + "." + n, C, C)
            else:
                self.conv(p + "." + n, C, C, 1)
        for k in range(layers):
            b = p + ".transformer_blocks.%d" % k
            for n in ("norm1", "norm2", "norm3"):
                self.norm(b + "." + n, C)
            for a, kv in (("attn1", C), ("attn2", X)):
                self.linear(b + "." + a + ".to_q", C, C, bias=False)
                self.linear(b + "." + a + ".to_k", C, kv, bias=False)
                self.linear(b + "." + a + ".to_v", C, kv, bias=False)
                self.linear(b + "." + a + ".to_out.0", C, C)
            self.linear(b + ".ff.net.0.proj", 8 * C, C)
            self.linear(b + ".ff.net.2", C, 4 * C)


def make_weights(v, T):
    I = Init(v["seed"])
    # UNet2DConditionModel
    boc, nb = v["unet"], len(v["unet"])
    lpb = per_block(v["layers_per_block"], nb)
    TE, X, Z = 4 * boc[0], v["cross"], v["latent"]
    tl = per_block(v["transformer_layers"], nb)
    p = "unet"
    I.conv(p + ".conv_in", boc[0], Z, 3)
    I.linear(p + ".time_embedding.linear_1", TE, boc[0])
    I.linear(p + ".time_embedding.linear_2", TE, TE)
    out = boc[0]
    for i in range(nb):
        cin, out = out, boc[i]
        for j in range(lpb[i]):
            I.resnet(p + ".down_blocks.%d.resnets.%d" % (i, j), cin if j == 0 else out, out, TE)
            if v["down_attn"][i]:
                I.transformer(p + ".down_blocks.%d.attentions.%d" % (i, j), out, X, tl[i], v["linear_proj"])
        if i + 1 < nb:
            I.conv(p + ".down_blocks.%d.downsamplers.0.conv" % i, out, out, 3)
    I.resnet(p + ".mid_block.resnets.0", boc[-1], boc[-1], TE)
    I.transformer(p + ".mid_block.attentions.0", boc[-1], X, tl[-1], v["linear_proj"])
    I.resnet(p + ".mid_block.resnets.1", boc[-1], boc[-1], TE)
    rev = boc[::-1]
    prev = rev[0]
    for i in range(nb):
        r = nb - 1 - i
        o, cin = rev[i], rev[min(i + 1, nb - 1)]
        layers = lpb[r] + 1
        for j in range(layers):
            skip = cin if j == layers - 1 else o
            rin = prev if j == 0 else o
            I.resnet(p + ".up_blocks.%d.resnets.%d" % (i, j), rin + skip, o, TE)
            if v["down_attn"][r]:
                I.transformer(p + ".up_blocks.%d.attentions.%d" % (i, j), o, X, tl[r], v["linear_proj"])
        if i + 1 < nb:
            I.conv(p + ".up_blocks.%d.upsamplers.0.conv" % i, o, o, 3)
        prev = o
    I.norm(p + ".conv_norm_out", boc[0])
    I.conv(p + ".conv_out", Z, boc[0], 3)
    # AutoencoderKL encoder + quant_conv
    vb = v["vae"]
    p = "vae.encoder"
    I.conv(p + ".conv_in", vb[0], 3, 3)
    out = vb[0]
    for i in range(len(vb)):
        cin, out = out, vb[i]
        for j in range(v["vae_layers"]):
            I.resnet(p + ".down_blocks.%d.resnets.%d" % (i, j), cin if j == 0 else out, out, 0)
        if i + 1 < len(vb):
            I.conv(p + ".down_blocks.%d.downsamplers.0.conv" % i, out, out, 3)
    C = vb[-1]
    I.resnet(p + ".mid_block.resnets.0", C, C, 0)
    I.norm(p + ".mid_block.attentions.0.group_norm", C)
    for n in ("to_q", "to_k", "to_v", "to_out.0"):
        I.linear(p + ".mid_block.attentions.0." + n, C, C)
    I.resnet(p + ".mid_block.resnets.1", C, C, 0)
    I.norm(p + ".conv_norm_out", C)
    I.conv(p + ".conv_out", 2 * Z, C, 3)
    I.conv("vae.quant_conv", 2 * Z, 2 * Z, 1)
    # CLIPVisionModel
    c = v["clip"]
    H, P, M = c["hidden"], c["patch"], c["mlp"]
    p = "clip"
    I.normal(p + ".embeddings.class_embedding", (H,), 0.05)
    I.uniform(p + ".embeddings.patch_embedding.weight", (H, 3, P, P), 3 * P * P)
    I.normal(p + ".embeddings.position_embedding.weight", (T + 1, H), 0.18)
    I.norm(p + ".pre_layrnorm", H)
    for i in range(c["layers"]):
        q = p + ".encoder.layers.%d" % i
        I.norm(q + ".layer_norm1", H)
        I.norm(q + ".layer_norm2", H)
        for n in ("q_proj", "k_proj", "v_proj", "out_proj"):
            I.linear(q + ".self_attn." + n, H, H)
        I.linear(q + ".mlp.fc1", M, H)
        I.linear(q + ".mlp.fc2", H, M)
    I.norm(p + ".post_layernorm", H)
    # SDCLIPBlock
    E, CS = v["llm"], rev[1]
    p = "mm_projector"
    I.linear(p + ".clip_projector.0", X, H)
    I.linear(p + ".clip_projector.2", X, X)
    I.norm(p + ".sd_norm_layer", CS)
    I.conv(p + ".sd_proj_layer.0", E // 4, CS, 1)
    I.linear(p + ".linear.0", E, E // 4 + H)
    I.linear(p + ".linear.2", E, E)
    I.normal(p + ".clip_pe", (T, X), 1.0)
    I.normal(p + ".vt_pe", (T, E), 1.0)
    return I.W


def make_image(w, h, seed):
    # a portrait/landscape picture with flat shapes, a gradient and a little texture (bicubic sees edges)
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    a = np.zeros((h, w, 3), dtype=np.float32)
    a[..., 0] = 40 + 150 * xx / w
    a[..., 1] = 90 + 100 * yy / h
    a[..., 2] = 160 - 60 * (xx + yy) / (w + h)
    img = Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    for k in range(7):
        x0, y0 = rng.randint(0, w - 20), rng.randint(0, h - 20)
        x1, y1 = x0 + rng.randint(15, w // 2), y0 + rng.randint(15, h // 2)
        col = tuple(int(c) for c in rng.randint(0, 256, 3))
        (d.ellipse if k % 2 else d.rectangle)([x0, y0, x1, y1], fill=col)
    d.line([(0, h - 1), (w - 1, 0)], fill=(250, 250, 240), width=3)
    return img


def make(name, folder):
    v = VARIANTS[name]
    S = v["sd_resolution"]
    c = v["clip"]
    R = S * 7 // 8
    assert R % c["patch"] == 0
    grid = R // c["patch"]
    T = grid * grid
    nb = len(v["unet"])
    L = S // 2 ** (len(v["vae"]) - 1)
    up1_side = L >> (nb - 3) if nb >= 3 else L
    assert up1_side == grid, (name, up1_side, grid)
    W = make_weights(v, T)
    os.makedirs(folder, exist_ok=True)
    img = make_image(v["image"][0], v["image"][1], v["seed"])
    if v.get("image_mode", "RGB") != "RGB":
        img = img.convert(v["image_mode"])
    img.save(os.path.join(folder, "image.png"), optimize=True)
    img = Image.open(os.path.join(folder, "image.png"))
    save_safetensors(os.path.join(folder, "weights.safetensors"), W)

    cfg = {
        "unet_block_out_channels": v["unet"],
        "layers_per_block": v["layers_per_block"],
        "attention_head_dim(=num heads)": v["heads"],
        "norm_num_groups": v["groups"],
        "cross_attention_dim": v["cross"],
        "vae_block_out_channels": v["vae"],
        "vae_scaling_factor": v.get("scaling", 0.18215),
        "timestep": v["timestep"],
        "alphas_cumprod[100]": alphas_cumprod()[100].item(),
        "scheduler": "DDIM, scaled_linear betas 0.00085..0.012, 1000 steps",
        "clip": {"hidden": c["hidden"], "layers": c["layers"], "heads": c["heads"], "image": R, "patch": c["patch"],
                 "act": c["act"], "feature": "hidden_states[-2] without CLS"},
        "llm_hidden": v["llm"],
        "tokens": T,
        "pad_color": [127, 127, 127],
    }
    # the noise as the C++ seeded generator draws it: torch.manual_seed(seed), randn for the VAE, then the UNet
    torch.manual_seed(v["seed"])
    Z = v["latent"]
    vae_noise = torch.randn(1, Z, L, L)[0]
    unet_noise = torch.randn(1, Z, L, L)[0]
    out = run(W, dict(cfg, sd_resolution=S), img, vae_noise, unet_noise)
    save_safetensors(os.path.join(folder, "cases.safetensors"), out)
    sel = up1_side
    doc = {
        "reference": "scripts/difflmm-golden.py: plain PyTorch float32 CPU following diffusers "
                     "UNet2DConditionModel/AutoencoderKL/DDIMScheduler, transformers CLIPVisionModel and the official "
                     "SDCLIPBlock (variant '%s' of tests/golden/difflmm)" % name,
        "weights": "weights.safetensors: unet.* and vae.* (encoder and quant_conv only) in diffusers naming, clip.* in "
                   "transformers CLIPVisionModel naming, mm_projector.* in the official SDCLIPBlock naming "
                   "(clip_projector.0/2, sd_norm_layer, sd_proj_layer.0, linear.0/2, clip_pe, vt_pe)",
        "config": cfg,
        "pipeline": [
            "image -> expand2square (127,127,127) -> PIL bicubic %dx%d -> [-1,1] = sd_input" % (S, S),
            "sd_input -> bilinear (align_corners=False) %d -> CLIP normalisation = clip_input" % R,
            "clip_input -> CLIP -> hidden_states[-2][1:] = clip_features [%d, clip_hidden]" % T,
            "clip_projector(clip_features) + clip_pe = implicit_caption (UNet cross-attention context)",
            "VAE encode sd_input: latent = (mean + std * vae_noise) * %g" % v.get("scaling", 0.18215),
            "noisy_latent = sqrt(a) * latent + sqrt(1 - a) * unet_noise, a = alphas_cumprod[%d]" % v["timestep"],
            "UNet(noisy_latent, t=%d, implicit_caption): up_blocks[i] outputs = %s" % (
                v["timestep"], "..".join(["up0", "up%d" % (nb - 1)])),
            "LayerNorm(up1 channels) -> conv1x1 -> GELU -> concat with clip_features as a %dx%d map (SD channels "
            "first) -> tokens in row-major order -> Linear-GELU-Linear -> + vt_pe = image_embeddings [%d, llm_hidden]"
            % (sel, sel, T),
        ],
        "tensors": {k: list(t.shape) for k, t in sorted(out.items())},
        "seed": v["seed"],
    }
    with open(os.path.join(folder, "cases.json"), "w") as f:
        json.dump(doc, f, indent=2)
    size = sum(os.path.getsize(os.path.join(folder, n)) for n in os.listdir(folder))
    print("wrote %s (%.2f MB)" % (folder, size / 1e6))
    return check(folder)


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "check":
        folder = sys.argv[2] if len(sys.argv) > 2 else os.path.join(os.path.dirname(__file__), "..", "tests",
                                                                     "golden", "difflmm")
        worst = check(folder)
        sys.exit(0 if worst < 1e-5 else 1)
    if len(sys.argv) == 4 and sys.argv[1] == "make":
        names = list(VARIANTS) if sys.argv[2] == "all" else [sys.argv[2]]
        for n in names:
            make(n, os.path.join(sys.argv[3], n) if sys.argv[2] == "all" else sys.argv[3])
        return
    print(__doc__)
    sys.exit(2)


if __name__ == "__main__":
    main()
