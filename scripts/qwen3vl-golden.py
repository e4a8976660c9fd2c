#!/usr/bin/env python3
"""The Hugging Face reference for a tiny Qwen3-VL golden folder in the format of tests/golden/qwen25vl (so that
test-golden-qwen25vl runs on it): transformers of the 4.57 line (the first with Qwen3-VL) from source under Debian's
torch 1.13, offline, through scripts/golden_shim457 (no transformers file patched).

  make <out> --transformers-src S --llama-cpp L [--like FOLDER] [--seed N] [--image NAME:WxH ...]
        random f16-representable weights (shapes below), synthetic images, the tokenizer files, prompt and
        continuation of --like (default tests/golden/qwen25vl: the Qwen2 byte-level BPE with the Qwen special tokens,
        which Qwen3-VL shares), every tensor from Qwen3VLForConditionalGeneration (eager attention,
        output_attentions), Qwen2VLImageProcessor (the slow, PIL class; Qwen3-VL's published preprocessor names the
        torchvision "Fast" one, whose resize differs from PIL's and from mtmd's), Qwen2Tokenizer and get_rope_index;
        the GGUFs from llama.cpp's own convert_hf_to_gguf.py (scripts/golden_shim450/run_converter.py --shim457).
  check <folder> --transformers-src S [--llama-cpp L]
        recompute every tensor and compare (as scripts/qwen25vl-golden.py check).

vision_tokens holds what llama.cpp feeds its LLM for Qwen3-VL: each image token's merger output followed by the
deepstack mergers' outputs ([N, D * (1 + n_deepstack)], libmtmd's layout); the reference adds deepstack feature j to
the hidden state of the image tokens after text layer j.

S: the src/ folder of a transformers tree of the 4.57 line; the one used is JJJYmmm/transformers at a59124e27ea9
(huggingface/transformers main, the last commit at version 4.57.0.dev0, from which v4.57.0 was released: Qwen3-VL's
files as released). L: the pinned llama.cpp tree.
"""
import argparse
import copy
import datetime
import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import torch
from PIL import Image

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import golden_shim457  # noqa: E402
import safetensors_io  # noqa: E402

_spec = importlib.util.spec_from_file_location("qwen25vl_golden", os.path.join(HERE, "qwen25vl-golden.py"))
q25 = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(q25)

ROOT = os.path.dirname(HERE)
N_GREEDY = q25.N_GREEDY


class Reference:
    def __init__(self, folder, hf_config, weights):
        from transformers import Qwen2Tokenizer, Qwen2VLImageProcessor, Qwen3VLConfig, Qwen3VLForConditionalGeneration
        cfg = Qwen3VLConfig(**copy.deepcopy(hf_config))
        self.model = Qwen3VLForConditionalGeneration._from_config(cfg, attn_implementation="eager",
                                                                  dtype=torch.float32).eval()
        sd = {k: torch.from_numpy(np.asarray(v, dtype=np.float32)) for k, v in weights.items()}
        missing, unexpected = self.model.load_state_dict(sd, strict=False)
        if missing or unexpected:
            sys.exit(f"{folder}: weights do not fit the config: missing {missing[:5]}, unexpected {unexpected[:5]}")
        self.pp = json.load(open(os.path.join(folder, "preprocessor_config.json")))
        self.proc = Qwen2VLImageProcessor(**{k: v for k, v in self.pp.items()
                                             if k not in ("image_processor_type", "processor_class")})
        self.tok = Qwen2Tokenizer.from_pretrained(folder)
        self.cfg = hf_config

    resized_uint8 = q25.Reference.resized_uint8

    def run_case(self, img, prompt_text, cont_ids):
        m = self.model
        out = self.proc(images=[img], return_tensors="pt")
        pv, thw = out["pixel_values"].float(), out["image_grid_thw"]
        t, gh, gw = [int(x) for x in thw[0]]
        vc = self.cfg["vision_config"]
        merge, patch = vc["spatial_merge_size"], vc["patch_size"]
        n = t * gh * gw // (merge * merge)
        text = prompt_text.replace("{pads}", "<|image_pad|>" * n)
        prompt_ids = self.tok(text, add_special_tokens=False)["input_ids"]
        ids = torch.tensor(prompt_ids + list(cont_ids), dtype=torch.long)
        T, P = len(ids), len(prompt_ids)
        img_pos = (ids == self.cfg["image_token_id"]).nonzero()[:, 0]
        if len(img_pos) != n:
            sys.exit(f"prompt has {len(img_pos)} image tokens, expected {n}")

        def fwd(seq):
            with torch.no_grad():
                return m(input_ids=seq[None], pixel_values=pv, image_grid_thw=thw, output_attentions=True,
                         use_cache=False, return_dict=True)

        with torch.no_grad():
            emb, deep = m.model.visual(pv, grid_thw=thw)
            vt = torch.cat([emb] + list(deep), dim=-1)
            pos, delta = m.model.get_rope_index(ids[None], thw, None, None)
        o = fwd(ids)
        q = torch.arange(P - 1, T - 1)
        attn = torch.stack([a[0] for a in o.attentions])[:, :, q][:, :, :, img_pos]
        mean = attn.mean(dim=(0, 1))
        seq = list(prompt_ids)
        g_ids, g_margin, g_mean = [], [], []
        for _ in range(N_GREEDY):
            og = fwd(torch.tensor(seq, dtype=torch.long))
            lg = og.logits[0, -1].float()
            top = torch.topk(lg, 2)
            g_ids.append(int(top.indices[0]))
            g_margin.append(float(top.values[0] - top.values[1]))
            g_mean.append(torch.stack([x[0] for x in og.attentions])[:, :, -1][:, :, img_pos].mean(dim=(0, 1)))
            seq.append(g_ids[-1])
        return {
            "pixel_values": pv.numpy(), "image_grid_thw": thw[0].numpy().astype(np.int64),
            "resized_hw": np.array([gh * patch, gw * patch], dtype=np.int64), "vision_tokens": vt.float().numpy(),
            "input_ids": ids.numpy(), "prompt_len": np.array([P]), "image_positions": img_pos.numpy(),
            "position_ids": pos[:, 0].numpy(), "rope_delta": delta.reshape(-1).numpy().astype(np.int64),
            "query_positions": q.numpy(), "logits": o.logits[0, q].float().numpy(), "attn": attn.float().numpy(),
            "attn_mean": mean.float().numpy(), "attn_map": mean.reshape(-1, gh // merge, gw // merge).float().numpy(),
            "greedy_ids": np.array(g_ids, dtype=np.int64), "greedy_top2_margin": np.array(g_margin, np.float32),
            "greedy_attn_mean": torch.stack(g_mean).float().numpy(),
        }, text


def random_weights(model, seed):
    """f16-representable: matrices 1/sqrt(fan_in) (q/k/qkv 1.3x), norm weights 1 + 0.1 n, norm biases 0.05 n,
    other biases 0.1 n, token embeddings n, the ViT's learned position table 0.3 n."""
    g = torch.Generator().manual_seed(seed)
    W = {}
    for k, p in model.state_dict().items():
        shape = tuple(p.shape)
        n = torch.randn(*shape, generator=g)
        if "norm" in k and k.endswith(".weight"):
            v = 1.0 + 0.1 * n
        elif "norm" in k and k.endswith(".bias"):
            v = 0.05 * n
        elif k.endswith(".bias"):
            v = 0.1 * n
        elif "embed_tokens" in k:
            v = n
        elif "pos_embed" in k:
            v = 0.3 * n
        else:
            fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else 1
            s = 1.3 if any(x in k for x in ("q_proj", "k_proj", ".qkv.")) else 1.0
            v = s * n / math.sqrt(fan_in)
        W[k] = v.half().float()
    return W


def convert(tsrc, llama, hf_dir, outfile, mmproj):
    cmd = [sys.executable, os.path.join(HERE, "golden_shim450", "run_converter.py"), tsrc, llama, "--pre", "qwen2",
           "--shim457", "--", hf_dir, "--outtype", "f32", "--outfile", outfile] + (["--mmproj"] if mmproj else [])
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"converter failed ({' '.join(cmd)}):\n{r.stderr[-3000:]}")
    return r.stderr.strip().splitlines()[-6:]


def hf_dir_for(cj, hf, weights_path, src, dst_root):
    d = os.path.join(dst_root, cj["model_name"])
    os.makedirs(d, exist_ok=True)
    json.dump(hf, open(os.path.join(d, "config.json"), "w"), indent=1)
    safetensors_io.save(os.path.join(d, "model.safetensors"), safetensors_io.load(weights_path), dtype=np.float32)
    for f in q25.TOK_FILES + ["preprocessor_config.json"]:
        shutil.copy(os.path.join(src, f), os.path.join(d, f))
    return d


def hf_config(a):
    return {
        "architectures": ["Qwen3VLForConditionalGeneration"], "model_type": "qwen3_vl",
        "image_token_id": 364, "video_token_id": 365, "vision_start_token_id": 361, "vision_end_token_id": 362,
        "tie_word_embeddings": False,
        "text_config": {
            "model_type": "qwen3_vl_text", "vocab_size": 384, "hidden_size": a.t_hidden,
            "intermediate_size": a.t_inter, "num_hidden_layers": a.t_layers, "num_attention_heads": a.t_heads,
            "num_key_value_heads": a.t_kv, "head_dim": a.head_dim, "hidden_act": "silu", "rms_norm_eps": 1e-6,
            "rope_theta": 5000000.0, "max_position_embeddings": 4096, "bos_token_id": 352, "eos_token_id": 354,
            "tie_word_embeddings": False, "attention_bias": False,
            "rope_scaling": {"rope_type": "default", "mrope_section": a.mrope, "mrope_interleaved": True}},
        "vision_config": {
            "model_type": "qwen3_vl", "depth": a.v_depth, "hidden_size": a.v_hidden, "intermediate_size": a.v_inter,
            "num_heads": a.v_heads, "hidden_act": "gelu_pytorch_tanh", "in_channels": 3, "patch_size": 16,
            "spatial_merge_size": 2, "temporal_patch_size": 2, "out_hidden_size": a.t_hidden,
            "num_position_embeddings": a.pos_side ** 2, "deepstack_visual_indexes": a.deepstack},
    }


def cmd_make(a):
    transformers = golden_shim457.install(a.transformers_src)
    cj0 = json.load(open(os.path.join(a.like, "cases.json")))
    out, name = a.out, a.name
    os.makedirs(out, exist_ok=True)
    if sum(a.mrope) * 2 != a.head_dim:
        sys.exit(f"--mrope {a.mrope}: sections must sum to head_dim/2 = {a.head_dim // 2}")
    hf = hf_config(a)
    for f in q25.TOK_FILES:
        shutil.copy(os.path.join(a.like, f), os.path.join(out, f))
    align = 32
    pp = json.load(open(os.path.join(a.like, "preprocessor_config.json")))
    pp.update({"min_pixels": 8 * align * align, "max_pixels": 4096 * align * align, "patch_size": 16,
               "image_mean": [0.5, 0.5, 0.5], "image_std": [0.5, 0.5, 0.5], "processor_class": "Qwen3VLProcessor",
               "image_processor_type": "Qwen2VLImageProcessor"})
    pp["size"] = {"shortest_edge": pp["min_pixels"], "longest_edge": pp["max_pixels"]}
    json.dump(pp, open(os.path.join(out, "preprocessor_config.json"), "w"), indent=1)
    json.dump(hf, open(os.path.join(out, "hf_config.json"), "w"), indent=1)
    from transformers import Qwen3VLConfig, Qwen3VLForConditionalGeneration
    m0 = Qwen3VLForConditionalGeneration._from_config(Qwen3VLConfig(**copy.deepcopy(hf)), attn_implementation="eager",
                                                      dtype=torch.float32)
    W = random_weights(m0, a.seed)
    del m0
    wfile = os.path.join(out, name + ".safetensors")
    safetensors_io.save(wfile, W, dtype=np.float16)
    ref = Reference(out, hf, safetensors_io.load(wfile))
    cj = copy.deepcopy(cj0)
    cj.update({"model_name": name, "seed": a.seed, "preset": "qwen3vl (scripts/qwen3vl-golden.py make)"})
    cj["reference"] = {
        "transformers": "4.57.0.dev0: src/transformers of JJJYmmm/transformers at a59124e27ea9 (huggingface/transformers "
                        "main, the last commit at 4.57.0.dev0, from which v4.57.0 was released)",
        "transformers_version": transformers.__version__, "torch": torch.__version__,
        "classes": ["Qwen3VLForConditionalGeneration (attn_implementation eager, text and vision)",
                    "Qwen2VLImageProcessor (slow, PIL bicubic; the published config names the torchvision Fast class)",
                    "Qwen2Tokenizer (slow)"],
        "transformers_files_patched": [], "runtime_standins": golden_shim457.STANDINS,
        "generator": "scripts/qwen3vl-golden.py make " + " ".join(sys.argv[3:]),
        "made": datetime.date.today().isoformat()}
    cj["model"] = {
        "vision": {"depth": a.v_depth, "hidden": a.v_hidden, "heads": a.v_heads, "inter": a.v_inter, "patch": 16,
                   "temporal_patch": 2, "spatial_merge": 2, "out_hidden": a.t_hidden, "hidden_act": "gelu_pytorch_tanh",
                   "num_position_embeddings": a.pos_side ** 2, "deepstack_visual_indexes": a.deepstack},
        "text": {"hidden": a.t_hidden, "heads": a.t_heads, "kv_heads": a.t_kv, "layers": a.t_layers,
                 "inter": a.t_inter, "head_dim": a.head_dim, "mrope_section": a.mrope, "mrope_interleaved": True,
                 "rope_theta": 5000000.0, "vocab_size": 384, "tie_word_embeddings": False},
        "embedding_width": a.t_hidden * (1 + len(a.deepstack)),
        "weights": "every parameter exactly f16-representable; <name>.safetensors is F16 and lossless"}
    cj["processor"] = {"min_pixels": pp["min_pixels"], "max_pixels": pp["max_pixels"], "patch_size": 16,
                       "merge_size": 2, "temporal_patch_size": 2, "image_mean": pp["image_mean"],
                       "image_std": pp["image_std"], "resample": "PIL bicubic", "file": "preprocessor_config.json"}
    cj["tensor_meanings"] = dict(cj0["tensor_meanings"])
    cj["tensor_meanings"]["<case>.vision_tokens"] = (
        "[N, D * (1 + n_deepstack)] model.visual output: each merged token's merger output, then the deepstack "
        "mergers' outputs in deepstack_visual_indexes order (libmtmd's embedding layout for Qwen3-VL)")
    text = q25.prompt_text(cj)
    cont = cj["prompt"]["continuation_ids"]
    cases, tensors = {}, {}
    for i, spec in enumerate(a.image):
        cname, wh = spec.split(":")
        W_, H_ = [int(x) for x in wh.split("x")]
        img = q25.draw_image(W_, H_, a.seed * 100 + i)
        img.save(os.path.join(out, f"image_{cname}.png"))
        got, _ = ref.run_case(img, text, cont)
        hw = [int(x) for x in got["resized_hw"]]
        Image.fromarray(ref.resized_uint8(img, hw)).save(os.path.join(out, f"resized_{cname}.png"))
        lc = q25.llama_cpp_record(W_, H_, [hw[1], hw[0]], 2, 16, pp["min_pixels"], pp["max_pixels"])
        lc["code"] = lc["code"].replace("align 28", "align 32")
        t, gh, gw = [int(x) for x in got["image_grid_thw"]]
        n = gh * gw // 4
        first = int(got["image_positions"][0])
        cases[cname] = {
            "why": a.why[i] if i < len(a.why) else "", "image": f"image_{cname}.png", "image_wh": [W_, H_],
            "resized_image": f"resized_{cname}.png",
            "hf": {"smart_resize_branch": q25.hf_smart_resize_branch(H_, W_, align, pp["min_pixels"], pp["max_pixels"]),
                   "resized_wh": [hw[1], hw[0]], "grid_thw": [t, gh, gw], "merged_grid_hw": [gh // 2, gw // 2],
                   "image_tokens": n},
            "llama_cpp_mtmd": lc,
            "sequence": {"prompt_len": int(got["prompt_len"][0]), "total_len": int(len(got["input_ids"])),
                         "image_token_first": first, "image_token_count": n, "continuation_len": len(cont),
                         "first_text_position_after_image": int(got["position_ids"][0, first + n]),
                         "rope_delta": int(got["rope_delta"][0])},
            "map": {"shape": [gh // 2, gw // 2], "cell_px": align, "order": "row-major over the merged grid (row = y)",
                    "rect_resized_xyxy": [0, 0, hw[1], hw[0]], "rect_original_xyxy": [0, 0, W_, H_]},
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
    gg = {}
    with tempfile.TemporaryDirectory() as tmp:
        d = hf_dir_for(cj, hf, wfile, out, tmp)
        for kind, mm, fname in (("text", False, f"{name}-f32.gguf"), ("mmproj", True, f"mmproj-{name}-f32.gguf")):
            log = convert(a.transformers_src, a.llama_cpp, d, os.path.join(out, fname), mm)
            gg[kind] = {"file": fname, "bytes": os.path.getsize(os.path.join(out, fname)), "converter_log_tail": log}
    cj["gguf"] = gg
    cj.pop("suggested_tolerances", None)
    cj["files"] = {f: {"bytes": os.path.getsize(os.path.join(out, f)), "sha256_16": q25.sha16(os.path.join(out, f))}
                   for f in sorted(os.listdir(out)) if f != "cases.json"}
    json.dump(cj, open(os.path.join(out, "cases.json"), "w"), indent=1)
    print(f"wrote {out}", file=sys.stderr)


def cmd_check(a):
    golden_shim457.install(a.transformers_src)
    folder = a.folder
    cj = json.load(open(os.path.join(folder, "cases.json")))
    hf = json.load(open(os.path.join(folder, "hf_config.json")))
    st = safetensors_io.load(os.path.join(folder, "cases.safetensors"))
    ref = Reference(folder, hf, safetensors_io.load(os.path.join(folder, cj["model_name"] + ".safetensors")))
    text, cont = q25.prompt_text(cj), cj["prompt"]["continuation_ids"]
    bad, report = [], {}
    for name, c in cj["cases"].items():
        img = Image.open(os.path.join(folder, c["image"])).convert("RGB")
        got, _ = ref.run_case(img, text, cont)
        rep = {}
        for k, v in got.items():
            want = st[f"{name}.{k}"]
            if want.shape != v.shape:
                bad.append(f"{name}.{k}: shape {v.shape} vs {want.shape}")
            elif np.issubdtype(want.dtype, np.integer):
                rep[k] = "exact" if np.array_equal(want, v) else "DIFFER"
                if rep[k] != "exact":
                    bad.append(f"{name}.{k} differs")
            else:
                rep[k] = float(np.max(np.abs(want.astype(np.float64) - v.astype(np.float64)))) if v.size else 0.0
                if rep[k] > a.tol:
                    bad.append(f"{name}.{k}: max abs {rep[k]:.3g} > {a.tol}")
        hw = [int(x) for x in got["resized_hw"]]
        same = np.array_equal(ref.resized_uint8(img, hw),
                              np.array(Image.open(os.path.join(folder, c["resized_image"])).convert("RGB")))
        rep["resized_png"] = "exact" if same else "DIFFER"
        if not same:
            bad.append(f"{name}: resized png differs")
        report[name] = rep
    if a.llama_cpp:
        with tempfile.TemporaryDirectory() as tmp:
            d = hf_dir_for(cj, hf, os.path.join(folder, cj["model_name"] + ".safetensors"), folder, tmp)
            for kind, mm in (("text", False), ("mmproj", True)):
                o = os.path.join(tmp, kind + ".gguf")
                convert(a.transformers_src, a.llama_cpp, d, o, mm)
                same = open(o, "rb").read() == open(os.path.join(folder, cj["gguf"][kind]["file"]), "rb").read()
                report["gguf_" + kind] = "byte-identical" if same else "DIFFER"
                if not same:
                    bad.append(f"gguf {kind} differs")
    print(json.dumps(report, indent=1))
    if bad:
        print("FAIL:\n  " + "\n  ".join(bad))
        sys.exit(1)
    print(f"OK: {folder} reproduced")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("folder")
    c.add_argument("--transformers-src", required=True)
    c.add_argument("--llama-cpp", default=None)
    c.add_argument("--tol", type=float, default=1e-4)
    m = sub.add_parser("make")
    m.add_argument("out")
    m.add_argument("--transformers-src", required=True)
    m.add_argument("--llama-cpp", required=True)
    m.add_argument("--like", default=os.path.join(ROOT, "tests", "golden", "qwen25vl"))
    m.add_argument("--name", default="qwen3vl-tiny")
    m.add_argument("--seed", type=int, default=3)
    m.add_argument("--v-depth", type=int, default=4)
    m.add_argument("--v-hidden", type=int, default=32)
    m.add_argument("--v-heads", type=int, default=2)
    m.add_argument("--v-inter", type=int, default=64)
    m.add_argument("--pos-side", type=int, default=8, help="the ViT's learned position table is side x side")
    m.add_argument("--deepstack", type=lambda s: [int(x) for x in s.split(",")], default=[0, 2])
    m.add_argument("--t-hidden", type=int, default=64)
    m.add_argument("--t-heads", type=int, default=4)
    m.add_argument("--t-kv", type=int, default=2)
    m.add_argument("--head-dim", type=int, default=16)
    m.add_argument("--t-layers", type=int, default=3)
    m.add_argument("--t-inter", type=int, default=128)
    m.add_argument("--mrope", type=lambda s: [int(x) for x in s.split(",")], default=[2, 3, 3])
    m.add_argument("--image", action="append", required=True, help="NAME:WxH (repeat)")
    m.add_argument("--why", action="append", default=[])
    a = ap.parse_args()
    torch.manual_seed(0)
    torch.set_num_threads(1)
    (cmd_check if a.cmd == "check" else cmd_make)(a)


if __name__ == "__main__":
    main()
