#!/usr/bin/env python3
"""The Hugging Face reference (transformers v4.50.0 from source, run offline under Debian's torch 1.13 through
scripts/golden_shim450) for the Qwen2.5-VL golden folders (tests/golden/qwen25vl and its variant), and a writer of
new folders of the same format.

  check <folder> --transformers-src S [--llama-cpp L]
        recompute every tensor of <folder>/cases.safetensors with Qwen2_5_VLForConditionalGeneration (eager attention,
        output_attentions), Qwen2VLImageProcessor, Qwen2Tokenizer and get_rope_index from the folder's weights,
        config, tokenizer files and images, and compare (max abs per tensor; ids, grids and positions exact); the
        resized_<case>.png files, the llama.cpp size/letterbox records in cases.json (llama_cpp_mtmd), and with
        --llama-cpp the two GGUFs re-made by llama.cpp's own convert_hf_to_gguf.py (byte comparison).
  make <out> --transformers-src S --llama-cpp L [--like FOLDER] [shape options] [--image NAME:WxH ...]
        a new folder: random f16-representable weights of the given shapes (seed), synthetic images, the tokenizer,
        processor settings, prompt and continuation of --like (default tests/golden/qwen25vl), every tensor from
        the reference, the GGUFs from the converter (scripts/golden_shim450/run_converter.py), cases.json.

S is the src/ folder of a transformers v4.50.0 tree (e.g. `git archive 4ce414de0cf4 src/transformers` of the stored
repository shenlongbin/transformers_4_50_0_shopee_album); L the pinned llama.cpp tree (third_party/llama.cpp).
Nothing fetched is copied here: the reference classes are imported from S.
"""
import argparse
import copy
import datetime
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
from PIL import Image, ImageDraw

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import golden_shim450  # noqa: E402
import safetensors_io  # noqa: E402

ROOT = os.path.dirname(HERE)
N_GREEDY = 8
TOK_FILES = ["vocab.json", "merges.txt", "tokenizer_config.json", "special_tokens_map.json"]


# ------------------------------------------------------------------------------------------ llama.cpp emulation


def f32(x):
    return np.float32(x)


def round_away(x):
    """std::round: ties away from zero."""
    return math.floor(abs(float(x)) + 0.5) * (1 if x >= 0 else -1)


def mtmd_size(W, H, align, min_pixels, max_pixels):
    """tools/mtmd/mtmd-image.cpp img_tool::calc_size_preserved_ratio (longest_edge 0), float32 like the C++.
    Returns (w, h, branch)."""
    fa = f32(align)
    w_bar = max(align, int(round_away(f32(W) / fa)) * align)
    h_bar = max(align, int(round_away(f32(H) / fa)) * align)
    branch = "round"
    if max_pixels > 0 and h_bar * w_bar > max_pixels:
        beta = f32(np.sqrt(f32(H) * f32(W) / f32(max_pixels)))
        h_bar = max(align, int(math.floor(f32(f32(H) / beta) / fa)) * align)
        w_bar = max(align, int(math.floor(f32(f32(W) / beta) / fa)) * align)
        branch = "max_pixels"
    elif min_pixels > 0 and h_bar * w_bar < min_pixels:
        beta = f32(np.sqrt(f32(min_pixels) / (f32(H) * f32(W))))
        h_bar = int(math.ceil(f32(f32(H) * beta) / fa)) * align
        w_bar = int(math.ceil(f32(f32(W) * beta) / fa)) * align
        branch = "min_pixels"
    return w_bar, h_bar, branch


def mtmd_letterbox(W, H, tw, th):
    """img_tool::resize with PAD_CEIL: aspect-kept size (float32 ceil), centred on a black canvas."""
    if (W, H) == (tw, th):
        return {"scaled_wh": [tw, th], "offset_xy": [0, 0], "content_rect_xyxy": [0, 0, tw, th], "padded": False}
    scale = min(f32(tw) / f32(W), f32(th) / f32(H))
    nw = min(int(math.ceil(f32(f32(W) * scale))), tw)
    nh = min(int(math.ceil(f32(f32(H) * scale))), th)
    ox, oy = (tw - nw) // 2, (th - nh) // 2
    return {"scaled_wh": [nw, nh], "offset_xy": [ox, oy], "content_rect_xyxy": [ox, oy, ox + nw, oy + nh],
            "padded": (nw, nh) != (tw, th)}


def hf_smart_resize_branch(H, W, factor, min_pixels, max_pixels):
    h = round(H / factor) * factor
    w = round(W / factor) * factor
    if h * w > max_pixels:
        return "max_pixels"
    if h * w < min_pixels:
        return "min_pixels"
    return "round"


def llama_cpp_record(W, H, hf_wh, merge, patch, min_pixels, max_pixels):
    align = merge * patch
    w, h, branch = mtmd_size(W, H, align, min_pixels, max_pixels)
    lb = mtmd_letterbox(W, H, w, h)
    agree = [w, h] == list(hf_wh)
    return {
        "code": "tools/mtmd/mtmd-image.cpp img_tool::calc_size_preserved_ratio via mtmd_image_preprocessor_dyn_size "
                "(align 28, min 8 tokens, max 4096 tokens unless --image-min-tokens/--image-max-tokens); float32, "
                "std::round (ties away from zero), bicubic resize (clip.cpp RESIZE_ALGO_BICUBIC)",
        "needs_flag": None, "branch": branch, "resized_wh": [w, h], "merged_grid_hw": [h // align, w // align],
        "image_tokens": (h // align) * (w // align), "agrees_with_hf": agree, "letterbox": lb,
        "pixels_agree_with_hf": agree and not lb["padded"],
        "note": "HF stretches the image to the smart_resize size; mtmd keeps the aspect ratio and pads with black "
                "(PAD_CEIL), so a case agrees pixel for pixel only when the size agrees and nothing is padded. On a "
                "padded canvas the merged grid covers the padding too: map cells to the original image through "
                "letterbox.content_rect_xyxy"}


# ------------------------------------------------------------------------------------------------- reference


class Reference:
    """The HF classes of one folder: model (float32, eager), image processor, tokenizer."""

    def __init__(self, folder, hf_config, weights):
        from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration, Qwen2Tokenizer, \
            Qwen2VLImageProcessor
        cfg = Qwen2_5_VLConfig(**copy.deepcopy(hf_config))
        self.model = Qwen2_5_VLForConditionalGeneration._from_config(cfg, attn_implementation="eager",
                                                                     torch_dtype=torch.float32).eval()
        sd = {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in weights.items()}
        missing, unexpected = self.model.load_state_dict(sd, strict=False)
        if missing or unexpected:
            sys.exit(f"{folder}: weights do not fit the config: missing {missing[:5]}, unexpected {unexpected[:5]}")
        with open(os.path.join(folder, "preprocessor_config.json")) as f:
            pp = json.load(f)
        self.pp = pp
        self.proc = Qwen2VLImageProcessor(**{k: v for k, v in pp.items()
                                             if k not in ("image_processor_type", "processor_class")})
        # the folder's vocab.json / merges.txt / tokenizer_config.json (its added_tokens_decoder fixes the special ids)
        self.tok = Qwen2Tokenizer.from_pretrained(folder)
        self.cfg = hf_config

    def image_inputs(self, img):
        out = self.proc(images=[img], return_tensors="pt")
        return out["pixel_values"].float(), out["image_grid_thw"]

    def resized_uint8(self, img, hw):
        from transformers.image_transforms import resize
        from transformers.image_utils import ChannelDimension, PILImageResampling
        a = np.array(img.convert("RGB"))
        r = resize(a, size=tuple(hw), resample=PILImageResampling(self.pp["resample"]),
                   input_data_format=ChannelDimension.LAST)
        return np.asarray(r, dtype=np.uint8)

    def forward(self, ids, pv, thw, pos):
        with torch.no_grad():
            return self.model(input_ids=ids[None], pixel_values=pv, image_grid_thw=thw, position_ids=pos,
                              output_attentions=True, use_cache=False, return_dict=True)

    def run_case(self, img, prompt_text, cont_ids):
        """Every tensor of one case, as numpy arrays under the golden's names."""
        m = self.model
        pv, thw = self.image_inputs(img)
        t, gh, gw = [int(x) for x in thw[0]]
        merge = self.cfg["vision_config"]["spatial_merge_size"]
        n = t * gh * gw // (merge * merge)
        pad = "<|image_pad|>"
        text = prompt_text.replace("{pads}", pad * n)
        prompt_ids = self.tok(text, add_special_tokens=False)["input_ids"]
        ids = torch.tensor(prompt_ids + list(cont_ids), dtype=torch.long)
        T, P = len(ids), len(prompt_ids)
        img_id = self.cfg["image_token_id"]
        img_pos = (ids == img_id).nonzero()[:, 0]
        if len(img_pos) != n:
            sys.exit(f"prompt has {len(img_pos)} image tokens, expected {n}")
        with torch.no_grad():
            vt = m.visual(pv, grid_thw=thw)
            pos, delta = m.get_rope_index(ids[None], thw, None, None, None)
        out = self.forward(ids, pv, thw, pos)
        q = torch.arange(P - 1, T - 1)
        logits = out.logits[0, q].float()
        attn = torch.stack([a[0] for a in out.attentions])  # [L, H, T, T]
        attn = attn[:, :, q][:, :, :, img_pos]
        mean = attn.mean(dim=(0, 1))
        # greedy: full recompute each step
        seq = list(prompt_ids)
        g_ids, g_margin, g_mean = [], [], []
        for _ in range(N_GREEDY):
            s = torch.tensor(seq, dtype=torch.long)
            with torch.no_grad():
                ps, _ = m.get_rope_index(s[None], thw, None, None, None)
            o = self.forward(s, pv, thw, ps)
            lg = o.logits[0, -1].float()
            top = torch.topk(lg, 2)
            g_ids.append(int(top.indices[0]))
            g_margin.append(float(top.values[0] - top.values[1]))
            a = torch.stack([x[0] for x in o.attentions])[:, :, -1][:, :, img_pos]
            g_mean.append(a.mean(dim=(0, 1)))
            seq.append(g_ids[-1])
        mh, mw = gh // merge, gw // merge
        T_ = {
            "pixel_values": pv.numpy(), "image_grid_thw": thw[0].numpy().astype(np.int64),
            "resized_hw": np.array([gh * self.cfg["vision_config"]["patch_size"],
                                    gw * self.cfg["vision_config"]["patch_size"]], dtype=np.int64),
            "vision_tokens": vt.float().numpy(), "input_ids": ids.numpy(), "prompt_len": np.array([P]),
            "image_positions": img_pos.numpy(), "position_ids": pos[:, 0].numpy(),
            "rope_delta": delta.reshape(-1).numpy().astype(np.int64), "query_positions": q.numpy(),
            "logits": logits.numpy(), "attn": attn.float().numpy(), "attn_mean": mean.float().numpy(),
            "attn_map": mean.reshape(-1, mh, mw).float().numpy(),
            "greedy_ids": np.array(g_ids, dtype=np.int64), "greedy_top2_margin": np.array(g_margin, np.float32),
            "greedy_attn_mean": torch.stack(g_mean).float().numpy(),
        }
        return T_, text


def prompt_text(cj):
    pr = cj["prompt"]
    return pr["template"].replace("{sys}", pr["system"]).replace("{q}", pr["question"])


def load_folder(folder):
    cj = json.load(open(os.path.join(folder, "cases.json")))
    hf = json.load(open(os.path.join(folder, "hf_config.json")))
    w = safetensors_io.load(os.path.join(folder, cj["model_name"] + ".safetensors"))
    return cj, hf, w


# ------------------------------------------------------------------------------------------------ converter


def hf_dir_for(folder_or_tmp, cj, hf, weights_path, tok_src, dst_root):
    d = os.path.join(dst_root, cj["model_name"])  # the converter names the model after this folder
    os.makedirs(d, exist_ok=True)
    json.dump(hf, open(os.path.join(d, "config.json"), "w"), indent=1)
    shutil.copy(weights_path, os.path.join(d, "model.safetensors"))
    for f in TOK_FILES + ["preprocessor_config.json"]:
        shutil.copy(os.path.join(tok_src, f), os.path.join(d, f))
    return d


def convert(tsrc, llama, hf_dir, outfile, mmproj):
    cmd = [sys.executable, os.path.join(HERE, "golden_shim450", "run_converter.py"), tsrc, llama, "--pre", "qwen2",
           "--", hf_dir, "--outtype", "f32", "--outfile", outfile] + (["--mmproj"] if mmproj else [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"converter failed ({' '.join(cmd)}):\n{r.stderr[-3000:]}")
    return r.stderr.strip().splitlines()[-8:]


# ---------------------------------------------------------------------------------------------------- check


def cmd_check(a):
    golden_shim450.install(a.transformers_src)
    folder = a.folder
    cj, hf, w = load_folder(folder)
    st = safetensors_io.load(os.path.join(folder, "cases.safetensors"))
    ref = Reference(folder, hf, w)
    text = prompt_text(cj)
    cont = cj["prompt"]["continuation_ids"]
    bad = []
    report = {}
    pp = ref.pp
    for name, c in cj["cases"].items():
        img = Image.open(os.path.join(folder, c["image"])).convert("RGB")
        got, _ = ref.run_case(img, text, cont)
        rep = {}
        for k, v in got.items():
            want = st[f"{name}.{k}"]
            if want.shape != v.shape:
                bad.append(f"{name}.{k}: shape {v.shape} vs {want.shape}")
                continue
            if np.issubdtype(want.dtype, np.integer):
                ok = np.array_equal(want, v)
                rep[k] = "exact" if ok else "DIFFER"
                if not ok:
                    bad.append(f"{name}.{k}: ids/positions differ")
            else:
                d = float(np.max(np.abs(want.astype(np.float64) - v.astype(np.float64)))) if v.size else 0.0
                rep[k] = d
                if d > a.tol:
                    bad.append(f"{name}.{k}: max abs {d:.3g} > {a.tol}")
        # the resized png and the llama.cpp record
        hw = [int(x) for x in got["resized_hw"]]
        rz = ref.resized_uint8(img, hw)
        rz_file = np.array(Image.open(os.path.join(folder, c["resized_image"])).convert("RGB"))
        rep["resized_png"] = "exact" if np.array_equal(rz, rz_file) else "DIFFER"
        if rep["resized_png"] != "exact":
            bad.append(f"{name}: resized_{name}.png differs from HF's resize")
        pv2, _ = ref.image_inputs(Image.fromarray(rz_file))
        rep["repatchify_max_abs"] = float((pv2 - torch.from_numpy(st[f"{name}.pixel_values"])).abs().max())
        vis = hf["vision_config"]
        lc = llama_cpp_record(img.width, img.height, [hw[1], hw[0]], vis["spatial_merge_size"], vis["patch_size"],
                              pp["min_pixels"], pp["max_pixels"])
        for k in ("resized_wh", "merged_grid_hw", "image_tokens", "agrees_with_hf", "letterbox",
                  "pixels_agree_with_hf", "branch"):
            if lc[k] != c["llama_cpp_mtmd"][k]:
                bad.append(f"{name}: llama_cpp_mtmd.{k} {lc[k]} vs cases.json {c['llama_cpp_mtmd'][k]}")
        rep["llama_cpp_mtmd"] = "equal" if not any(b.startswith(name + ": llama_cpp") for b in bad) else "DIFFER"
        hb = hf_smart_resize_branch(img.height, img.width, 28, pp["min_pixels"], pp["max_pixels"])
        if hb != c["hf"]["smart_resize_branch"]:
            bad.append(f"{name}: HF smart_resize branch {hb} vs {c['hf']['smart_resize_branch']}")
        report[name] = rep
    if a.llama_cpp:
        with tempfile.TemporaryDirectory() as tmp:
            d = hf_dir_for(folder, cj, hf, os.path.join(folder, cj["model_name"] + ".safetensors"), folder, tmp)
            for kind, mm in (("text", False), ("mmproj", True)):
                out = os.path.join(tmp, kind + ".gguf")
                convert(a.transformers_src, a.llama_cpp, d, out, mm)
                same = open(out, "rb").read() == open(os.path.join(folder, cj["gguf"][kind]["file"]), "rb").read()
                report["gguf_" + kind] = "byte-identical" if same else "DIFFER"
                if not same:
                    bad.append(f"gguf {kind}: the converter's output differs from {cj['gguf'][kind]['file']}")
    print(json.dumps(report, indent=1))
    if bad:
        print("FAIL:\n  " + "\n  ".join(bad))
        sys.exit(1)
    print(f"OK: {folder} reproduced (float tensors within {a.tol} max abs; integer tensors exact)")


# ----------------------------------------------------------------------------------------------------- make


def random_weights(model, seed):
    """Random weights for every parameter of the model, f16-representable: matrices 1/sqrt(fan_in) (q/k/qkv 1.3x,
    so that attention is peaked), norms 1 + 0.1 n, biases 0.1 n, embeddings n."""
    g = torch.Generator().manual_seed(seed)
    W = {}
    for k, p in model.state_dict().items():
        shape = tuple(p.shape)
        n = torch.randn(*shape, generator=g)
        if "norm" in k or "ln_q" in k:
            v = 1.0 + 0.1 * n
        elif k.endswith(".bias"):
            v = 0.1 * n
        elif "embed_tokens" in k:
            v = n
        else:
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            s = 1.3 if any(x in k for x in ("q_proj", "k_proj", ".qkv.")) else 1.0
            v = s * n / math.sqrt(fan_in)
        W[k] = v.half().float()
    return W


def draw_image(w, h, seed):
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (w, h), (240, 240, 235))
    d = ImageDraw.Draw(im)
    r = max(4, min(w, h) // 5)
    cx, cy = int(w * rng.uniform(0.2, 0.45)), int(h * rng.uniform(0.3, 0.7))
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(220, 30, 30))
    sx, sy = int(w * rng.uniform(0.55, 0.8)), int(h * rng.uniform(0.3, 0.7))
    d.rectangle([sx - r, sy - r, sx + r, sy + r], fill=(30, 50, 210))
    a = np.array(im).astype(np.int16) + rng.integers(-3, 4, size=(h, w, 3))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def sha16(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()[:16]


def cmd_make(a):
    transformers = golden_shim450.install(a.transformers_src)
    like = a.like
    cj0, hf0, _ = load_folder(like)
    out = a.out
    os.makedirs(out, exist_ok=True)
    name = a.name
    hf = copy.deepcopy(hf0)
    v = hf["vision_config"]
    v.update({"depth": a.v_depth, "hidden_size": a.v_hidden, "num_heads": a.v_heads, "intermediate_size": a.v_inter,
              "window_size": a.window, "fullatt_block_indexes": a.fullatt, "out_hidden_size": a.t_hidden})
    hd = a.t_hidden // a.t_heads
    if sum(a.mrope) * 2 != hd:
        sys.exit(f"--mrope {a.mrope}: sections must sum to head_dim/2 = {hd // 2}")
    hf.update({"hidden_size": a.t_hidden, "num_attention_heads": a.t_heads, "num_key_value_heads": a.t_kv,
               "num_hidden_layers": a.t_layers, "max_window_layers": a.t_layers, "intermediate_size": a.t_inter})
    hf["rope_scaling"]["mrope_section"] = a.mrope
    for f in TOK_FILES + ["preprocessor_config.json"]:
        shutil.copy(os.path.join(like, f), os.path.join(out, f))
    json.dump(hf, open(os.path.join(out, "hf_config.json"), "w"), indent=1)
    from transformers import Qwen2_5_VLConfig, Qwen2_5_VLForConditionalGeneration
    m0 = Qwen2_5_VLForConditionalGeneration._from_config(Qwen2_5_VLConfig(**copy.deepcopy(hf)),
                                                         attn_implementation="eager", torch_dtype=torch.float32)
    W = random_weights(m0, a.seed)
    del m0
    wfile = os.path.join(out, name + ".safetensors")
    safetensors_io.save(wfile, W, dtype=np.float16)
    W = safetensors_io.load(wfile)
    ref = Reference(out, hf, W)
    cj = copy.deepcopy(cj0)
    cj["model_name"] = name
    cj["seed"] = a.seed
    cj["preset"] = "variant (scripts/qwen25vl-golden.py make)"
    cj["reference"]["generator"] = "scripts/qwen25vl-golden.py make " + " ".join(sys.argv[3:])
    cj["reference"]["runtime_standins"] = golden_shim450.STANDINS
    cj["reference"]["transformers_version"] = transformers.__version__
    cj["reference"]["made"] = datetime.date.today().isoformat()
    cj["model"]["vision"].update({"depth": a.v_depth, "hidden": a.v_hidden, "heads": a.v_heads, "inter": a.v_inter,
                                  "window_size": a.window, "fullatt_block_indexes": a.fullatt,
                                  "out_hidden": a.t_hidden})
    cj["model"]["text"].update({"hidden": a.t_hidden, "heads": a.t_heads, "kv_heads": a.t_kv, "layers": a.t_layers,
                                "inter": a.t_inter, "head_dim": hd, "mrope_section": a.mrope})
    text = prompt_text(cj)
    cont = cj["prompt"]["continuation_ids"]
    pp = ref.pp
    cases, tensors = {}, {}
    for i, spec in enumerate(a.image):
        cname, wh = spec.split(":")
        W_, H_ = [int(x) for x in wh.split("x")]
        img = draw_image(W_, H_, a.seed * 100 + i)
        img.save(os.path.join(out, f"image_{cname}.png"))
        got, _ = ref.run_case(img, text, cont)
        hw = [int(x) for x in got["resized_hw"]]
        Image.fromarray(ref.resized_uint8(img, hw)).save(os.path.join(out, f"resized_{cname}.png"))
        vis = hf["vision_config"]
        merge, patch = vis["spatial_merge_size"], vis["patch_size"]
        lc = llama_cpp_record(W_, H_, [hw[1], hw[0]], merge, patch, pp["min_pixels"], pp["max_pixels"])
        t, gh, gw = [int(x) for x in got["image_grid_thw"]]
        n = gh * gw // (merge * merge)
        P = int(got["prompt_len"][0])
        first = int(got["image_positions"][0])
        pos = got["position_ids"]
        cases[cname] = {
            "why": a.why[i] if i < len(a.why) else "",
            "image": f"image_{cname}.png", "image_wh": [W_, H_], "resized_image": f"resized_{cname}.png",
            "hf": {"smart_resize_branch": hf_smart_resize_branch(H_, W_, merge * patch, pp["min_pixels"],
                                                                 pp["max_pixels"]),
                   "resized_wh": [hw[1], hw[0]], "grid_thw": [t, gh, gw], "merged_grid_hw": [gh // merge, gw // merge],
                   "image_tokens": n},
            "llama_cpp_mtmd": lc,
            "sequence": {"prompt_len": P, "total_len": int(len(got["input_ids"])), "image_token_first": first,
                         "image_token_count": n, "continuation_len": len(cont),
                         "first_text_position_after_image": int(pos[0, first + n]),
                         "rope_delta": int(got["rope_delta"][0])},
            "map": {"shape": [gh // merge, gw // merge], "cell_px": merge * patch,
                    "order": "row-major over the merged grid (row = y)", "rect_resized_xyxy": [0, 0, hw[1], hw[0]],
                    "rect_original_xyxy": [0, 0, W_, H_]},
            "checks": {"teacher_forced_argmax_equals_greedy_prefix":
                       bool(np.argmax(got["logits"][0]) == got["greedy_ids"][0]),
                       "attn_rows_sum_over_image_mean": float(got["attn"].sum(-1).mean())},
            "greedy_ids": got["greedy_ids"].tolist(),
            "greedy_top2_margin": [round(float(x), 6) for x in got["greedy_top2_margin"]],
        }
        for k, v in got.items():
            tensors[f"{cname}.{k}"] = v
        print(f"case {cname}: {W_}x{H_} -> HF {hw[1]}x{hw[0]} ({n} tokens), llama.cpp {lc['resized_wh']} "
              f"agree={lc['agrees_with_hf']} pixels={lc['pixels_agree_with_hf']}", file=sys.stderr)
    cj["cases"] = cases
    safetensors_io.save(os.path.join(out, "cases.safetensors"), tensors)
    cj["tensors"] = {k: {"dtype": str(v.dtype), "shape": list(v.shape)} for k, v in sorted(tensors.items())}
    # GGUFs by llama.cpp's own converter
    gg = {}
    with tempfile.TemporaryDirectory() as tmp:
        d = hf_dir_for(out, cj, hf, wfile, out, tmp)
        for kind, mm, fname in (("text", False, f"{name}-f32.gguf"), ("mmproj", True, f"mmproj-{name}-f32.gguf")):
            log = convert(a.transformers_src, a.llama_cpp, d, os.path.join(out, fname), mm)
            gg[kind] = {"file": fname, "bytes": os.path.getsize(os.path.join(out, fname)), "converter_log_tail": log}
    gg["commands"] = [f"python3 scripts/golden_shim450/run_converter.py SRC LLAMA_CPP --pre qwen2 -- HF_DIR "
                      f"--outtype f32 --outfile {gg['text']['file']}",
                      f"python3 scripts/golden_shim450/run_converter.py SRC LLAMA_CPP --pre qwen2 -- HF_DIR --mmproj "
                      f"--outtype f32 --outfile {gg['mmproj']['file']}"]
    cj["gguf"] = gg
    cj["llama_cpp_observed"] = "not measured for this folder (see the public folder's README)"
    for c in cj["cases"].values():
        c.pop("llama_cpp_observed", None)
    cj["files"] = {f: {"bytes": os.path.getsize(os.path.join(out, f)), "sha256_16": sha16(os.path.join(out, f))}
                   for f in sorted(os.listdir(out)) if f != "cases.json"}
    json.dump(cj, open(os.path.join(out, "cases.json"), "w"), indent=1)
    print(f"wrote {out}", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("folder")
    c.add_argument("--transformers-src", required=True)
    c.add_argument("--llama-cpp", default=None)
    c.add_argument("--tol", type=float, default=1e-4, help="max abs per float tensor (default 1e-4)")
    m = sub.add_parser("make")
    m.add_argument("out")
    m.add_argument("--transformers-src", required=True)
    m.add_argument("--llama-cpp", required=True)
    m.add_argument("--like", default=os.path.join(ROOT, "tests", "golden", "qwen25vl"))
    m.add_argument("--name", default="qwen25vl-variant")
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--v-depth", type=int, default=4)
    m.add_argument("--v-hidden", type=int, default=64)
    m.add_argument("--v-heads", type=int, default=4)
    m.add_argument("--v-inter", type=int, default=128)
    m.add_argument("--window", type=int, default=112, help="window_size in pixels")
    m.add_argument("--fullatt", type=lambda s: [int(x) for x in s.split(",")], default=[1, 3])
    m.add_argument("--t-hidden", type=int, default=96)
    m.add_argument("--t-heads", type=int, default=4)
    m.add_argument("--t-kv", type=int, default=2)
    m.add_argument("--t-layers", type=int, default=3)
    m.add_argument("--t-inter", type=int, default=256)
    m.add_argument("--mrope", type=lambda s: [int(x) for x in s.split(",")], default=[4, 4, 4])
    m.add_argument("--image", action="append", required=True, help="NAME:WxH (repeat)")
    m.add_argument("--why", action="append", default=[], help="a sentence per --image, in order")
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    (cmd_check if a.cmd == "check" else cmd_make)(a)


if __name__ == "__main__":
    main()
