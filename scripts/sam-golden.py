#!/usr/bin/python3
# Writes a golden folder in the format of tests/golden/sam from the official segment-anything code, for any
# model shape and image: a randomly initialised Sam (every parameter random, so rel-pos tables and norms
# matter), its state_dict as sam-tiny.pth (+ .safetensors), an image, and SamPredictor's outputs for a set
# of prompt cases. Used to check test-golden-sam on other shapes (portrait images, other widths, depths,
# global blocks, window sizes, head counts) and on what the shipped golden does not cover (box + points,
# negative-only points, dense mask prompts).
#
#   /usr/bin/python3 scripts/sam-golden.py /tmp/sam-official /tmp/sam-variant --width 240 --height 320 \
#       --embed 96 --depth 5 --heads 3 --global 0,4 --window 10 --prompt-dim 32
#   build/bin/test-golden-sam /tmp/sam-variant
#
# The official code is read from its checkout (first argument, e.g. `git archive` of
# facebookresearch/segment-anything); nothing of it is copied here. Needs python3-torch, python3-torchvision,
# python3-numpy and python3-pil (Debian).
import argparse
import json
import os
import sys
from functools import partial

import numpy as np
import torch
from PIL import Image

ap = argparse.ArgumentParser()
ap.add_argument("official", help="segment-anything checkout (the folder holding segment_anything/)")
ap.add_argument("out", help="output folder")
ap.add_argument("--width", type=int, default=240)
ap.add_argument("--height", type=int, default=320)
ap.add_argument("--embed", type=int, default=96)
ap.add_argument("--depth", type=int, default=5)
ap.add_argument("--heads", type=int, default=3)
ap.add_argument("--global", dest="glob", default="0,4")
ap.add_argument("--window", type=int, default=10)
ap.add_argument("--img-size", type=int, default=1024)
ap.add_argument("--patch", type=int, default=16)
ap.add_argument("--prompt-dim", type=int, default=32)
ap.add_argument("--dec-depth", type=int, default=3)
ap.add_argument("--dec-heads", type=int, default=2)
ap.add_argument("--dec-mlp", type=int, default=96)
ap.add_argument("--iou-depth", type=int, default=2)
ap.add_argument("--iou-hidden", type=int, default=48)
ap.add_argument("--mask-in", type=int, default=8)
ap.add_argument("--multimask", type=int, default=4)
ap.add_argument("--rel-pos-len", type=int, default=0,
                help="store windowed blocks' rel-pos tables with this many rows (interpolated at run time)")
ap.add_argument("--seed", type=int, default=1)
args = ap.parse_args()

sys.path.insert(0, args.official)
from segment_anything.modeling import ImageEncoderViT, MaskDecoder, PromptEncoder, Sam, TwoWayTransformer  # noqa: E402
from segment_anything.predictor import SamPredictor  # noqa: E402
from segment_anything.utils.transforms import ResizeLongestSide  # noqa: E402

torch.manual_seed(args.seed)
np.random.seed(args.seed)
glob = [int(x) for x in args.glob.split(",") if x != ""]
grid = args.img_size // args.patch
sam = Sam(
    image_encoder=ImageEncoderViT(
        depth=args.depth, embed_dim=args.embed, img_size=args.img_size, mlp_ratio=4,
        norm_layer=partial(torch.nn.LayerNorm, eps=1e-6), num_heads=args.heads, patch_size=args.patch,
        qkv_bias=True, use_rel_pos=True, global_attn_indexes=glob, window_size=args.window,
        out_chans=args.prompt_dim),
    prompt_encoder=PromptEncoder(
        embed_dim=args.prompt_dim, image_embedding_size=(grid, grid),
        input_image_size=(args.img_size, args.img_size), mask_in_chans=args.mask_in),
    mask_decoder=MaskDecoder(
        num_multimask_outputs=args.multimask,
        transformer=TwoWayTransformer(depth=args.dec_depth, embedding_dim=args.prompt_dim,
                                      mlp_dim=args.dec_mlp, num_heads=args.dec_heads),
        transformer_dim=args.prompt_dim, iou_head_depth=args.iou_depth, iou_head_hidden_dim=args.iou_hidden),
)
if args.rel_pos_len > 0:
    # tables of another length than 2*window-1: the official get_rel_pos interpolates them linearly
    for i, blk in enumerate(sam.image_encoder.blocks):
        if i not in glob:
            hd = blk.attn.rel_pos_h.shape[1]
            blk.attn.rel_pos_h = torch.nn.Parameter(torch.zeros(args.rel_pos_len, hd))
            blk.attn.rel_pos_w = torch.nn.Parameter(torch.zeros(args.rel_pos_len, hd))
with torch.no_grad():
    for name, p in sam.named_parameters():
        if name.endswith("bias"):
            p.copy_(torch.randn_like(p) * 0.1)
        elif p.dim() == 1:  # LayerNorm / LayerNorm2d weights
            p.copy_(1.0 + torch.randn_like(p) * 0.2)
        elif "rel_pos" in name or "pos_embed" in name or "embed" in name or "token" in name:
            p.copy_(torch.randn_like(p) * 0.2)
        else:
            fan_in = p[0].numel()
            p.copy_(torch.randn_like(p) / np.sqrt(fan_in))
sam.eval()

os.makedirs(args.out, exist_ok=True)
sd = sam.state_dict()
torch.save(sd, os.path.join(args.out, "sam-tiny.pth"))

# an image with a few flat shapes on a gradient, plus noise
H, W = args.height, args.width
yy, xx = np.mgrid[0:H, 0:W]
img = np.stack([xx * 255.0 / W, yy * 255.0 / H, np.full((H, W), 96.0)], -1)
img[(xx - W * 0.35) ** 2 + (yy - H * 0.4) ** 2 < (min(H, W) * 0.2) ** 2] = [220, 40, 40]
img[(abs(xx - W * 0.7) < W * 0.12) & (abs(yy - H * 0.7) < H * 0.15)] = [30, 200, 60]
img += np.random.randn(H, W, 3) * 8
img = np.clip(img, 0, 255).astype(np.uint8)
Image.fromarray(img).save(os.path.join(args.out, "image.png"))

pred = SamPredictor(sam)
pred.set_image(img)
resized = ResizeLongestSide(args.img_size).apply_image(img)
Image.fromarray(resized).save(os.path.join(args.out, "image_resized.png"))
x = sam.preprocess(torch.as_tensor(resized).permute(2, 0, 1).contiguous()[None])
tensors = {
    "image_embeddings": pred.features[0].contiguous(),
    "input_tensor_stats": torch.tensor([x.mean().item(), x.std().item(), x.abs().max().item()]),
}

cases = [
    {"name": "point_center", "points": [[W // 2, H // 2]], "labels": [1], "multimask": True},
    {"name": "point_edge", "points": [[W - 1, 3]], "labels": [1], "multimask": False},
    {"name": "pos_neg", "points": [[W // 3, H // 3], [2 * W // 3, 2 * H // 3]], "labels": [1, 0], "multimask": False},
    {"name": "neg_only", "points": [[W // 4, H - 5]], "labels": [0], "multimask": True},
    {"name": "box", "box": [W // 4, H // 5, 3 * W // 4, 4 * H // 5], "multimask": False},
    {"name": "box_points", "points": [[W // 2, H // 2], [W // 5, H // 5]], "labels": [1, 0],
     "box": [W // 6, H // 6, 5 * W // 6, 5 * H // 6], "multimask": True},
]
for c in cases:
    pts = np.array(c["points"], dtype=np.float32) if "points" in c else None
    lab = np.array(c["labels"], dtype=np.int32) if "labels" in c else None
    box = np.array(c["box"], dtype=np.float32) if "box" in c else None
    masks, iou, low = pred.predict(point_coords=pts, point_labels=lab, box=box, multimask_output=c["multimask"])
    n = c["name"]
    tensors[n + ".masks"] = torch.from_numpy(masks.astype(np.uint8))
    tensors[n + ".iou_predictions"] = torch.from_numpy(iou)
    tensors[n + ".low_res_logits"] = torch.from_numpy(low)
    if pts is not None:
        tensors[n + ".points"] = torch.from_numpy(pts)
        tensors[n + ".labels"] = torch.from_numpy(lab)
    if box is not None:
        tensors[n + ".box"] = torch.from_numpy(box)
    if n == "point_center":
        # a dense mask prompt: the best low-res logits of this case, fed back with a new point
        best = int(np.argmax(iou))
        mask_in = low[best][None]
        m2, i2, l2 = pred.predict(point_coords=np.array([[W // 3, H // 2]], np.float32),
                                  point_labels=np.array([1], np.int32), mask_input=mask_in, multimask_output=False)
        cases_extra = {"name": "mask_prompt", "points": [[W // 3, H // 2]], "labels": [1], "multimask": False,
                       "mask_input": "mask_prompt.mask_input"}
        tensors["mask_prompt.mask_input"] = torch.from_numpy(np.ascontiguousarray(mask_in[0]))
        tensors["mask_prompt.masks"] = torch.from_numpy(m2.astype(np.uint8))
        tensors["mask_prompt.iou_predictions"] = torch.from_numpy(i2)
        tensors["mask_prompt.low_res_logits"] = torch.from_numpy(l2)
cases.append(cases_extra)


# safetensors by hand (the Debian packages have no safetensors module)
def write_st(path, ts, meta=None):
    dt = {torch.float32: "F32", torch.uint8: "U8", torch.int32: "I32"}
    header, blobs, off = {}, [], 0
    for k in sorted(ts):
        t = ts[k].contiguous()
        b = t.numpy().tobytes()
        header[k] = {"dtype": dt[t.dtype], "shape": list(t.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    if meta:
        header["__metadata__"] = meta
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)


write_st(os.path.join(args.out, "cases.safetensors"), tensors)
write_st(os.path.join(args.out, "sam-tiny.safetensors"), {k: v.float() for k, v in sd.items()},
         {"format": "segment-anything state_dict", "encoder_num_heads": str(args.heads),
          "decoder_num_heads": str(args.dec_heads)})
info = {
    "reference": "facebookresearch/segment-anything (official), SamPredictor, float32, CPU (scripts/sam-golden.py)",
    "model": {
        "encoder_depth": args.depth, "encoder_embed_dim": args.embed, "encoder_num_heads": args.heads,
        "encoder_global_attn_indexes": glob, "window_size": args.window, "patch_size": args.patch,
        "img_size": args.img_size, "prompt_embed_dim": args.prompt_dim, "decoder_depth": args.dec_depth,
        "decoder_heads": args.dec_heads, "decoder_mlp_dim": args.dec_mlp, "iou_head_depth": args.iou_depth,
        "iou_head_hidden_dim": args.iou_hidden, "mask_in_chans": args.mask_in,
        "num_multimask_outputs": args.multimask, "layer_norm_eps": 1e-6, "mask_threshold": 0.0,
    },
    "image": {"file": "image.png", "width": W, "height": H},
    "cases": cases,
    "seed": args.seed,
}
with open(os.path.join(args.out, "cases.json"), "w") as f:
    json.dump(info, f, indent=2)
print("wrote", args.out)
