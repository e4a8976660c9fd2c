#!/usr/bin/env python3
"""Random-weight DiffLMM inputs with the real shapes, laid out as the released pieces are, for benchmarks and
converter checks (the numbers mean nothing; the shapes, names and configs are those of the real files):

  <out>/sd/{unet,vae,text_encoder,tokenizer,scheduler}   stable-diffusion-v1-5 in diffusers layout (fp16)
  <out>/clip/                                           openai/clip-vit-large-patch14-336 (CLIPModel names;
                                                        the text tower is left out, the converter skips it)
  <out>/non_lora_trainables.bin                         DiffLMM's SDCLIPBlock for Vicuna-7B (torch.save)
  <out>/config.json                                     DiffLMM's mm_vision_* settings

Then: groundlmm convert-difflmm --sd <out>/sd --clip <out>/clip --projector <out>/non_lora_trainables.bin \\
          --config <out>/config.json -o <out>/difflmm-vision-f16.gguf
Needs PyTorch (Debian: /usr/bin/python3 with python3-torch); writes about 2.6 GB. Never commit the output.
usage: scripts/difflmm-random-model.py <out_dir> [--sd-width 320] [--llm-width 4096]
"""
import argparse
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402  (scripts/safetensors_io.py)

ap = argparse.ArgumentParser()
ap.add_argument("out")
ap.add_argument("--sd-width", type=int, default=320, help="UNet block_out_channels[0] (320 for SD-1.5)")
ap.add_argument("--llm-width", type=int, default=4096, help="LLM hidden size (4096 for Vicuna-7B)")
args = ap.parse_args()
torch.manual_seed(0)


def save_safetensors(path, tensors, dtype=torch.float16):
    safetensors_io.save(path, tensors, dtype=dtype)


def w(*shape):  # a weight scaled by its fan-in, so activations stay in range in f16
    fan_in = 1
    for d in shape[1:]:
        fan_in *= d
    return torch.randn(*shape) / max(fan_in, 1) ** 0.5


def norm(W, p, c):
    W[p + ".weight"] = torch.ones(c)
    W[p + ".bias"] = torch.zeros(c)


def lin(W, p, o, i, bias=True):
    W[p + ".weight"] = w(o, i)
    if bias:
        W[p + ".bias"] = torch.zeros(o)


def conv(W, p, o, i, k):
    W[p + ".weight"] = w(o, i, k, k)
    W[p + ".bias"] = torch.zeros(o)


def resnet(W, p, i, o, temb):
    norm(W, p + ".norm1", i)
    conv(W, p + ".conv1", o, i, 3)
    if temb:
        lin(W, p + ".time_emb_proj", o, temb)
    norm(W, p + ".norm2", o)
    conv(W, p + ".conv2", o, o, 3)
    if i != o:
        conv(W, p + ".conv_shortcut", o, i, 1)


def transformer(W, p, c, cross):
    norm(W, p + ".norm", c)
    conv(W, p + ".proj_in", c, c, 1)
    b = p + ".transformer_blocks.0"
    for n in ("norm1", "norm2", "norm3"):
        norm(W, b + "." + n, c)
    for a, kv in (("attn1", c), ("attn2", cross)):
        lin(W, f"{b}.{a}.to_q", c, c, False)
        lin(W, f"{b}.{a}.to_k", c, kv, False)
        lin(W, f"{b}.{a}.to_v", c, kv, False)
        lin(W, f"{b}.{a}.to_out.0", c, c)
    lin(W, b + ".ff.net.0.proj", 8 * c, c)
    lin(W, b + ".ff.net.2", c, 4 * c)
    conv(W, p + ".proj_out", c, c, 1)


def mkdir(*p):
    d = os.path.join(args.out, *p)
    os.makedirs(d, exist_ok=True)
    return d


# --- UNet (stable-diffusion-v1-5/unet/config.json, widths scaled by --sd-width)
c0 = args.sd_width
boc = [c0, 2 * c0, 4 * c0, 4 * c0]
cross, heads, lpb, te = 768, 8, 2, 4 * c0
unet_cfg = {"_class_name": "UNet2DConditionModel", "act_fn": "silu", "attention_head_dim": heads,
            "block_out_channels": boc, "center_input_sample": False, "cross_attention_dim": cross,
            "down_block_types": ["CrossAttnDownBlock2D"] * 3 + ["DownBlock2D"], "downsample_padding": 1,
            "flip_sin_to_cos": True, "freq_shift": 0, "in_channels": 4, "layers_per_block": lpb,
            "mid_block_scale_factor": 1, "norm_eps": 1e-05, "norm_num_groups": 32, "out_channels": 4,
            "sample_size": 64, "up_block_types": ["UpBlock2D"] + ["CrossAttnUpBlock2D"] * 3}
W = {}
conv(W, "conv_in", c0, 4, 3)
lin(W, "time_embedding.linear_1", te, c0)
lin(W, "time_embedding.linear_2", te, te)
out = c0
skips = [c0]
for i, o in enumerate(boc):
    inp, out = out, o
    for j in range(lpb):
        resnet(W, f"down_blocks.{i}.resnets.{j}", inp if j == 0 else o, o, te)
        if i < 3:
            transformer(W, f"down_blocks.{i}.attentions.{j}", o, cross)
    if i < 3:
        conv(W, f"down_blocks.{i}.downsamplers.0.conv", o, o, 3)
resnet(W, "mid_block.resnets.0", boc[-1], boc[-1], te)
transformer(W, "mid_block.attentions.0", boc[-1], cross)
resnet(W, "mid_block.resnets.1", boc[-1], boc[-1], te)
rev = list(reversed(boc))
prev = rev[0]
for i in range(4):
    o, inp = rev[i], rev[min(i + 1, 3)]
    for j in range(lpb + 1):
        skip = inp if j == lpb else o
        resnet(W, f"up_blocks.{i}.resnets.{j}", (prev if j == 0 else o) + skip, o, te)
        if i > 0:
            transformer(W, f"up_blocks.{i}.attentions.{j}", o, cross)
    if i < 3:
        conv(W, f"up_blocks.{i}.upsamplers.0.conv", o, o, 3)
    prev = o
norm(W, "conv_norm_out", c0)
conv(W, "conv_out", 4, c0, 3)
d = mkdir("sd", "unet")
json.dump(unet_cfg, open(os.path.join(d, "config.json"), "w"), indent=2)
save_safetensors(os.path.join(d, "diffusion_pytorch_model.safetensors"), W)
print("unet", sum(t.numel() for t in W.values()) / 1e6, "M")

# --- VAE encoder (stable-diffusion-v1-5/vae)
vboc = [128, 256, 512, 512]
vae_cfg = {"_class_name": "AutoencoderKL", "act_fn": "silu", "block_out_channels": vboc,
           "down_block_types": ["DownEncoderBlock2D"] * 4, "in_channels": 3, "latent_channels": 4,
           "layers_per_block": 2, "norm_num_groups": 32, "out_channels": 3, "sample_size": 512,
           "scaling_factor": 0.18215, "up_block_types": ["UpDecoderBlock2D"] * 4}
W = {}
conv(W, "encoder.conv_in", vboc[0], 3, 3)
out = vboc[0]
for i, o in enumerate(vboc):
    inp, out = out, o
    for j in range(2):
        resnet(W, f"encoder.down_blocks.{i}.resnets.{j}", inp if j == 0 else o, o, 0)
    if i < 3:
        conv(W, f"encoder.down_blocks.{i}.downsamplers.0.conv", o, o, 3)
resnet(W, "encoder.mid_block.resnets.0", 512, 512, 0)
norm(W, "encoder.mid_block.attentions.0.group_norm", 512)
for n in ("to_q", "to_k", "to_v", "to_out.0"):
    lin(W, "encoder.mid_block.attentions.0." + n, 512, 512)
resnet(W, "encoder.mid_block.resnets.1", 512, 512, 0)
norm(W, "encoder.conv_norm_out", 512)
conv(W, "encoder.conv_out", 8, 512, 3)
conv(W, "quant_conv", 8, 8, 1)
d = mkdir("sd", "vae")
json.dump(vae_cfg, open(os.path.join(d, "config.json"), "w"), indent=2)
save_safetensors(os.path.join(d, "diffusion_pytorch_model.safetensors"), W)

d = mkdir("sd", "scheduler")
json.dump({"_class_name": "PNDMScheduler", "beta_end": 0.012, "beta_schedule": "scaled_linear", "beta_start": 0.00085,
           "num_train_timesteps": 1000, "set_alpha_to_one": False, "skip_prk_steps": True, "steps_offset": 1},
          open(os.path.join(d, "scheduler_config.json"), "w"), indent=2)


def clip_layers(W, p, n, c, ff):
    for i in range(n):
        q = f"{p}.encoder.layers.{i}"
        norm(W, q + ".layer_norm1", c)
        norm(W, q + ".layer_norm2", c)
        for a in ("q_proj", "k_proj", "v_proj", "out_proj"):
            lin(W, f"{q}.self_attn.{a}", c, c)
        lin(W, q + ".mlp.fc1", ff, c)
        lin(W, q + ".mlp.fc2", c, ff)


# --- SD-1.5 text encoder (openai CLIP-L/14 text tower) and tokenizer
W = {"text_model.embeddings.token_embedding.weight": torch.randn(49408, 768) * 0.02,
     "text_model.embeddings.position_embedding.weight": torch.randn(77, 768) * 0.01}
clip_layers(W, "text_model", 12, 768, 3072)
norm(W, "text_model.final_layer_norm", 768)
d = mkdir("sd", "text_encoder")
json.dump({"architectures": ["CLIPTextModel"], "hidden_act": "quick_gelu", "hidden_size": 768,
           "intermediate_size": 3072, "layer_norm_eps": 1e-05, "max_position_embeddings": 77,
           "model_type": "clip_text_model", "num_attention_heads": 12, "num_hidden_layers": 12,
           "projection_dim": 768, "vocab_size": 49408}, open(os.path.join(d, "config.json"), "w"), indent=2)
save_safetensors(os.path.join(d, "model.safetensors"), W)
d = mkdir("sd", "tokenizer")
vocab = {f"tok{i}</w>": i for i in range(49406)}
vocab["<|startoftext|>"] = 49406
vocab["<|endoftext|>"] = 49407
json.dump(vocab, open(os.path.join(d, "vocab.json"), "w"))
json.dump({"bos_token": {"content": "<|startoftext|>"}, "eos_token": {"content": "<|endoftext|>"},
           "pad_token": "<|endoftext|>", "unk_token": {"content": "<|endoftext|>"}},
          open(os.path.join(d, "special_tokens_map.json"), "w"))

# --- CLIP ViT-L/14-336 vision tower (CLIPModel names)
W = {"vision_model.embeddings.class_embedding": torch.randn(1024) * 0.02,
     "vision_model.embeddings.patch_embedding.weight": w(1024, 3, 14, 14),
     "vision_model.embeddings.position_embedding.weight": torch.randn(577, 1024) * 0.02}
norm(W, "vision_model.pre_layrnorm", 1024)
clip_layers(W, "vision_model", 24, 1024, 4096)
norm(W, "vision_model.post_layernorm", 1024)
d = mkdir("clip")
json.dump({"architectures": ["CLIPModel"], "model_type": "clip", "projection_dim": 768,
           "vision_config": {"hidden_act": "quick_gelu", "hidden_size": 1024, "image_size": 336,
                             "intermediate_size": 4096, "layer_norm_eps": 1e-05, "num_attention_heads": 16,
                             "num_hidden_layers": 24, "patch_size": 14, "projection_dim": 768}},
          open(os.path.join(d, "config.json"), "w"), indent=2)
save_safetensors(os.path.join(d, "model.safetensors"), W)

# --- the SDCLIPBlock (mm_hidden_size [1280, 1280, 640, 320, 1024], select layer 1, concat CLIP, pe 576)
E = args.llm_width
P = {"clip_projector.0.weight": w(768, 1024), "clip_projector.0.bias": torch.zeros(768),
     "clip_projector.2.weight": w(768, 768), "clip_projector.2.bias": torch.zeros(768),
     "sd_norm_layer.weight": torch.ones(4 * c0), "sd_norm_layer.bias": torch.zeros(4 * c0),
     "sd_proj_layer.0.weight": w(E // 4, 4 * c0, 1, 1), "sd_proj_layer.0.bias": torch.zeros(E // 4),
     "linear.0.weight": w(E, E // 4 + 1024), "linear.0.bias": torch.zeros(E),
     "linear.2.weight": w(E, E), "linear.2.bias": torch.zeros(E),
     "clip_pe": torch.randn(576, 768) * 0.02, "vt_pe": torch.randn(576, E) * 0.02}
torch.save({"base_model.model.model.mm_projector." + k: v.to(torch.float16) for k, v in P.items()},
           os.path.join(args.out, "non_lora_trainables.bin"))
json.dump({"mm_projector_type": "SDCLIPBlock", "mm_vision_select_layer": 1, "mm_vision_sd_timestep": 100,
           "mm_vision_sd_ensemble_size": 1, "mm_vision_sd_clip": "openai/clip-vit-large-patch14-336",
           "mm_vision_sd_concat_clip": True, "mm_vision_sd_implicit_caption": True, "mm_vision_sd_pe": 576,
           "mm_vision_resolution": 384, "image_aspect_ratio": "pad", "hidden_size": E},
          open(os.path.join(args.out, "config.json"), "w"), indent=2)
print("wrote", args.out)
