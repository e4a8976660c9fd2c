#!/usr/bin/env python3
"""The Hugging Face reference (transformers v4.50.0 from source, run offline under Debian's torch 1.13 through
scripts/golden_shim450) for the Gemma 3 golden folders (tests/golden/gemma3 and its variant), and a writer of new
folders of the same format.

  check <folder> --transformers-src S [--llama-cpp L]
        recompute every tensor of <folder>/cases.safetensors with Gemma3ForConditionalGeneration (eager attention,
        output_attentions, token_type_ids), Gemma3Processor (Gemma3ImageProcessor + slow GemmaTokenizer) from the
        folder's weights, config, tokenizer and images, on HF's stretched input and on mtmd's letterbox canvas (lb.*),
        and compare (max abs per float tensor; ids, positions, window flags exact); also the letterbox_<case>.png
        files and cases.json's mtmd_letterbox records, and with --llama-cpp the two GGUFs re-made by llama.cpp's own
        convert_hf_to_gguf.py (byte comparison).
  make <out> --transformers-src S --llama-cpp L [--like FOLDER] [shape options] [--image NAME:WxH ...]
        a new folder: random f16-representable weights of the given shapes (seed), synthetic images, the tokenizer,
        template and continuation of --like (default tests/golden/gemma3), every tensor from the reference, the
        GGUFs from the converter (scripts/golden_shim450/run_converter.py), cases.json.

S: the src/ folder of a transformers v4.50.0 tree; L: the pinned llama.cpp tree (third_party/llama.cpp). Nothing
fetched is copied here: the reference classes are imported from S.

mtmd's canvas (emulated here, checked against llama.cpp by tools/golden/gemma3_check.cpp for the public folder):
img_tool::resize with PAD_CEIL: scale = min(S/W, S/H) in float32, new size ceil(W*scale), ceil(H*scale) (at most S),
a PIL-accurate bilinear resize, pasted on a black S x S canvas at ((S-new_w)/2, (S-new_h)/2); an image already S x S
is copied.
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
TOK_FILES = ["tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "processor_config.json"]


def f32(x):
    return np.float32(x)


# ------------------------------------------------------------------------------------------------ geometry


def mtmd_letterbox(W, H, S):
    """mtmd's canvas for a W x H image (see the module docstring) and the original-pixel rectangle it covers."""
    if (W, H) == (S, S):
        scale, nw, nh, copy_ = 1.0, S, S, True
    else:
        scale = min(f32(S) / f32(W), f32(S) / f32(H))
        nw = min(int(math.ceil(f32(f32(W) * scale))), S)
        nh = min(int(math.ceil(f32(f32(H) * scale))), S)
        copy_ = False
    ox, oy = (S - nw) // 2, (S - nh) // 2
    cover = [(0 - ox) * W / nw, (0 - oy) * H / nh, (S - ox) * W / nw, (S - oy) * H / nh]
    return {"scale": float(scale), "new_w": nw, "new_h": nh, "off_x": ox, "off_y": oy, "copy": copy_,
            "canvas": [S, S], "image_rect_in_canvas_px": [ox, oy, ox + nw, oy + nh], "grid_covers_original_px": cover}


def letterbox_canvas(img, lb, S):
    if lb["copy"]:
        return img.copy()
    r = img.resize((lb["new_w"], lb["new_h"]), Image.BILINEAR)
    c = Image.new("RGB", (S, S), (0, 0, 0))
    c.paste(r, (lb["off_x"], lb["off_y"]))
    return c


def grid_rects(W, H, S, g, lb):
    """Per token cell (row-major): the original-image rectangle under HF's stretch and under mtmd's letterbox
    (clipped to the image), and the fraction of the cell that is mtmd's padding."""
    cs = S / g
    hf, lbr, pad = [], [], []
    ix0, iy0, ix1, iy1 = lb["image_rect_in_canvas_px"]
    for r in range(g):
        for c in range(g):
            hf.append([c * W / g, r * H / g, (c + 1) * W / g, (r + 1) * H / g])
            x0, y0, x1, y1 = c * cs, r * cs, (c + 1) * cs, (r + 1) * cs
            ox0, oy0 = (x0 - lb["off_x"]) * W / lb["new_w"], (y0 - lb["off_y"]) * H / lb["new_h"]
            ox1, oy1 = (x1 - lb["off_x"]) * W / lb["new_w"], (y1 - lb["off_y"]) * H / lb["new_h"]
            lbr.append([min(max(ox0, 0), W), min(max(oy0, 0), H), min(max(ox1, 0), W), min(max(oy1, 0), H)])
            inter = max(0.0, min(x1, ix1) - max(x0, ix0)) * max(0.0, min(y1, iy1) - max(y0, iy0))
            pad.append(1.0 - inter / (cs * cs))
    return (np.array(hf, np.float32), np.array(lbr, np.float32), np.array(pad, np.float32))


# ------------------------------------------------------------------------------------------------- reference


class Reference:
    def __init__(self, folder, hf_config, weights):
        from transformers import Gemma3Config, Gemma3ForConditionalGeneration, Gemma3ImageProcessor, \
            Gemma3Processor, GemmaTokenizer
        h = copy.deepcopy(hf_config)
        # v4.50.0's Gemma3Config drops a SiglipVisionConfig object (it builds defaults): sub-configs go in as dicts
        cfg = Gemma3Config(**h)
        self.model = Gemma3ForConditionalGeneration._from_config(cfg, attn_implementation="eager",
                                                                 torch_dtype=torch.float32).eval()
        sd = {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in weights.items()}
        missing, unexpected = self.model.load_state_dict(sd, strict=False)
        if missing or unexpected:
            sys.exit(f"{folder}: weights do not fit the config: missing {missing[:5]}, unexpected {unexpected[:5]}")
        # Gemma3Processor of the folder's files, built from its parts: AutoTokenizer would pick the fast tokenizer,
        # which needs the tokenizers package
        pc = json.load(open(os.path.join(folder, "processor_config.json")))
        self.proc = Gemma3Processor(image_processor=Gemma3ImageProcessor.from_pretrained(folder),
                                    tokenizer=GemmaTokenizer.from_pretrained(folder),
                                    image_seq_length=pc["image_seq_length"])
        self.cfg = hf_config
        t = hf_config["text_config"]
        self.L = t["num_hidden_layers"]
        self.window = t["sliding_window"]
        pat = t["sliding_window_pattern"]
        self.sliding = [(i + 1) % pat != 0 for i in range(self.L)]
        self.global_layers = [i for i in range(self.L) if not self.sliding[i]]
        self.g = int(round(hf_config["mm_tokens_per_image"] ** 0.5))
        self.S = hf_config["vision_config"]["image_size"]

    def forward(self, ids, tt, pv):
        with torch.no_grad():
            return self.model(input_ids=ids[None], attention_mask=torch.ones_like(ids)[None],
                              token_type_ids=tt[None], pixel_values=pv, output_attentions=True, use_cache=False,
                              return_dict=True)

    def in_window(self, qs, img_pos):
        out = np.ones((len(qs), self.L, len(img_pos)), np.uint8)
        for k, q in enumerate(qs):
            for layer in range(self.L):
                if self.sliding[layer]:
                    out[k, layer] = [(q - int(p)) < self.window for p in img_pos]
        return out

    def run(self, img, text, cont_ids):
        """(tensors, prompt ids) on one input image (HF stretches it to S x S)."""
        enc = self.proc(text=text, images=img, return_tensors="pt")
        pv = enc["pixel_values"].float()
        prompt = enc["input_ids"][0]
        tt_p = enc["token_type_ids"][0]
        ids = torch.cat([prompt, torch.tensor(cont_ids, dtype=prompt.dtype)])
        tt = torch.cat([tt_p, torch.zeros(len(cont_ids), dtype=tt_p.dtype)])
        P, T = len(prompt), len(ids)
        img_pos = (ids == self.cfg["image_token_index"]).nonzero()[:, 0]
        m = self.model
        with torch.no_grad():
            vf = m.vision_tower(pixel_values=pv).last_hidden_state[0]
            imf = m.get_image_features(pv)[0]
        out = self.forward(ids, tt, pv)
        q = torch.arange(P - 1, T - 1)
        att = torch.stack([a[0] for a in out.attentions])  # [L, H, T, T]
        A = att[:, :, q][:, :, :, img_pos].permute(2, 0, 1, 3).contiguous()  # [K, L, H, N]
        R = {"pixel_values": pv[0].numpy(), "vision_features": vf.numpy(), "image_features": imf.numpy(),
             "logits": out.logits[0, q].float().numpy()}
        R.update(self.attn_tensors("", A, self.in_window(q.tolist(), img_pos.tolist())))
        # greedy: full recompute each step, token types 0 for generated tokens
        seq, tts = prompt.clone(), tt_p.clone()
        gi, gm, gl, ga, gw = [], [], [], [], []
        for _ in range(N_GREEDY):
            o = self.forward(seq, tts, pv)
            lg = o.logits[0, -1].float()
            top = torch.topk(lg, 2)
            gi.append(int(top.indices[0]))
            gm.append(float(top.values[0] - top.values[1]))
            gl.append(lg)
            ga.append(torch.stack([a[0] for a in o.attentions])[:, :, -1][:, :, img_pos])  # [L, H, N]
            gw.append(self.in_window([len(seq) - 1], img_pos.tolist())[0])
            seq = torch.cat([seq, torch.tensor([gi[-1]], dtype=seq.dtype)])
            tts = torch.cat([tts, torch.zeros(1, dtype=tts.dtype)])
        R["greedy_ids"] = np.array(gi, np.int32)
        R["greedy_top2_margin"] = np.array(gm, np.float32)
        R["greedy_logits"] = torch.stack(gl).numpy()
        R.update(self.attn_tensors("greedy_", torch.stack(ga), np.stack(gw)))
        common = {"prompt_ids": prompt.numpy().astype(np.int32), "continuation_ids": np.array(cont_ids, np.int32),
                  "image_positions": img_pos.numpy().astype(np.int32), "query_positions": q.numpy().astype(np.int32),
                  "token_type_ids": tt_p.numpy().astype(np.int32)}
        return R, common

    def attn_tensors(self, pre, A, inw):
        g = self.g
        K = A.shape[0]
        mg = A[:, self.global_layers].mean(dim=(1, 2))
        ma = A.mean(dim=(1, 2))
        return {pre + "attn": A.float().numpy(), pre + "attn_img_mass": A.sum(-1).float().numpy(),
                pre + "attn_mean_global": mg.float().numpy(), pre + "attn_mean_all": ma.float().numpy(),
                pre + "map_global": mg.reshape(K, g, g).float().numpy(),
                pre + "map_all": ma.reshape(K, g, g).float().numpy(), pre + "in_window": inw.astype(np.uint8)}

    def case(self, img, text, cont_ids):
        """Every tensor of one case under the golden's names (without the case prefix), and the letterbox."""
        W, H = img.size
        lb = mtmd_letterbox(W, H, self.S)
        canvas = letterbox_canvas(img, lb, self.S)
        st, common = self.run(img, text, cont_ids)
        lbt, common2 = self.run(canvas, text, cont_ids)
        assert all(np.array_equal(common[k], common2[k]) for k in common)
        out = dict(common)
        out.update(st)
        out.update({"lb." + k: v for k, v in lbt.items()})
        hf_r, lb_r, pad = grid_rects(W, H, self.S, self.g, lb)
        out["grid_rect_hf"], out["grid_rect_lb"], out["grid_pad_fraction_lb"] = hf_r, lb_r, pad
        return out, lb, canvas


def tied(hf):
    return hf.get("tie_word_embeddings", hf["text_config"].get("tie_word_embeddings", True))


def load_folder(folder):
    cj = json.load(open(os.path.join(folder, "cases.json")))
    hf = json.load(open(os.path.join(folder, "hf_config.json")))
    w = safetensors_io.load(os.path.join(folder, cj["weights_file"]))
    return cj, hf, w


# ------------------------------------------------------------------------------------------------ converter


def hf_dir_for(cj, hf, weights_path, src, dst_root, name):
    d = os.path.join(dst_root, name)
    os.makedirs(d, exist_ok=True)
    json.dump(hf, open(os.path.join(d, "config.json"), "w"), indent=1)
    # what model.save_pretrained writes for the float32 model: float32 tensors (the converter adds 1 to the norms in
    # the tensors' own dtype) and no lm_head when it is tied to the embeddings (Gemma 3's default)
    w = safetensors_io.load(weights_path)
    if tied(hf):
        w.pop("language_model.lm_head.weight", None)
    safetensors_io.save(os.path.join(d, "model.safetensors"), w, dtype=np.float32)
    for f in TOK_FILES + ["preprocessor_config.json"]:
        shutil.copy(os.path.join(src, f), os.path.join(d, f))
    return d


def convert(tsrc, llama, hf_dir, outfile, name, mmproj):
    cmd = [sys.executable, os.path.join(HERE, "golden_shim450", "run_converter.py"), tsrc, llama, "--",
           hf_dir, "--outtype", "f32", "--outfile", outfile, "--model-name", name] + (["--mmproj"] if mmproj else [])
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
    text = cj["template"]["text"]
    cont = cj["template"]["continuation_ids"]
    bad, report = [], {}
    for name, c in cj["cases"].items():
        img = Image.open(os.path.join(folder, c["image"]["file"])).convert("RGB")
        got, lb, canvas = ref.case(img, text, cont)
        rep = {}
        names = sorted(k[len(name) + 1:] for k in st if k.startswith(name + "."))
        if sorted(got) != names:
            bad.append(f"{name}: tensor sets differ: only here {sorted(set(got) - set(names))}, only in the folder "
                       f"{sorted(set(names) - set(got))}")
        for k in names:
            if k not in got:
                continue
            want, v = st[f"{name}.{k}"], got[k]
            if want.shape != v.shape:
                bad.append(f"{name}.{k}: shape {v.shape} vs {want.shape}")
                continue
            if np.issubdtype(want.dtype, np.integer):
                ok = np.array_equal(want.astype(np.int64), v.astype(np.int64))
                rep[k] = "exact" if ok else "DIFFER"
                if not ok:
                    bad.append(f"{name}.{k}: differs")
            else:
                d = float(np.max(np.abs(want.astype(np.float64) - v.astype(np.float64)))) if v.size else 0.0
                rep[k] = d
                tol = a.tol_geom if k.startswith("grid_") else a.tol
                if d > tol:
                    bad.append(f"{name}.{k}: max abs {d:.3g} > {tol}")
        png = np.array(Image.open(os.path.join(folder, c["mtmd_letterbox"]["file"])).convert("RGB"))
        rep["letterbox_png"] = "exact" if np.array_equal(png, np.array(canvas)) else "DIFFER"
        if rep["letterbox_png"] != "exact":
            bad.append(f"{name}: {c['mtmd_letterbox']['file']} differs from the emulated canvas")
        for k in ("new_w", "new_h", "off_x", "off_y", "copy", "canvas", "image_rect_in_canvas_px"):
            if lb[k] != c["mtmd_letterbox"][k]:
                bad.append(f"{name}: mtmd_letterbox.{k} {lb[k]} vs {c['mtmd_letterbox'][k]}")
        dc = max(abs(x - y) for x, y in zip(lb["grid_covers_original_px"],
                                            c["mtmd_letterbox"]["grid_covers_original_px"]))
        if dc > 1e-6:
            bad.append(f"{name}: mtmd_letterbox.grid_covers_original_px differs by {dc}")
        report[name] = rep
    if a.llama_cpp:
        with tempfile.TemporaryDirectory() as tmp:
            d = hf_dir_for(cj, hf, os.path.join(folder, cj["weights_file"]), folder, tmp, cj["preset"]["name"])
            for kind, mm in (("text", False), ("mmproj", True)):
                out = os.path.join(tmp, kind + ".gguf")
                convert(a.transformers_src, a.llama_cpp, d, out, cj["preset"]["name"], mm)
                same = open(out, "rb").read() == open(os.path.join(folder, cj["gguf"][kind]["file"]), "rb").read()
                report["gguf_" + kind] = "byte-identical" if same else "DIFFER"
                if not same:
                    bad.append(f"gguf {kind}: the converter's output differs from {cj['gguf'][kind]['file']}")
    print(json.dumps(report, indent=1))
    if bad:
        print("FAIL:\n  " + "\n  ".join(bad))
        sys.exit(1)
    print(f"OK: {folder} reproduced (float tensors within {a.tol} max abs; integer tensors and flags exact)")


# ----------------------------------------------------------------------------------------------------- make


def random_weights(model, seed):
    """f16-representable random weights: matrices 1/sqrt(fan_in) (q/k 1.3x), Gemma RMSNorm offsets 0.1 n (used as
    1 + w), LayerNorm weights 1 + 0.1 n, biases 0.1 n, embeddings n, SigLIP positions 0.3 n."""
    g = torch.Generator().manual_seed(seed)
    W = {}
    for k, p in model.state_dict().items():
        shape = tuple(p.shape)
        n = torch.randn(*shape, generator=g)
        if k.startswith("language_model") and "norm" in k or "mm_soft_emb_norm" in k:
            v = 0.1 * n
        elif "norm" in k and k.endswith(".weight"):
            v = 1.0 + 0.1 * n
        elif k.endswith(".bias"):
            v = 0.1 * n
        elif "embed_tokens" in k:
            v = n
        elif "position_embedding" in k:
            v = 0.3 * n
        elif k.endswith("mm_input_projection_weight"):
            v = n / math.sqrt(shape[0])
        else:
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            s = 1.3 if any(x in k for x in ("q_proj", "k_proj")) else 1.0
            v = s * n / math.sqrt(fan_in)
        W[k] = v.half().float()
    return W


def draw_image(w, h, seed):
    rng = np.random.default_rng(seed)
    im = Image.new("RGB", (w, h), (245, 245, 240))
    d = ImageDraw.Draw(im)
    r = max(4, min(w, h) // 5)
    cx, cy = int(w * rng.uniform(0.2, 0.4)), int(h * rng.uniform(0.3, 0.7))
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=(220, 30, 30))
    sx, sy = int(w * rng.uniform(0.6, 0.8)), int(h * rng.uniform(0.3, 0.7))
    d.rectangle([sx - r, sy - r, sx + r, sy + r], fill=(30, 50, 210))
    a = np.array(im).astype(np.int16) + rng.integers(-3, 4, size=(h, w, 3))
    return Image.fromarray(np.clip(a, 0, 255).astype(np.uint8))


def sha16(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()[:16]


def cmd_make(a):
    transformers = golden_shim450.install(a.transformers_src)
    cj0, hf0, _ = load_folder(a.like)
    out, name = a.out, a.name
    os.makedirs(out, exist_ok=True)
    hf = copy.deepcopy(hf0)
    patches = a.image_size // a.patch
    side = int(round(a.mm_tokens ** 0.5))
    if side * side != a.mm_tokens or patches % side:
        sys.exit(f"--mm-tokens {a.mm_tokens}: needs a square whose side divides {patches} patches per side")
    hf["mm_tokens_per_image"] = a.mm_tokens
    hf["vision_config"].update({"hidden_size": a.v_hidden, "num_attention_heads": a.v_heads,
                                "num_hidden_layers": a.v_layers, "intermediate_size": a.v_inter,
                                "image_size": a.image_size, "patch_size": a.patch})
    hf["text_config"].update({"hidden_size": a.t_hidden, "num_attention_heads": a.t_heads,
                              "num_key_value_heads": a.t_kv, "head_dim": a.head_dim,
                              "query_pre_attn_scalar": a.head_dim, "num_hidden_layers": a.t_layers,
                              "intermediate_size": a.t_inter, "sliding_window": a.window,
                              "sliding_window_pattern": a.pattern})
    for f in TOK_FILES:
        shutil.copy(os.path.join(a.like, f), os.path.join(out, f))
    pp = json.load(open(os.path.join(a.like, "preprocessor_config.json")))
    pp["size"] = {"height": a.image_size, "width": a.image_size}
    pp["image_seq_length"] = a.mm_tokens
    json.dump(pp, open(os.path.join(out, "preprocessor_config.json"), "w"), indent=1)
    pc = json.load(open(os.path.join(a.like, "processor_config.json")))
    pc["image_seq_length"] = a.mm_tokens
    json.dump(pc, open(os.path.join(out, "processor_config.json"), "w"), indent=1)
    json.dump(hf, open(os.path.join(out, "hf_config.json"), "w"), indent=1)
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration
    m0 = Gemma3ForConditionalGeneration._from_config(Gemma3Config(**copy.deepcopy(hf)), attn_implementation="eager",
                                                     torch_dtype=torch.float32)
    W = random_weights(m0, a.seed)
    del m0
    if tied(hf):
        W["language_model.lm_head.weight"] = W["language_model.model.embed_tokens.weight"]
    wname = name + ".safetensors"
    safetensors_io.save(os.path.join(out, wname), W, dtype=np.float16)
    W = safetensors_io.load(os.path.join(out, wname))
    ref = Reference(out, hf, W)
    cj = copy.deepcopy(cj0)
    text = cj["template"]["text"]
    cont = cj["template"]["continuation_ids"]
    cj["generator"] = "scripts/gemma3-golden.py make " + " ".join(sys.argv[3:])
    cj["description"] = cj["description"] + " Variant shapes made by scripts/gemma3-golden.py."
    cj["weights_file"] = wname
    pr = cj["preset"]
    pr.update({"seed": a.seed, "name": name, "image_size": a.image_size, "patch": a.patch, "mm_tokens": a.mm_tokens,
               "v_hidden": a.v_hidden, "v_heads": a.v_heads, "v_layers": a.v_layers, "v_inter": a.v_inter,
               "t_hidden": a.t_hidden, "t_heads": a.t_heads, "t_kv_heads": a.t_kv, "head_dim": a.head_dim,
               "t_layers": a.t_layers, "t_inter": a.t_inter, "sliding_window": a.window,
               "sliding_window_pattern": a.pattern, "images": []})
    cj["reference"]["runtime_patches"] = golden_shim450.STANDINS
    cj["reference"]["transformers_version"] = transformers.__version__
    cj["reference"]["made"] = datetime.date.today().isoformat()
    md = cj["model"]
    md.update({"text_layers": a.t_layers, "sliding_layers": [i for i in range(a.t_layers) if ref.sliding[i]],
               "global_layers": ref.global_layers, "sliding_window": a.window, "seed": a.seed,
               "weights": wname + " (F16, lossless; HF names; Gemma RMSNorm weights are offsets used as (1 + w))"})
    md["vision"] = {"image_size": a.image_size, "patch": a.patch, "patch_grid": patches,
                    "pool_kernel": patches // side, "token_grid": [side, side], "hidden": a.v_hidden,
                    "heads": a.v_heads, "layers": a.v_layers}
    md["text"] = {"hidden": a.t_hidden, "heads": a.t_heads, "kv_heads": a.t_kv, "head_dim": a.head_dim,
                  "intermediate": a.t_inter, "vocab": hf["text_config"]["vocab_size"]}
    cases, tensors = {}, {}
    for i, spec in enumerate(a.image):
        cname, wh = spec.split(":")
        W_, H_ = [int(x) for x in wh.split("x")]
        pr["images"].append([cname, W_, H_, i])
        img = draw_image(W_, H_, a.seed * 100 + i)
        img.save(os.path.join(out, f"image_{cname}.png"))
        got, lb, canvas = ref.case(img, text, cont)
        canvas.save(os.path.join(out, f"letterbox_{cname}.png"))
        lb["file"] = f"letterbox_{cname}.png"
        cov = lb["grid_covers_original_px"]
        lb["cell_size_original_px"] = [(cov[2] - cov[0]) / side, (cov[3] - cov[1]) / side]
        ip = got["image_positions"]
        P = len(got["prompt_ids"])
        ids = got["prompt_ids"].tolist()
        inw = got["in_window"]
        cases[cname] = {
            "image": {"file": f"image_{cname}.png", "W": W_, "H": H_}, "prompt_len": P, "n_continuation": len(cont),
            "image_token_positions": [int(ip[0]), int(ip[-1]) + 1], "boi_pos": int(ip[0]) - 1,
            "eoi_pos": int(ip[-1]) + 1, "query_positions": [P - 1, P - 1 + len(cont)],
            "hf_stretch": {"resize": f"PIL bilinear {W_}x{H_} -> {a.image_size}x{a.image_size}",
                           "grid_covers_original_px": [0, 0, W_, H_],
                           "cell_size_original_px": [W_ / side, H_ / side]},
            "mtmd_letterbox": lb,
            "checks": {"window": {"max_attn_outside_window": float(np.abs(got["attn"] * (1 - inw[:, :, None, :]))
                                                                   .max()),
                                  "n_rowlayer_image_fully_outside": int((inw.sum(-1) == 0).sum()),
                                  "n_rowlayer_image_partly_outside": int(((inw.sum(-1) > 0) &
                                                                          (inw.sum(-1) < inw.shape[-1])).sum())},
                       "greedy0_equals_tf_argmax0": bool(np.argmax(got["logits"][0]) == got["greedy_ids"][0])},
            "teacher_forced_argmax": np.argmax(got["logits"], -1).tolist(),
        }
        if ids[0] != hf["text_config"].get("bos_token_id", 2) and ids[0] != 2:
            sys.exit(f"{cname}: the prompt does not start with <bos>")
        for k, v in got.items():
            tensors[f"{cname}.{k}"] = v
        print(f"case {cname}: {W_}x{H_}, letterbox {lb['new_w']}x{lb['new_h']} at ({lb['off_x']}, {lb['off_y']}), "
              f"prompt {P}, image {ip[0]}..{ip[-1]}", file=sys.stderr)
    cj["cases"] = cases
    safetensors_io.save(os.path.join(out, "cases.safetensors"), tensors)
    cj["tensors"] = {k: {"dtype": str(v.dtype), "shape": list(v.shape)} for k, v in sorted(tensors.items())}
    gg = {}
    with tempfile.TemporaryDirectory() as tmp:
        d = hf_dir_for(cj, hf, os.path.join(out, wname), out, tmp, name)
        for kind, mm, fname in (("text", False, f"{name}-f32.gguf"), ("mmproj", True, f"mmproj-{name}-f32.gguf")):
            log = convert(a.transformers_src, a.llama_cpp, d, os.path.join(out, fname), name, mm)
            gg[kind] = {"ok": True, "file": fname,
                        "command": f"python3 scripts/golden_shim450/run_converter.py SRC LLAMA_CPP -- HF_DIR "
                                   f"--outtype f32 --outfile {fname} --model-name {name}" + (" --mmproj" if mm else ""),
                        "bytes": os.path.getsize(os.path.join(out, fname)), "converter_log_tail": log}
    cj["gguf"] = gg
    cj.pop("converter_logs_tail", None)
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
    c.add_argument("--tol-geom", type=float, default=1e-4, help="grid_* rectangles, pixels (default 1e-4)")
    m = sub.add_parser("make")
    m.add_argument("out")
    m.add_argument("--transformers-src", required=True)
    m.add_argument("--llama-cpp", required=True)
    m.add_argument("--like", default=os.path.join(ROOT, "tests", "golden", "gemma3"))
    m.add_argument("--name", default="gemma3-variant")
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--image-size", type=int, default=112)
    m.add_argument("--patch", type=int, default=14)
    m.add_argument("--mm-tokens", type=int, default=16)
    m.add_argument("--v-hidden", type=int, default=64)
    m.add_argument("--v-heads", type=int, default=4)
    m.add_argument("--v-layers", type=int, default=3)
    m.add_argument("--v-inter", type=int, default=128)
    m.add_argument("--t-hidden", type=int, default=64)
    m.add_argument("--t-heads", type=int, default=4)
    m.add_argument("--t-kv", type=int, default=2)
    m.add_argument("--head-dim", type=int, default=16)
    m.add_argument("--t-layers", type=int, default=6)
    m.add_argument("--t-inter", type=int, default=128)
    m.add_argument("--window", type=int, default=16)
    m.add_argument("--pattern", type=int, default=6,
                   help="sliding_window_pattern; the pinned converter writes no pattern key and llama.cpp assumes 6")
    m.add_argument("--image", action="append", required=True, help="NAME:WxH (repeat)")
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    (cmd_check if a.cmd == "check" else cmd_make)(a)


if __name__ == "__main__":
    main()
