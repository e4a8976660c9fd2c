#!/usr/bin/env python3
"""LLaVA-NeXT (anyres, spatial_unpad) goldens from the reference code itself, in the format of
tests/golden/llava-next (cases.json, cases.safetensors, the HF weights, the two GGUFs by llama.cpp's converters).

  check <folder>                  recompute every tensor of <folder>/cases.safetensors (and the canvas/base PNGs, the
                                  plan in cases.json, the token ids) from the folder's weights, images and config
                                  with the reference code, and compare; rerun llama.cpp's converters on the folder's
                                  weights and compare the GGUFs with the folder's.
  make <out> [shape options]      a new folder: random f16-representable weights of the given shapes, pinpoints,
                                  synthetic images of the given sizes, the same tensors and both GGUFs.
  f32-mmproj <folder> <out>       a copy of <folder> (links) whose mmproj has its F16 tensors rewritten as F32 (the
                                  same values): run the C++ golden test on it to see the error that ggml's F16
                                  matmul path (activations rounded to F16) adds, apart from everything else.

The reference code is run from its sources, whose paths are arguments (nothing fetched is kept in this repository):
  --transformers-src  a `src` folder of transformers v4.44.2 (`git archive v4.44.2 src/transformers`):
                      LlavaNextForConditionalGeneration (eager attention, output_attentions), LlavaNextImageProcessor
                      (the plain-HF run), CLIPImageProcessor (per-tile normalisation inside NX's process_anyres_image).
                      No transformers file is patched.
  --llava-next-src    a checkout of LLaVA-VL/LLaVA-NeXT: select_best_resolution, resize_and_pad_image,
                      divide_to_patches, get_anyres_image_grid_shape, process_anyres_image, tokenizer_image_token
                      (llava/mm_utils.py) and unpad_image (llava/model/llava_arch.py) are cut out of the files with
                      `ast` and executed as they are (their sha256 is recorded and, on check, compared);
                      conv_templates['llava_v1'] is imported from llava/conversation.py.
  --llama-cpp         the pinned llama.cpp tree (default third_party/llama.cpp): convert_hf_to_gguf.py,
                      tools/mtmd/legacy-models/llava_surgery_v2.py and convert_image_encoder_to_gguf.py, run as
                      scripts with the same interpreter.
huggingface_hub, safetensors and tokenizers are not Debian packages: scripts/golden_shim stands in for them
(import-time names, the safetensors file format; no network). SentencePiece is called directly with the
LlamaTokenizer(legacy=True) contract: ids = [BOS] + sp.encode(text).

How NX (the original repository) semantics come out of HF v4.44.2: HF reads image_grid_pinpoints and image_sizes as
(h, w), NX as (w, h). The golden forward gives HF the pinpoints with each pair swapped (its select_best_resolution
then visits NX's candidates in NX's order with the same arithmetic), image_sizes as Python ints [[H, W]] (so its
unpad_image computes int(H * (cw / W)) in double, like NX; the processor's LongTensor would make it float32) and
NX's own pixel tiles. HF's pack_image_features is compared with NX's spatial_unpad merge (NX unpad_image on the
same raster). The plain-HF run (literal pinpoints, HF's processor, LongTensor image_sizes) is stored as <case>.hf.*
where its token layout differs.

Sources used for tests/golden/llava-next-variant (and to reproduce tests/golden/llava-next): transformers tag v4.44.2
= commit 174890280b340b89c5bfa092f6b4fb0e2dc2d7fc (`git archive v4.44.2 src/transformers` from a mirror of a fork
that carries the upstream tags; the sha256 of the files that matter are in the variant's cases.json), LLaVA-VL/LLaVA-NeXT
@ df179663ae8b83207df100a1f7af24caec633ff9, llama.cpp as pinned in third_party.

Needs /usr/bin/python3 with Debian's python3-torch python3-numpy python3-pil python3-sentencepiece python3-regex
python3-filelock python3-yaml python3-tqdm python3-packaging python3-requests.
"""
import argparse
import ast
import copy
import hashlib
import importlib.util
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
import safetensors_io  # noqa: E402  (scripts/safetensors_io.py)

SHIM = HERE / "golden_shim"
NX_FUNCS = {"llava/mm_utils.py": ["select_best_resolution", "resize_and_pad_image", "divide_to_patches",
                                  "get_anyres_image_grid_shape", "process_anyres_image", "tokenizer_image_token"],
            "llava/model/llava_arch.py": ["unpad_image"]}
NX_IMAGE_TOKEN = -200
N_GREEDY = 10
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

# `check` tolerances: the same float32 code on the same inputs, so only thread scheduling may move sums
# (measured on tests/golden/llava-next, 2 threads here: features 3.1e-6, logits 7.5e-6, attn 1.3e-6, attn_mean 1.0e-7)
CHECK_TOL = {"pixel_values": 0.0, "vision_features": 1e-5, "image_features": 1e-5, "logits": 2e-5, "attn": 1e-5,
             "attn_mean": 1e-6, "attn_head_m2": 2e-6, "map": 1e-6, "greedy_top2_margin": 1e-5,
             "greedy_attn": 1e-6, "hf": 1e-5}


# ------------------------------------------------------------------------------------------------ the sources


def import_sources(a):
    """Puts the shim, transformers and gguf-py on sys.path and loads NX's functions; returns (tf, nx, conv)."""
    for p in (a.gguf_py, a.transformers_src, str(SHIM)):
        sys.path.insert(0, p)
    import transformers
    if transformers.__version__ != "4.44.2":
        sys.exit(f"--transformers-src {a.transformers_src}: transformers {transformers.__version__}, want 4.44.2")
    nx = {"Image": Image, "math": math, "ast": ast, "re": re, "torch": torch, "IMAGE_TOKEN_INDEX": NX_IMAGE_TOKEN}
    hashes = {}
    src_root = Path(a.llava_next_src)
    for rel, names in NX_FUNCS.items():
        text = (src_root / rel).read_text()
        found = {n.name: n for n in ast.parse(text).body if isinstance(n, ast.FunctionDef)}
        for name in names:
            if name not in found:
                sys.exit(f"{src_root / rel}: no function {name}")
            seg = ast.get_source_segment(text, found[name])
            hashes[name] = hashlib.sha256(seg.encode()).hexdigest()[:16]
            exec(compile(seg, f"{src_root / rel}:{name}", "exec"), nx)  # the function as the repository has it
    spec = importlib.util.spec_from_file_location("nx_conversation", src_root / "llava/conversation.py")
    conv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(conv)
    return transformers, nx, conv, hashes


def git_head(path):
    try:
        return subprocess.run(["git", "-C", str(path), "log", "-1", "--format=%H %cI"], capture_output=True,
                              text=True, check=True).stdout.strip()
    except Exception:
        return "unknown (not a git checkout)"


class SPLlamaTokenizer:
    """What tokenizer_image_token needs of a LlamaTokenizer(legacy=True): tok(text).input_ids = [BOS] + encode."""

    def __init__(self, path):
        import sentencepiece as spm
        self.sp = spm.SentencePieceProcessor()
        self.sp.LoadFromFile(str(path))
        self.bos_token_id = self.sp.bos_id()

    def __call__(self, text):
        return type("Enc", (), {"input_ids": [self.bos_token_id] + self.sp.encode(text)})


# ------------------------------------------------------------------------------------------------ the model


def build_model(tf, hf_cfg, W, swap_pinpoints):
    cfg = copy.deepcopy(hf_cfg)
    if swap_pinpoints:
        cfg["image_grid_pinpoints"] = [[p[1], p[0]] for p in cfg["image_grid_pinpoints"]]
    config = tf.LlavaNextConfig(**{k: v for k, v in cfg.items() if k not in ("model_type", "transformers_version")})
    for c in (config, config.text_config, config.vision_config):
        c._attn_implementation = "eager"
    model = tf.LlavaNextForConditionalGeneration(config)
    sd = {k: torch.from_numpy(v.astype(np.float32)) for k, v in W.items()}
    missing, unexpected = model.load_state_dict(sd, strict=False)
    if missing or unexpected:
        sys.exit(f"weights do not match the config: missing {missing[:5]}, unexpected {unexpected[:5]}")
    return model.eval()


class Recorder:
    """Wraps the model's sub-calls to record their inputs/outputs; changes nothing they compute."""

    def __init__(self, model):
        self.rec = {}
        vt, pack, lm = model.vision_tower.forward, model.pack_image_features, model.language_model.forward

        def vt_fwd(*a, **k):
            out = vt(*a, **k)
            self.rec["hidden_states"] = out.hidden_states
            return out

        def pack_fwd(*a, **k):
            out = pack(*a, **k)
            self.rec["packed"] = out[0]
            self.rec["pack_args"] = a
            return out

        def lm_fwd(*a, **k):
            self.rec["inputs_embeds"] = k.get("inputs_embeds")
            return lm(*a, **k)

        model.vision_tower.forward = vt_fwd
        model.pack_image_features = pack_fwd
        model.language_model.forward = lm_fwd


def run_forward(model, rec, ids, px, image_sizes):
    rec.rec.clear()
    with torch.no_grad():
        out = model(input_ids=torch.tensor([ids]), attention_mask=torch.ones(1, len(ids), dtype=torch.long),
                    pixel_values=px, image_sizes=image_sizes, output_attentions=True,
                    use_cache=False, return_dict=True)
    return out, dict(rec.rec)


# ------------------------------------------------------------------------------------------------ one case


def hf_processor(tf, pre_cfg):
    return tf.LlavaNextImageProcessor(**{k: v for k, v in pre_cfg.items() if k != "image_processor_type"})


def nx_processor(tf, T):
    """The CLIP processor NX's process_anyres_image gets (size shortest_edge T, crop T x T, CLIP mean/std)."""
    return tf.CLIPImageProcessor(size={"shortest_edge": T}, crop_size={"height": T, "width": T},
                                 image_mean=CLIP_MEAN, image_std=CLIP_STD, resample=3, do_center_crop=True)


def nx_plan(nx, img, pinpoints, T, g, patch):
    """The plan as NX's functions give it (best resolution, canvas, the unpad of the feature raster)."""
    W, H = img.size
    best = nx["select_best_resolution"](img.size, pinpoints)
    cols, rows = nx["get_anyres_image_grid_shape"](img.size, pinpoints, T)
    canvas = nx["resize_and_pad_image"](img, best)
    # the pasted rectangle, read back from the formula's two branches (the canvas is black outside it)
    sw, sh = best[0] / W, best[1] / H
    if sw < sh:
        nw, nh = best[0], min(math.ceil(H * sw), best[1])
    else:
        nw, nh = min(math.ceil(W * sh), best[0]), best[1]
    px_, py_ = (best[0] - nw) // 2, (best[1] - nh) // 2
    ch, cw = rows * g, cols * g
    idx = torch.arange(ch * cw, dtype=torch.float64).view(1, ch, cw)
    un = nx["unpad_image"](idx, (W, H))  # NX: original_size = image.size = (W, H)
    first = int(un[0, 0, 0].item())
    fr, fc = first // cw, first % cw
    hr_rows, hr_cols = un.shape[1], un.shape[2]
    axis_rows = W / H > cw / ch
    value = H * (cw / W) if axis_rows else W * (ch / H)
    n_tok = g * g + hr_rows * (hr_cols + 1)
    return {
        "best_resolution_wh": list(best), "tile_grid_cols_rows": [cols, rows], "n_tiles_incl_base": 1 + cols * rows,
        "resized_wh": [nw, nh], "paste_xy": [px_, py_],
        "pad_left_top_right_bottom": [px_, py_, best[0] - nw - px_, best[1] - nh - py_],
        "feature_grid_rows_cols": [ch, cw],
        "unpad": {"axis": "rows" if axis_rows else "cols", "value_before_int": value, "int_value": int(value),
                  "crop_each_side": fr if axis_rows else fc, "first_row": fr, "first_col": fc,
                  "formula": ("W/H > cw/ch: new_h = int(H * (cw / W)), pad = (ch - new_h) // 2, keep rows [pad, ch-pad)"
                              if axis_rows else
                              "W/H <= cw/ch: new_w = int(W * (ch / H)), pad = (cw - new_w) // 2, keep cols [pad, cw-pad)")},
        "hr_grid_rows_cols": [hr_rows, hr_cols], "n_base_tokens": g * g, "n_hr_tokens_incl_newlines":
            hr_rows * (hr_cols + 1), "n_image_tokens": n_tok,
        "hr_grid_canvas_rect_xyxy": [fc * patch, fr * patch, (fc + hr_cols) * patch, (fr + hr_rows) * patch],
        "image_rect_in_canvas_xyxy": [px_, py_, px_ + nw, py_ + nh],
        "hr_grid_original_pixel_rect_xyxy": [(fc * patch - px_) * W / nw, (fr * patch - py_) * H / nh,
                                             ((fc + hr_cols) * patch - px_) * W / nw,
                                             ((fr + hr_rows) * patch - py_) * H / nh],
        "base_grid_rows_cols": [g, g], "base_grid_original_pixel_rect_xyxy": [0, 0, W, H],
    }, canvas


def hf_main_computed(img, pinpoints, T, g):
    """transformers main's answer, computed (not run): pinpoints read as (h, w), select_best_resolution as in
    v4.44.2, unpad with int(round(x, 7)) on Python floats (PR #34522)."""
    W, H = img.size
    best, eff_best, waste_best = None, 0, float("inf")
    for h, w in pinpoints:
        scale = min(w / W, h / H)
        dw, dh = int(W * scale), int(H * scale)
        eff = min(dw * dh, W * H)
        waste = w * h - eff
        if eff > eff_best or (eff == eff_best and waste < waste_best):
            best, eff_best, waste_best = (h, w), eff, waste
    rows, cols = best[0] // T, best[1] // T
    ch, cw = rows * g, cols * g
    if W / H > cw / ch:
        new = int(round(H * (cw / W), 7))
        pad = (ch - new) // 2
        hr = [ch - 2 * pad, cw]
    else:
        new = int(round(W * (ch / H), 7))
        pad = (cw - new) // 2
        hr = [ch, cw - 2 * pad]
    return {"best_resolution_wh": [best[1], best[0]], "tile_grid_cols_rows": [cols, rows], "hr_grid_rows_cols": hr,
            "n_image_tokens": g * g + hr[0] * (hr[1] + 1)}


def normalize_tiles(tf, proc, tiles):
    return torch.stack([proc.preprocess(t, return_tensors="pt")["pixel_values"][0] for t in tiles])


def layout_of(s, n_pre_img_post, K, g, hr_rows, hr_cols):
    P = n_pre_img_post
    kind = np.zeros(P + K, np.int32)
    rc = -np.ones((P + K, 2), np.int32)
    kind[P:] = 4
    for i in range(g * g):
        kind[s + i] = 1
        rc[s + i] = (i // g, i % g)
    p = s + g * g
    for r in range(hr_rows):
        for c in range(hr_cols + 1):
            kind[p] = 2 if c < hr_cols else 3
            rc[p] = (r, c)
            p += 1
    return kind, rc


def image_stats(attn_rows, n):
    m = attn_rows.double()
    p = m / m.sum(-1, keepdim=True)
    ent = -(p * p.clamp_min(1e-30).log()).sum(-1)
    return {"image_mass_min": float(m.sum(-1).min()), "image_mass_max": float(m.sum(-1).max()),
            "entropy_min": float(ent.min()), "entropy_max": float(ent.max()), "uniform_entropy": math.log(n),
            "max_over_mean_min": float((m.max(-1).values / m.mean(-1)).min())}


def attn_block(out, rows, s, n):
    """[K, L, H, n] of the given query rows over the image columns."""
    A = torch.stack([a[0] for a in out.attentions])  # [L, H, T, T]
    return A[:, :, rows][..., s:s + n].permute(2, 0, 1, 3).contiguous()


def compute_case(ctx, name, img):
    """Every tensor and JSON fact of one case, from the reference code."""
    nx, hf_cfg, tok = ctx["nx"], ctx["hf"], ctx["tok"]
    vc = hf_cfg["vision_config"]
    T, patch = vc["image_size"], vc["patch_size"]
    g = T // patch
    H_heads = hf_cfg["text_config"]["num_attention_heads"]
    pinpoints = hf_cfg["image_grid_pinpoints"]  # the literal list, = NX's (w, h) list
    W, H = img.size
    t = {}
    plan, canvas = nx_plan(nx, img, pinpoints, T, g, patch)
    base = img.resize((T, T))
    px = nx["process_anyres_image"](img, ctx["nxproc"], pinpoints)  # [1 + tiles, 3, T, T]
    t["pixel_values"] = px
    t["image_size_hw"] = torch.tensor([H, W], dtype=torch.int32)

    conv = ctx["conv"].conv_templates["llava_v1"].copy()
    conv.append_message(conv.roles[0], "<image>\n" + ctx["question"])
    conv.append_message(conv.roles[1], None)
    prompt = conv.get_prompt()
    ids = nx["tokenizer_image_token"](prompt, tok)
    k = ids.index(NX_IMAGE_TOKEN)
    pre, post = ids[:k], ids[k + 1:]
    cont = tok.sp.encode(ctx["continuation"])
    n_img = plan["n_image_tokens"]
    s, P, K = len(pre), len(pre) + n_img + len(post), len(cont)
    itok = hf_cfg["image_token_index"]

    model, rec = ctx["model"], ctx["rec"]
    out, r = run_forward(model, rec, pre + [itok] + post + cont, px, [[H, W]])
    hs = r["hidden_states"]
    t["vision_features"] = hs[hf_cfg["vision_feature_layer"]][:, 1:].contiguous()
    feats = r["packed"]
    if feats.shape[0] != n_img:
        sys.exit(f"{name}: HF packed {feats.shape[0]} image tokens, NX's plan says {n_img}")
    t["image_features"] = feats
    # NX's spatial_unpad merge on the same per-tile features (llava_arch.py's branch, with NX's unpad_image)
    tiles = model.multi_modal_projector(t["vision_features"]).detach()
    cols, rows = plan["tile_grid_cols_rows"]
    f = tiles[1:].view(rows, cols, g, g, -1).permute(4, 0, 2, 1, 3).contiguous().flatten(1, 2).flatten(2, 3)
    f = nx["unpad_image"](f, (W, H))
    f = torch.cat((f, model.image_newline[:, None, None].expand(*f.shape[:-1], 1)), dim=-1)
    nx_pack = torch.cat((tiles[0], f.flatten(1, 2).transpose(0, 1)), 0).detach()
    E = model.get_input_embeddings().weight.detach()
    emb_want = torch.cat([E[pre], feats, E[post + cont]])
    checks = {"nx_pack_vs_hf_pack_max_abs": float((nx_pack - feats).abs().max()),
              "inputs_embeds_layout": ("inputs_embeds == cat(embed(pre), image_features, embed(post+cont)) exactly"
                                       if torch.equal(r["inputs_embeds"][0], emb_want) else "DIFFERS")}
    rows_q = list(range(P - 1, P - 1 + K))
    t["logits"] = out.logits[0, rows_q].contiguous()
    A = attn_block(out, rows_q, s, n_img)
    t["attn"] = A
    t["attn_mean"] = A.mean((1, 2))
    t["attn_head_m2"] = A[:, :, H_heads - 2].mean(1)
    hr_rows, hr_cols = plan["hr_grid_rows_cols"]

    def maps(m):
        return (m[:, g * g:].reshape(m.shape[0], hr_rows, hr_cols + 1)[..., :hr_cols].contiguous(),
                m[:, :g * g].reshape(m.shape[0], g, g).contiguous())
    t["map_hr_mean"], t["map_base_mean"] = maps(t["attn_mean"])
    t["map_hr_head_m2"], t["map_base_head_m2"] = maps(t["attn_head_m2"])
    kind, rc = layout_of(s, P, K, g, hr_rows, hr_cols)
    t["layout_kind"], t["layout_rc"] = torch.from_numpy(kind), torch.from_numpy(rc)

    greedy, margins, gm, gh = [], [], [], []
    for _ in range(N_GREEDY):
        o, _r = run_forward(model, rec, pre + [itok] + post + greedy, px, [[H, W]])
        lg = o.logits[0, -1]
        top = torch.topk(lg, 2).values
        a = attn_block(o, [P - 1 + len(greedy)], s, n_img)[0]
        gm.append(a.mean((0, 1)))
        gh.append(a[:, H_heads - 2].mean(0))
        margins.append(float(top[0] - top[1]))
        greedy.append(int(torch.argmax(lg)))
    t["greedy_ids"] = torch.tensor(greedy, dtype=torch.int32)
    t["greedy_top2_margin"] = torch.tensor(margins, dtype=torch.float32)
    t["greedy_attn_mean"], t["greedy_attn_head_m2"] = torch.stack(gm), torch.stack(gh)
    t["prompt_ids_pre"] = torch.tensor(pre, dtype=torch.int32)
    t["prompt_ids_post"] = torch.tensor(post, dtype=torch.int32)
    t["continuation_ids"] = torch.tensor(cont, dtype=torch.int32)
    t["image_start"] = torch.tensor([s], dtype=torch.int32)
    t["prompt_len"] = torch.tensor([P], dtype=torch.int32)
    t["n_image_tokens"] = torch.tensor([n_img], dtype=torch.int32)
    checks["attn_mean_stats"] = image_stats(t["attn_mean"], n_img)
    checks["attn_head_m2_stats"] = image_stats(t["attn_head_m2"], n_img)

    # plain HF v4.44.2: literal pinpoints read as (h, w), its own processor, image_sizes as its LongTensor
    hp = ctx["hfproc"](images=img, return_tensors="pt")
    hpx, hsz = hp["pixel_values"][0], hp["image_sizes"]
    ho, hr = run_forward(ctx["model_hf"], ctx["rec_hf"], pre + [itok] + post + cont, hpx, hsz)
    hfeat = hr["packed"]
    hn = hfeat.shape[0]
    hl = hf_main_computed(img, pinpoints, T, g)
    hbest = ctx["tf"].image_processing_utils.select_best_resolution([H, W], pinpoints)
    hgrid = [hbest[1] // T, hbest[0] // T]
    same_grid = hgrid == plan["tile_grid_cols_rows"]
    pv_diff = ([float((hpx[i] - px[i]).abs().max()) for i in range(px.shape[0])] if same_grid and
               hpx.shape == px.shape else "different grid: not comparable")
    hK = t["logits"].shape[0]
    hP = len(pre) + hn + len(post)
    hq = list(range(hP - 1, hP - 1 + hK))
    hA = attn_block(ho, hq, s, hn)
    plain = {"pinpoints_read_as": "(height, width)", "best_resolution_hw": list(hbest),
             "best_resolution_wh": [hbest[1], hbest[0]], "tile_grid_cols_rows": hgrid,
             "image_sizes": "LongTensor (as the processor returns it) -> unpad_image computes in float32",
             "same_tile_grid_as_nx": same_grid, "same_token_layout_as_nx": hn == n_img and same_grid,
             "n_image_tokens": hn, "processor_pixel_values_max_abs_vs_nx_per_tile": pv_diff,
             "prompt_len": hP}
    hcw, hch = hgrid[0] * g, hgrid[1] * g
    # the plain-HF unpadded grid from its token count: rows * (cols + 1) = hn - g*g with cols = hcw or rows = hch
    if (hn - g * g) % (hcw + 1) == 0 and (hn - g * g) // (hcw + 1) <= hch:
        hhr = [(hn - g * g) // (hcw + 1), hcw]
    else:
        hhr = [hch, (hn - g * g) // hch - 1]
    plain["hr_grid_rows_cols"] = hhr
    plain["feature_grid_rows_cols"] = [hch, hcw]
    if not plain["same_token_layout_as_nx"]:
        plain["stored"] = "hf.* tensors (tile grid or unpadded grid differs from the golden)"
        if isinstance(pv_diff, list) and max(pv_diff) == 0:
            plain["pixel_values"] = "identical to <case>.pixel_values (not stored twice)"
        else:
            t["hf.pixel_values"] = hpx
        t["hf.image_features"] = hfeat
        t["hf.logits"] = ho.logits[0, hq].contiguous()
        t["hf.attn_mean"] = hA.mean((1, 2))
        t["hf.attn_head_m2"] = hA[:, :, H_heads - 2].mean(1)
        for key in ("mean", "head_m2"):
            m = t["hf.attn_" + key]
            t["hf.map_hr_" + key] = m[:, g * g:].reshape(hK, hhr[0], hhr[1] + 1)[..., :hhr[1]].contiguous()
            t["hf.map_base_" + key] = m[:, :g * g].reshape(hK, g, g).contiguous()
        hg = []
        for _ in range(N_GREEDY):
            o, _r = run_forward(ctx["model_hf"], ctx["rec_hf"], pre + [itok] + post + hg, hpx, hsz)
            hg.append(int(torch.argmax(o.logits[0, -1])))
        t["hf.greedy_ids"] = torch.tensor(hg, dtype=torch.int32)
        plain["greedy_ids"] = hg
    elif isinstance(pv_diff, list) and max(pv_diff) > 0:
        idx = [i for i, d in enumerate(pv_diff) if d > 0]
        t["hf.pixel_values_tiles"] = hpx[idx].contiguous()
        t["hf.pixel_values_tile_index"] = torch.tensor(idx, dtype=torch.int32)
        plain["stored"] = ("hf.pixel_values_tiles (only the HF-processor tiles that differ from the golden, indices "
                           "in hf.pixel_values_tile_index); same token layout, so no other hf.* tensors")
        plain["pixel_values_max_abs_vs_golden"] = max(pv_diff)
        plain["image_features_max_abs_vs_golden"] = float((hfeat - feats).abs().max())
        plain["logits_max_abs_vs_golden"] = float((ho.logits[0, hq] - t["logits"]).abs().max())
        plain["attn_mean_max_abs_vs_golden"] = float((hA.mean((1, 2)) - t["attn_mean"]).abs().max())
    hl["computed_not_run"] = True
    hl["version"] = ("transformers main: unpad int(round(x, 7)) since PR #34522, padding (p, p + r); "
                     "select_best_resolution as v4.44.2 with pinpoints read as (h, w)")
    hl["same_token_layout_as_nx"] = hl["n_image_tokens"] == n_img and hl["hr_grid_rows_cols"] == [hr_rows, hr_cols]
    info = {"nx": plan, "hf_v4_44_2_plain": plain, "hf_latest_computed": hl, "checks": checks,
            "prompt": {"text": prompt, "pre": pre, "post": post, "cont": cont}}
    return {k: v.detach() for k, v in t.items()}, info, canvas, base


# ------------------------------------------------------------------------------------------------ GGUF


def run_converter(a, script, args, cwd):
    """A llama.cpp converter as a script (through golden_shim/run_script.py: torch 1.13 lacks two float8 dtype names
    the pinned converter tabulates), with the shim, transformers and gguf-py importable."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(SHIM), a.transformers_src, a.gguf_py])
    r = subprocess.run([sys.executable, str(SHIM / "run_script.py"), str(script)] + args, cwd=cwd, env=env,
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{script} failed ({r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    return r.stdout + "\n--- stderr ---\n" + r.stderr


def make_ggufs(a, ctx, folder_files, tokenizer_path, vit_config, work, name):
    """The two GGUFs through llama.cpp's own converters, as the public golden's README lists them."""
    lc = Path(a.llama_cpp)
    model = build_model(ctx["tf"], ctx["hf"], ctx["W"], False)
    mdir = Path(work) / name
    model.save_pretrained(str(mdir), safe_serialization=True)
    logs = {"surgery": run_converter(a, lc / "tools/mtmd/legacy-models/llava_surgery_v2.py", ["-C", "-m", name], work)}
    vit = Path(work) / "vit"
    vit.mkdir()
    shutil.copyfile(mdir / "llava.clip", vit / "pytorch_model.bin")
    shutil.copyfile(mdir / "llava.projector", vit / "llava.projector")
    json.dump(vit_config, open(vit / "config.json", "w"), indent=1)
    logs["mmproj-f32"] = run_converter(
        a, lc / "tools/mtmd/legacy-models/convert_image_encoder_to_gguf.py",
        ["-m", "vit", "--llava-projector", "vit/llava.projector", "--output-dir", "mmproj-f32",
         "--clip-model-is-vision", "--use-f32"], work)
    ldir = Path(work) / (name + "-llm")
    model.language_model.save_pretrained(str(ldir), safe_serialization=True)
    shutil.copyfile(tokenizer_path, ldir / "tokenizer.model")
    # what a LlamaTokenizer(legacy=True) would save beside it: the converter reads add_bos/add_eos from here
    json.dump({"add_bos_token": True, "add_eos_token": False, "legacy": True, "tokenizer_class": "LlamaTokenizer"},
              open(ldir / "tokenizer_config.json", "w"), indent=1)
    out_text = Path(work) / folder_files["text_f32"]
    logs["text-f32"] = run_converter(a, lc / "convert_hf_to_gguf.py",
                                     [str(ldir), "--outfile", str(out_text), "--outtype", "f32"], work)
    out_mm = Path(work) / folder_files["mmproj_f32"]
    shutil.move(str(Path(work) / "mmproj-f32" / "mmproj-model-f32.gguf"), out_mm)
    return out_text, out_mm, logs


def gguf_compare(gguf, mine, theirs):
    ra, rb = gguf.GGUFReader(mine), gguf.GGUFReader(theirs)
    diffs = []
    if list(ra.fields) != list(rb.fields):
        diffs.append(f"keys {list(ra.fields)} vs {list(rb.fields)}")
    for k in ra.fields:
        if k in rb.fields and [bytes(x) for x in ra.fields[k].parts] != [bytes(x) for x in rb.fields[k].parts]:
            diffs.append(f"key {k}")
    tb = {t.name: t for t in rb.tensors}
    if [t.name for t in ra.tensors] != [t.name for t in rb.tensors]:
        diffs.append("tensor names/order")
    for t in ra.tensors:
        u = tb.get(t.name)
        if u is not None and (t.tensor_type != u.tensor_type or np.asarray(t.data).tobytes() != np.asarray(u.data).tobytes()):
            diffs.append(f"tensor {t.name}")
    return diffs, open(mine, "rb").read() == open(theirs, "rb").read()


def gguf_summary(gguf, path):
    r = gguf.GGUFReader(path)
    kv = {}
    for k, f in r.fields.items():
        if k.startswith("GGUF.") or k in ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"):
            continue
        v = f.contents()
        kv[k] = f"[{len(v)} values]" if isinstance(v, list) and len(v) > 8 else v
    return {"kv": kv, "tensors": {t.name: {"shape_ne": [int(x) for x in t.shape], "type": t.tensor_type.name}
                                  for t in r.tensors}}


# ------------------------------------------------------------------------------------------------ check


def load_ctx(a, folder, tf, nx, conv):
    cases = json.load(open(folder / "cases.json"))
    hf_cfg = json.load(open(folder / "hf_config.json"))
    pre_cfg = json.load(open(folder / "preprocessor_config.json"))
    W = safetensors_io.load(folder / cases["weights_file"]["file"])
    ctx = {"tf": tf, "nx": nx, "conv": conv, "W": W, "hf": hf_cfg, "pre": pre_cfg,
           "tok": SPLlamaTokenizer(folder / cases["tokenizer"]["file"]),
           "question": cases["config"]["question"], "continuation": cases["config"]["continuation"]}
    T = hf_cfg["vision_config"]["image_size"]
    ctx["nxproc"] = nx_processor(tf, T)
    ctx["hfproc"] = hf_processor(tf, pre_cfg)
    ctx["model"] = build_model(tf, hf_cfg, W, True)
    ctx["rec"] = Recorder(ctx["model"])
    ctx["model_hf"] = build_model(tf, hf_cfg, W, False)
    ctx["rec_hf"] = Recorder(ctx["model_hf"])
    return cases, ctx


def compare_value(path, got, want, ok_list, rel=1e-12):
    """JSON facts: exact for ints/strings/bools, `rel` relative for floats (1e-12: the plan's doubles; measured
    differences between float32 runs get 1e-5)."""
    if isinstance(want, dict):
        for k in want:
            if k in got:
                compare_value(f"{path}.{k}", got[k], want[k], ok_list, rel)
        return
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        for i, (x, y) in enumerate(zip(got, want)):
            compare_value(f"{path}[{i}]", x, y, ok_list, rel)
        return
    if isinstance(want, float) or isinstance(got, float):
        good = isinstance(got, (int, float)) and abs(got - want) <= rel * max(1.0, abs(want))
    else:
        good = got == want
    if not good:
        ok_list.append(f"{path}: {got} vs {want}")


def check(a):
    tf, nx, conv, hashes = import_sources(a)
    folder = Path(a.folder)
    cases, ctx = load_ctx(a, folder, tf, nx, conv)
    ok = True
    want_h = cases["reference"]["llava_next_original"]["function_sha256_16"]
    good = hashes == want_h
    print(f"{'ok  ' if good else 'DIFF'} NX function sources sha256 {'= the folder' if good else hashes}")
    tsrc = Path(a.transformers_src) / "transformers"
    for f, h in cases["reference"]["transformers"].get("file_sha256_16", {}).items():
        mine = hashlib.sha256((tsrc / f).read_bytes()).hexdigest()[:16]
        print(f"{'ok  ' if mine == h else 'DIFF'} transformers {f} sha256 {mine}{'' if mine == h else ' vs ' + h}")
    ref = safetensors_io.load(folder / "cases.safetensors")
    seen = set()
    worst = {}
    for c, cj in cases["cases"].items():
        img = Image.open(folder / cj["image"]["file"]).convert("RGB")
        t, info, canvas, base = compute_case(ctx, c, img)
        bad = []
        compare_value(f"{c}.nx", info["nx"], cj["nx"], bad)
        compare_value(f"{c}.hf_v4_44_2_plain", info["hf_v4_44_2_plain"], cj["hf_v4_44_2_plain"], bad, 1e-5)
        compare_value(f"{c}.hf_latest_computed", {k: v for k, v in info["hf_latest_computed"].items() if k != "version"},
                      {k: v for k, v in cj["hf_latest_computed"].items() if k != "version"}, bad)
        pr = cj["prompt"]
        compare_value(f"{c}.prompt", {"text": info["prompt"]["text"], "prompt_ids_pre": info["prompt"]["pre"],
                                      "prompt_ids_post": info["prompt"]["post"],
                                      "continuation_ids": info["prompt"]["cont"]},
                      {k: pr[k] for k in ("text", "prompt_ids_pre", "prompt_ids_post", "continuation_ids")}, bad)
        compare_value(f"{c}.checks.nx_pack_vs_hf_pack_max_abs", info["checks"]["nx_pack_vs_hf_pack_max_abs"], 0.0, bad)
        for what, im in (("nx_canvas_png", canvas), ("nx_base_png", base)):
            f = cj["image"][what].split(" ")[0]
            d = int(np.abs(np.asarray(im, np.int32) - np.asarray(Image.open(folder / f).convert("RGB"), np.int32)).max())
            if d != 0:
                bad.append(f"{f}: max abs {d} grey levels")
        print(f"{'ok  ' if not bad else 'FAIL'} {c}: plan, prompt ids, canvas/base PNGs, HF facts"
              f"{'' if not bad else ': ' + '; '.join(bad[:6])}")
        ok &= not bad
        for k, v in sorted(t.items()):
            key = f"{c}.{k}"
            seen.add(key)
            if key not in ref:
                print(f"FAIL {key}: not in the folder")
                ok = False
                continue
            w = ref[key]
            g = v.numpy()
            if g.shape != w.shape:
                print(f"FAIL {key}: shape {list(g.shape)} vs {list(w.shape)}")
                ok = False
                continue
            if w.dtype.kind == "i":
                good = np.array_equal(g, w)
                print(f"{'ok  ' if good else 'FAIL'} {key:36s} {'exact' if good else 'DIFFERS'}")
            else:
                err = float(np.abs(g.astype(np.float64) - w).max())
                base_k = k.split(".")[-1]
                tol = CHECK_TOL["hf"] if k.startswith("hf.") else CHECK_TOL.get(
                    base_k, CHECK_TOL["map"] if base_k.startswith("map_") else CHECK_TOL["greedy_attn"])
                good = err <= tol
                worst[base_k if not k.startswith("hf.") else k] = max(worst.get(k, 0.0), err)
                print(f"{'ok  ' if good else 'FAIL'} {key:36s} max_abs {err:.3e} (tol {tol:.0e})")
            ok &= good
    extra = sorted(set(ref) - seen)
    if extra:
        print(f"FAIL tensors in the folder that the reference did not produce: {extra}")
        ok = False
    if not a.skip_gguf:
        import gguf
        with tempfile.TemporaryDirectory() as td:
            files = cases["gguf"]["files"]
            vit_cfg = json.load(open(folder / "vit_config.json"))
            out_text, out_mm, _ = make_ggufs(a, ctx, files, folder / cases["tokenizer"]["file"], vit_cfg, td,
                                             cases["config"]["name"])
            for mine, theirs in ((out_text, files["text_f32"]), (out_mm, files["mmproj_f32"])):
                diffs, same = gguf_compare(gguf, str(mine), str(folder / theirs))
                print(f"{'ok  ' if not diffs else 'FAIL'} llama.cpp converters -> {theirs}: "
                      f"{'byte-identical' if same else ('same keys/tensors/values' if not diffs else diffs[:6])}")
                ok &= not diffs
    print("max abs per tensor kind:", json.dumps({k: float(f"{v:.3g}") for k, v in sorted(worst.items())}))
    print("check:", "PASS" if ok else "FAIL")
    return ok


# ------------------------------------------------------------------------------------------------ make


def make_weights(model, seed):
    """Random weights in the model's own state_dict order: torch.Generator().manual_seed(seed) normal draws, scaled
    so that attention is peaked (linear 1/sqrt(fan_in), q/k 1.3x, lm_head 2x; norms 1 + 0.1 n; biases 0.1 n;
    token embeddings and image_newline 1.0; CLIP class 0.5, positions 0.3), each cast to float16 (lossless in F16)."""
    gen = torch.Generator().manual_seed(seed)
    W = {}
    for k, v in model.state_dict().items():
        n = torch.randn(*v.shape, generator=gen)
        if k.endswith("norm.weight") or "layer_norm" in k and k.endswith(".weight") or "layrnorm.weight" in k:
            x = 1.0 + 0.1 * n
        elif k.endswith(".bias"):
            x = 0.1 * n
        elif k.endswith("embed_tokens.weight") or k == "image_newline":
            x = n
        elif k.endswith("class_embedding"):
            x = 0.5 * n
        elif k.endswith("position_embedding.weight"):
            x = 0.3 * n
        elif k.endswith("patch_embedding.weight"):
            x = n / math.sqrt(v[0].numel())
        else:
            s = 1.3 if ("q_proj" in k or "k_proj" in k) else (2.0 if "lm_head" in k else 1.0)
            x = s * n / math.sqrt(v.shape[1])
        W[k] = x.to(torch.float16).numpy()
    return W


def draw_image(w, h, seed):
    """A synthetic picture: a gradient background, a few filled shapes, random dots (deterministic)."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    bg = np.stack([200 + 30 * xx / w, 190 + 40 * yy / h, 170 + 20 * (xx + yy) / (w + h)], -1)
    img = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    d.ellipse([w * 0.15, h * 0.1, w * 0.55, h * 0.6], fill=(40, 160, 60))
    d.polygon([(w * 0.55, h * 0.55), (w * 0.9, h * 0.55), (w * 0.72, h * 0.9)], fill=(230, 200, 30))
    d.rectangle([w * 0.1, h * 0.6, w * 0.4, h * 0.85], fill=(30, 60, 200))
    for _ in range(10):
        x, y, r = rng.randint(0, w), rng.randint(0, h), rng.randint(2, 8)
        d.ellipse([x - r, y - r, x + r, y + r], fill=tuple(int(v) for v in rng.randint(0, 255, 3)))
    return img


def sha(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()


def why_of(name, plan, hfp, hl):
    cols, rows = plan["tile_grid_cols_rows"]
    u = plan["unpad"]
    out = [f"{cols} col(s) x {rows} row(s) grid"]
    if u["value_before_int"] != u["int_value"] and abs(u["value_before_int"] - round(u["value_before_int"])) < 1e-9:
        out.append(f"unpad float trap: NX int({u['value_before_int']!r}) = {u['int_value']} -> "
                   f"{plan['hr_grid_rows_cols']} kept; HF main int(round(x, 7)) -> {hl['hr_grid_rows_cols']}")
    if hfp["tile_grid_cols_rows"] != plan["tile_grid_cols_rows"]:
        W, H = plan["base_grid_original_pixel_rect_xyxy"][2:]
        T = plan["best_resolution_wh"][0] // cols
        tie = (f"best-resolution tie (the image fits one {T}px tile: every candidate keeps all of it); NX keeps the "
               f"first" if W <= T and H <= T else "NX picks")
        out.append(f"{tie} candidate {plan['best_resolution_wh']} (w, h); HF v4.44.2 reads the same list as (h, w) "
                   f"and picks {hfp['best_resolution_wh']} (w, h)")
    pad = plan["pad_left_top_right_bottom"]
    if pad[0] != pad[2] or pad[1] != pad[3]:
        out.append(f"odd padding {pad} (NX puts the extra pixel bottom/right)")
    return "; ".join(out)


def make(a):
    tf, nx, conv, hashes = import_sources(a)
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    pub = Path(a.public)
    pub_cases = json.load(open(pub / "cases.json"))
    shutil.copyfile(pub / "tokenizer.model", out / "tokenizer.model")
    tok = SPLlamaTokenizer(out / "tokenizer.model")
    vocab = tok.sp.vocab_size()
    pinpoints = [[int(x) for x in p.split("x")] for p in a.pinpoints.split(",")]
    T, patch = a.tile, a.patch
    if T % patch or any(x % T for p in pinpoints for x in p):
        sys.exit("--tile must be a multiple of --patch and every pinpoint a multiple of --tile")
    g = T // patch
    config = tf.LlavaNextConfig(
        text_config={"model_type": "llama", "hidden_size": a.t_hidden, "intermediate_size": a.t_inter,
                     "num_attention_heads": a.t_heads, "num_key_value_heads": a.t_kv_heads,
                     "num_hidden_layers": a.t_layers, "vocab_size": vocab, "max_position_embeddings": 2048,
                     "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "bos_token_id": 1, "eos_token_id": 2,
                     "tie_word_embeddings": False},
        vision_config={"model_type": "clip_vision_model", "hidden_size": a.v_hidden, "intermediate_size": a.v_inter,
                       "num_attention_heads": a.v_heads, "num_hidden_layers": a.v_layers, "image_size": T,
                       "patch_size": patch, "projection_dim": a.t_hidden, "hidden_act": "quick_gelu",
                       "layer_norm_eps": 1e-05},
        image_grid_pinpoints=pinpoints, image_token_index=vocab, vision_feature_layer=-2,
        vision_feature_select_strategy="default", projector_hidden_act="gelu", tie_word_embeddings=False)
    hf_cfg = config.to_dict()
    json.dump(hf_cfg, open(out / "hf_config.json", "w"), indent=1)
    W = make_weights(tf.LlavaNextForConditionalGeneration(config), a.seed)
    wfile = f"{a.name}.safetensors"
    safetensors_io.save(out / wfile, W)
    pre_cfg = json.load(open(pub / "preprocessor_config.json"))
    pre_cfg.update({"crop_size": {"height": T, "width": T}, "size": {"shortest_edge": T},
                    "image_grid_pinpoints": pinpoints})
    json.dump(pre_cfg, open(out / "preprocessor_config.json", "w"), indent=2)
    vit_cfg = json.load(open(pub / "vit_config.json"))
    vit_cfg.update({"_name_or_path": a.name + "-vit", "hidden_size": a.v_hidden, "image_size": T,
                    "intermediate_size": a.v_inter, "num_attention_heads": a.v_heads,
                    "num_hidden_layers": a.v_layers, "patch_size": patch, "projection_dim": a.t_hidden,
                    "image_grid_pinpoints": pinpoints, "image_crop_resolution": T, "image_split_resolution": T})
    json.dump(vit_cfg, open(out / "vit_config.json", "w"), indent=1)

    ctx = {"tf": tf, "nx": nx, "conv": conv, "W": W, "hf": hf_cfg, "pre": pre_cfg, "tok": tok,
           "question": a.question, "continuation": a.continuation, "nxproc": nx_processor(tf, T),
           "hfproc": hf_processor(tf, pre_cfg)}
    ctx["model"] = build_model(tf, hf_cfg, W, True)
    ctx["rec"] = Recorder(ctx["model"])
    ctx["model_hf"] = build_model(tf, hf_cfg, W, False)
    ctx["rec_hf"] = Recorder(ctx["model_hf"])

    tensors, cases_j = {}, {}
    images = [(n, *[int(x) for x in wh.split("x")]) for n, wh in (s.split(":") for s in a.images.split(","))]
    for name, w, h in images:
        img = draw_image(w, h, a.seed + w * 7 + h)
        img.save(out / f"image_{name}.png")
        t, info, canvas, base = compute_case(ctx, name, img)
        canvas.save(out / f"canvas_{name}.png")
        base.save(out / f"base_{name}.png")
        for k, v in t.items():
            tensors[f"{name}.{k}"] = v.numpy()
        pr = info["prompt"]
        P = len(pr["pre"]) + info["nx"]["n_image_tokens"] + len(pr["post"])
        K = len(pr["cont"])
        why = why_of(name, info["nx"], info["hf_v4_44_2_plain"], info["hf_latest_computed"])
        cases_j[name] = {
            "image": {"file": f"image_{name}.png", "size_wh": [w, h], "why": why,
                      "nx_canvas_png": f"canvas_{name}.png (best-resolution canvas: resized + black padding, uint8)",
                      "nx_base_png": f"base_{name}.png (image.resize((T, T)) squash = tile 0 before normalisation)"},
            "nx": info["nx"],
            "prompt": {"text": pr["text"], "text_before_image": pr["text"].split("<image>")[0],
                       "text_after_image": pr["text"].split("<image>")[1], "prompt_ids_pre": pr["pre"],
                       "pre_pieces": [tok.sp.IdToPiece(i) for i in pr["pre"]], "prompt_ids_post": pr["post"],
                       "post_pieces": [tok.sp.IdToPiece(i) for i in pr["post"]], "continuation_ids": pr["cont"],
                       "continuation_pieces": [tok.sp.IdToPiece(i) for i in pr["cont"]],
                       "image_start": len(pr["pre"]), "n_image_tokens": info["nx"]["n_image_tokens"],
                       "prompt_len_P": P, "K": K, "query_rows": list(range(P - 1, P - 1 + K)),
                       "greedy_ids": t["greedy_ids"].tolist()},
            "hf_v4_44_2_plain": info["hf_v4_44_2_plain"], "hf_latest_computed": info["hf_latest_computed"],
            "checks": info["checks"]}
        print(f"{name} {w}x{h}: {why}; {info['nx']['n_image_tokens']} image tokens, P={P}; plain HF "
              f"{info['hf_v4_44_2_plain']['n_image_tokens']}, HF main {info['hf_latest_computed']['n_image_tokens']}")
    safetensors_io.save(out / "cases.safetensors", tensors)

    files = {"text_f32": f"{a.name}-f32.gguf", "mmproj_f32": f"mmproj-{a.name}-f32.gguf"}
    import gguf
    with tempfile.TemporaryDirectory() as td:
        out_text, out_mm, logs = make_ggufs(a, ctx, files, out / "tokenizer.model", vit_cfg, td, a.name)
        shutil.copyfile(out_text, out / files["text_f32"])
        shutil.copyfile(out_mm, out / files["mmproj_f32"])

    cases = copy.deepcopy(pub_cases)
    cases["description"] = ("Tiny random LLaVA-NeXT goldens with other shapes than tests/golden/llava-next (same "
                            "format): transformers v4.44.2 LlavaNext run with the original LLaVA-NeXT repo's grid "
                            "semantics, plain-HF answers beside them where they differ.")
    opts = {k: v for k, v in vars(a).items() if k not in ("cmd", "out", "public", "transformers_src", "llava_next_src",
                                                           "llama_cpp", "gguf_py", "skip_gguf")}
    cases["generator"] = ("scripts/llava-next-golden.py make <out> " +
                          " ".join(f"--{k.replace('_', '-')} '{v}'" for k, v in sorted(opts.items())))
    cases["preset"] = "variant"
    cases["config"] = {"seed": a.seed, "name": a.name, "tile": T, "patch": patch, "v_hidden": a.v_hidden,
                       "v_heads": a.v_heads, "v_layers": a.v_layers, "v_inter": a.v_inter, "t_hidden": a.t_hidden,
                       "t_heads": a.t_heads, "t_kv_heads": a.t_kv_heads, "t_layers": a.t_layers,
                       "t_inter": a.t_inter, "vocab": vocab, "pinpoints": pinpoints,
                       "images": [[n, w, h, cases_j[n]["image"]["why"]] for n, w, h in images],
                       "question": a.question, "continuation": a.continuation}
    ref = cases["reference"]
    ref["transformers"]["run_from"] = ("source (git archive v4.44.2 src/transformers, on sys.path); no source file "
                                       "patched; scripts/golden_shim stands in for huggingface_hub, safetensors and "
                                       "tokenizers")
    tsrc = Path(a.transformers_src) / "transformers"
    ref["transformers"]["file_sha256_16"] = {
        f: hashlib.sha256((tsrc / f).read_bytes()).hexdigest()[:16]
        for f in ("models/llava_next/modeling_llava_next.py", "models/llava_next/image_processing_llava_next.py",
                  "models/clip/modeling_clip.py", "models/clip/image_processing_clip.py",
                  "models/llama/modeling_llama.py", "image_processing_utils.py", "image_transforms.py")}
    ref["llava_next_original"]["commit"] = git_head(a.llava_next_src)
    ref["llava_next_original"]["function_sha256_16"] = hashes
    ref["torch"] = torch.__version__
    mv = cases["model"]
    mv["vision"].update({"image_size": T, "patch_size": patch, "grid_per_tile": [g, g], "hidden": a.v_hidden,
                         "heads": a.v_heads, "layers": a.v_layers, "intermediate": a.v_inter,
                         "positions": g * g + 1})
    mv["projector"].update({"in": a.v_hidden, "out": a.t_hidden})
    mv["image_newline"] = f"[{a.t_hidden}] parameter 'image_newline' (GGUF: see gguf.summaries)"
    mv["text"].update({"hidden": a.t_hidden, "heads": a.t_heads, "kv_heads": a.t_kv_heads,
                       "head_dim": a.t_hidden // a.t_heads, "layers": a.t_layers, "intermediate": a.t_inter,
                       "vocab": vocab})
    mv["anyres"].update({"image_grid_pinpoints_wh_nx": pinpoints, "tile": T, "hf_image_token_index": vocab})
    mv["weights"] = make_weights.__doc__.split("\n")[0] + " (scripts/llava-next-golden.py make_weights)"
    cases["template"]["question"] = a.question
    cases["template"]["continuation"] = a.continuation
    cases["cases"] = cases_j
    for k in list(cases["tensors"]):
        cases["tensors"][k] = (cases["tensors"][k].replace("112", "T").replace("[1+n_tiles, 64, 64]",
                                                                               f"[1+n_tiles, {g * g}, {a.v_hidden}]")
                               .replace("64 rows", f"{g * g} rows").replace("[:64]", f"[:{g * g}]").replace("N_img = 64", f"N_img = {g * g}")
                               .replace("[N_img, 96]", f"[N_img, {a.t_hidden}]")
                               .replace("[P+K, 96]", f"[P+K, {a.t_hidden}]")
                               .replace("[K, 768]", f"[K, {vocab}]")
                               .replace("[K, 3, 4, N_img]", f"[K, {a.t_layers}, {a.t_heads}, N_img]")
                               .replace("H-2 = 2", f"H-2 = {a.t_heads - 2}")
                               .replace("[K, 8, 8]", f"[K, {g}, {g}]").replace("first 64", f"first {g * g}")
                               .replace("encoder layer 2 0-based", f"encoder layer {a.v_layers - 2} 0-based"))
    cases["suggested_tolerances"]["how"] = ("copied from tests/golden/llava-next; this folder's own float64 run was "
                                            "not made")
    cases["weights_file"]["file"] = wfile
    import gguf as _g  # noqa: F811
    cases["gguf"]["files"] = files
    cases["gguf"]["commands"] = [c.replace("llava-next-tiny", a.name) for c in cases["gguf"]["commands"]]
    cases["gguf"]["commands"] = [c.replace("python3 tools/golden/shim_hf/run_with_shim.py",
                                           "python3 scripts/golden_shim/run_script.py") for c in cases["gguf"]["commands"]]
    cases["gguf"]["summaries"] = {f: gguf_summary(_g, str(out / f)) for f in files.values()}
    cases["converter_logs_tail"] = {k: v[-2000:].replace(str(Path(td)), "<work>") for k, v in logs.items()}
    cases["llama_cpp"] = {"tree": "third_party/llama.cpp of groundlmm", "commit": git_head(a.llama_cpp)}
    names = sorted(p.name for p in out.iterdir() if p.is_file() and p.name not in ("cases.json", "README.md"))
    cases["files"] = {f: {"bytes": os.path.getsize(out / f), "sha256": sha(out / f)} for f in names}
    json.dump(cases, open(out / "cases.json", "w"), indent=1)
    tot = sum(v["bytes"] for v in cases["files"].values())
    print(f"{out}: {len(images)} cases, {tot / 1e6:.2f} MB")


def f32_mmproj(a):
    """<out>: symlinks to every file of <folder> but the mmproj, which is rewritten with F16 tensors as F32."""
    sys.path.insert(0, a.gguf_py)
    import gguf
    folder, out = Path(a.folder).resolve(), Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    mm = json.load(open(folder / "cases.json"))["gguf"]["files"]["mmproj_f32"]
    for f in folder.iterdir():
        if f.name != mm and not (out / f.name).exists():
            (out / f.name).symlink_to(f)
    r = gguf.GGUFReader(str(folder / mm))
    w = gguf.GGUFWriter(str(out / mm), r.fields["general.architecture"].contents())
    for k, f in r.fields.items():
        if k.startswith("GGUF.") or k == "general.architecture":
            continue
        if f.types[0] == gguf.GGUFValueType.ARRAY:
            w.add_key_value(k, f.contents(), f.types[0], sub_type=f.types[-1])
        else:
            w.add_key_value(k, f.contents(), f.types[0])
    n = 0
    for t in r.tensors:
        x = np.asarray(t.data)
        if t.tensor_type == gguf.GGMLQuantizationType.F16:
            x, n = x.astype(np.float32), n + 1
        w.add_tensor(t.name, np.ascontiguousarray(x.reshape([int(d) for d in reversed(t.shape)])))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    print(f"{out / mm}: {n} F16 tensors written as F32")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--transformers-src", help="src folder of transformers v4.44.2 (check, make)")
    ap.add_argument("--llava-next-src", help="checkout of LLaVA-VL/LLaVA-NeXT (check, make)")
    ap.add_argument("--llama-cpp", default=str(ROOT / "third_party/llama.cpp"))
    ap.add_argument("--skip-gguf", action="store_true", help="do not run llama.cpp's converters")
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("folder")
    m = sub.add_parser("make")
    m.add_argument("out")
    m.add_argument("--public", default=str(ROOT / "tests/golden/llava-next"),
                   help="folder whose tokenizer.model and cases.json layout are reused")
    m.add_argument("--name", default="llava-next-var")
    m.add_argument("--seed", type=int, default=3)
    m.add_argument("--tile", type=int, default=84)
    m.add_argument("--patch", type=int, default=14)
    m.add_argument("--pinpoints", default="84x168,168x84,168x252,252x84,168x168,84x252",
                   help="(w)x(h) in the original repository's order")
    m.add_argument("--v-hidden", type=int, default=48)
    m.add_argument("--v-heads", type=int, default=3)
    m.add_argument("--v-layers", type=int, default=3)
    m.add_argument("--v-inter", type=int, default=128)
    m.add_argument("--t-hidden", type=int, default=80)
    m.add_argument("--t-heads", type=int, default=5)
    m.add_argument("--t-kv-heads", type=int, default=1)
    m.add_argument("--t-layers", type=int, default=2)
    m.add_argument("--t-inter", type=int, default=192)
    m.add_argument("--images", default="landscape:564x94,portrait:160x270,small:56x42",
                   help="name:WxH,... (each drawn synthetically with the seed)")
    m.add_argument("--question", default="What is in the picture?")
    m.add_argument("--continuation", default="A green circle above a yellow triangle and a blue square.")
    f = sub.add_parser("f32-mmproj")
    f.add_argument("folder")
    f.add_argument("out")
    a = ap.parse_args()
    a.gguf_py = str(Path(a.llama_cpp) / "gguf-py")
    if a.cmd == "f32-mmproj":
        return f32_mmproj(a)
    if not a.transformers_src or not a.llava_next_src:
        ap.error(f"{a.cmd} needs --transformers-src and --llava-next-src")
    if a.cmd == "check":
        sys.exit(0 if check(a) else 1)
    make(a)


if __name__ == "__main__":
    main()
