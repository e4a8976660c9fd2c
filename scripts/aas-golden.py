#!/usr/bin/python3
# Float32 PyTorch reference of the attend-and-segment post-processing and writer of golden folders in the format
# of tests/golden/aas (aas.json + aas.safetensors), for any grid, token count, phrase count, image size and setting.
# The steps are those of the official code (github Shengcao-Cao/groundLMM, aas/gcg.py), written here anew:
#
#   attentions - attentions.mean(dim=0)                                   -> <case>.normalized  [T, gh, gw]
#   stack(attentions[group].mean(dim=0) for each group)                   -> <case>.group_maps  [G, gh, gw]
#     (with remove_corner: the 4 corner cells of every map := min over the whole stack)
#   F.interpolate(maps[None], size, mode="bicubic", align_corners=False)[0]
#     'pad': size (side, side), side = max(H, W), crop rows (side-H)//2.., columns (side-W)//2..
#     'original': size (H, W)                                             -> <case>.upsampled   [G, H, W]
#   argmax over each flattened H x W map (first maximum), as (x, y)       -> <case>.points      [G, 2] int32
#
#   /usr/bin/python3 scripts/aas-golden.py check tests/golden/aas
#       recomputes every stored tensor of a folder from its own attention and groups; exit 1 on any difference
#       beyond 1e-6 (floats) or any differing point
#   /usr/bin/python3 scripts/aas-golden.py make /tmp/aas-var --seed 3 --grid 7 --tokens 12 --phrases 3 \
#       --case wide:900x200 --case tall:300x700:original --case tiny:3x2:pad:corner
#   build/bin/test-golden-aas /tmp/aas-var
#
# A case is NAME:WxH[:pad|original][:corner]; --grid is N or GHxGW. The attention rows are random softmax maps
# (each with a random mass below 1, as attention to the image tokens is a share of the whole row), groups are random
# sorted sets of distinct tokens (1 to 3 tokens; a group may repeat another's tokens, as phrases sharing a head do).
# Upsampled maps are stored when H*W <= --max-stored pixels (the points are always stored).
# Needs python3-torch and python3-numpy (Debian), nothing else.
# The bicubic rounding of torch's CPU kernel depends on the build it dispatches to: run it as PyTorch does by
# default on x86-64 with AVX2 (tests/golden/aas matches that bit for bit); ATEN_CPU_CAPABILITY=default (no SIMD) rounds
# differently (~1e-7), which moves argmax points on flat maps (very coarse grids stretched far).
import argparse
import json
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402  (scripts/safetensors_io.py)

def read_safetensors(path):
    return {k: torch.from_numpy(v) for k, v in safetensors_io.load(path).items()}


def write_safetensors(path, tensors):
    safetensors_io.save(path, tensors)  # sorted names, compact header: the layout of safetensors.torch.save_file


def post_process(attention, groups, width, height, aspect, remove_corner):
    """attention [T, gh, gw] float32 -> normalized, group_maps, upsampled [G, H, W], points [G, 2] (x, y)"""
    attentions = attention.float()
    normalized = attentions - attentions.mean(dim=0)
    group_maps = torch.stack([normalized[g].mean(dim=0) for g in groups])
    if remove_corner:
        min_value = group_maps.min()
        group_maps[:, 0, 0] = min_value
        group_maps[:, 0, -1] = min_value
        group_maps[:, -1, 0] = min_value
        group_maps[:, -1, -1] = min_value
    if aspect == "pad":
        side = max(height, width)
        y0 = (side - height) // 2
        x0 = (side - width) // 2
        up = F.interpolate(group_maps.unsqueeze(0), size=(side, side), mode="bicubic", align_corners=False).squeeze(0)
        up = up[:, y0:y0 + height, x0:x0 + width]
    elif aspect == "original":
        up = F.interpolate(group_maps.unsqueeze(0), size=(height, width), mode="bicubic",
                           align_corners=False).squeeze(0)
    else:
        raise ValueError(f"aspect: expected 'pad' or 'original', got {aspect!r}")
    n, h, w = up.shape
    idx = torch.argmax(up.reshape(n, -1), dim=1)
    points = torch.stack([idx % w, idx // w], dim=1).to(torch.int32)
    return normalized, group_maps, up.contiguous(), points


def check(folder):
    meta = json.load(open(os.path.join(folder, "aas.json")))
    st = read_safetensors(os.path.join(folder, "aas.safetensors"))
    bad = 0
    for c in meta["cases"]:
        name = c["name"]
        att = st[name + ".attention"]
        normalized, group_maps, up, points = post_process(att, c["groups"], c["width"], c["height"], c["aspect"],
                                                          c["remove_corner"])
        got = {"normalized": normalized, "group_maps": group_maps, "upsampled": up}
        line = f"{name}: T={att.shape[0]} grid {att.shape[1]}x{att.shape[2]} {c['width']}x{c['height']} {c['aspect']}"
        for k, v in got.items():
            key = f"{name}.{k}"
            if key not in st:
                if k != "upsampled" or c.get("upsampled_stored", False):
                    print(f"  missing {key}")
                    bad += 1
                continue
            ref = st[key]
            if list(ref.shape) != list(v.shape):
                print(f"  {key}: shape {list(v.shape)} vs stored {list(ref.shape)}")
                bad += 1
                continue
            err = (v - ref).abs().max().item()
            line += f"  {k} {err:.2e}"
            if err > 1e-6:
                bad += 1
        ref_pts = st[name + ".points"]
        same = torch.equal(points, ref_pts)
        line += "  points " + ("identical" if same else f"DIFFER {points.tolist()} vs {ref_pts.tolist()}")
        bad += 0 if same else 1
        print(line)
    print("check:", "ok" if bad == 0 else f"{bad} problems")
    return bad == 0


def parse_grid(s):
    parts = s.lower().split("x")
    gh, gw = (int(parts[0]), int(parts[0])) if len(parts) == 1 else (int(parts[0]), int(parts[1]))
    if gh <= 0 or gw <= 0:
        raise SystemExit(f"--grid: expected N or GHxGW with positive sizes, got {s!r}")
    return gh, gw


def parse_case(s):
    parts = s.split(":")
    if len(parts) < 2:
        raise SystemExit(f"--case: expected NAME:WxH[:pad|original][:corner], got {s!r}")
    w, h = (int(v) for v in parts[1].lower().split("x"))
    aspect, corner = "pad", False
    for p in parts[2:]:
        if p in ("pad", "original"):
            aspect = p
        elif p == "corner":
            corner = True
        else:
            raise SystemExit(f"--case {s!r}: unknown field {p!r}")
    return {"name": parts[0], "width": w, "height": h, "aspect": aspect, "remove_corner": corner}


def random_attention(gen, T, gh, gw):
    logits = torch.randn(T, gh * gw, generator=gen) * (1.0 + 2.0 * torch.rand(T, 1, generator=gen))
    mass = 0.1 + 0.8 * torch.rand(T, 1, generator=gen)
    return (torch.softmax(logits, dim=1) * mass).reshape(T, gh, gw).float()


def random_groups(gen, T, G):
    groups = []
    for _ in range(G):
        k = int(torch.randint(1, min(3, T) + 1, (1,), generator=gen))
        groups.append(sorted(torch.randperm(T, generator=gen)[:k].tolist()))
    return groups


def make(args):
    gh, gw = parse_grid(args.grid)
    cases = [parse_case(s) for s in args.case] or [
        {"name": "landscape_pad", "width": 120, "height": 90, "aspect": "pad", "remove_corner": False},
        {"name": "portrait_original", "width": 90, "height": 130, "aspect": "original", "remove_corner": False},
        {"name": "corner_removed", "width": 110, "height": 80, "aspect": "pad", "remove_corner": True},
    ]
    gen = torch.Generator().manual_seed(args.seed)
    tensors, out_cases = {}, []
    for c in cases:
        if c["width"] <= 0 or c["height"] <= 0:
            raise SystemExit(f"case {c['name']}: invalid image size {c['width']}x{c['height']}")
        att = random_attention(gen, args.tokens, gh, gw)
        groups = random_groups(gen, args.tokens, args.phrases)
        normalized, group_maps, up, points = post_process(att, groups, c["width"], c["height"], c["aspect"],
                                                          c["remove_corner"])
        pre = c["name"] + "."
        tensors[pre + "attention"] = att
        tensors[pre + "normalized"] = normalized
        tensors[pre + "group_maps"] = group_maps
        stored = c["width"] * c["height"] <= args.max_stored
        if stored:
            tensors[pre + "upsampled"] = up
        tensors[pre + "points"] = points
        out_cases.append(dict(c, groups=groups, upsampled_stored=stored))
        print(f"{c['name']}: T={args.tokens} grid {gh}x{gw} {c['width']}x{c['height']} {c['aspect']}"
              f"{' corner' if c['remove_corner'] else ''} groups {groups} points {points.tolist()}")
    g = f"{gh} x {gw}"
    meta = {
        "reference": "official attend-and-segment post-processing (PyTorch F.interpolate bicubic, "
                     "align_corners=False, A=-0.75, border clamp), float32; scripts/aas-golden.py "
                     + " ".join(sys.argv[2:]),
        "tensors": {
            "<case>.attention": f"T x {g} raw attention to image tokens, per output token",
            "<case>.normalized": f"T x {g} after subtracting the mean over the T output tokens",
            "<case>.group_maps": f"G x {g} mean of normalized maps over each group's tokens",
            "<case>.upsampled": "G x H x W upsampled (and cropped) maps, small cases only",
            "<case>.points": "G x 2 argmax (x, y) in original image pixels; ties: first in row-major",
        },
        "cases": out_cases,
        "seed": args.seed,
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "aas.json"), "w") as f:
        json.dump(meta, f, indent=2)
    write_safetensors(os.path.join(args.out, "aas.safetensors"), tensors)
    print(f"wrote {args.out}/aas.json and aas.safetensors ({len(out_cases)} cases)")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check", help="recompute a golden folder from its own inputs")
    c.add_argument("folder")
    m = sub.add_parser("make", help="write a golden folder from random inputs")
    m.add_argument("out")
    m.add_argument("--seed", type=int, default=0)
    m.add_argument("--grid", default="24", help="N or GHxGW image-token grid")
    m.add_argument("--tokens", type=int, default=20, help="output tokens T")
    m.add_argument("--phrases", type=int, default=4, help="groups G per case")
    m.add_argument("--case", action="append", default=[], help="NAME:WxH[:pad|original][:corner], repeatable")
    m.add_argument("--max-stored", type=int, default=200000, help="store upsampled maps up to this many pixels")
    args = ap.parse_args()
    torch.set_num_threads(1)
    if os.environ.get("ATEN_CPU_CAPABILITY", "") == "default":
        print("warning: ATEN_CPU_CAPABILITY=default rounds bicubic differently from the AVX2 kernel the goldens use",
              file=sys.stderr)
    if args.cmd == "check":
        sys.exit(0 if check(args.folder) else 1)
    if args.tokens <= 0 or args.phrases <= 0:
        raise SystemExit("--tokens and --phrases must be positive")
    make(args)


if __name__ == "__main__":
    main()
