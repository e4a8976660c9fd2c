#!/usr/bin/env python3
"""Writes tests/data/difflmm: reference values for the DiffLMM unit tests, computed with PyTorch (CPU, float32).

  text_encoder/ + tokenizer/   a tiny random CLIPTextModel in transformers' layout (names, config.json) and a
                               CLIPTokenizer vocabulary whose pad token differs from EOS (as SD-2's does)
  reference.safetensors        null_prompt: last_hidden_state for "" padded to max_length (BOS, EOS, pad...)
                               randn_<seed>_<i>: torch.manual_seed(seed) then successive torch.randn(n) draws
                               alphas_cumprod_<schedule>: DDIMScheduler's alphas_cumprod in float32
  projector.bin / .safetensors the same small random SDCLIPBlock state, once as LLaVA's non_lora_trainables.bin
                               (torch.save, "base_model.model.model.mm_projector." names, one non-projector
                               tensor, a transposed storage) and once as safetensors ("mm_projector." names)

The text model's forward is written out here with plain torch ops, following transformers' CLIPTextTransformer
(causal mask, pre-LN layers, quick_gelu, final LayerNorm), since transformers is not needed for it.
Run with Debian's PyTorch:  /usr/bin/python3 scripts/difflmm-fixtures.py [out_dir]
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402  (scripts/safetensors_io.py)

out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "tests", "data", "difflmm")
os.makedirs(os.path.join(out, "text_encoder"), exist_ok=True)
os.makedirs(os.path.join(out, "tokenizer"), exist_ok=True)


def save_safetensors(path, tensors):
    safetensors_io.save(path, tensors, dtype=torch.float32)


# --- a tiny CLIP text encoder
torch.manual_seed(7)
V, P, C, F, H, L = 64, 77, 32, 64, 4, 2
cfg = {"model_type": "clip_text_model", "vocab_size": V, "max_position_embeddings": P, "hidden_size": C,
       "intermediate_size": F, "num_attention_heads": H, "num_hidden_layers": L, "hidden_act": "quick_gelu",
       "layer_norm_eps": 1e-5}
W = {"text_model.embeddings.token_embedding.weight": torch.randn(V, C),
     "text_model.embeddings.position_embedding.weight": torch.randn(P, C) * 0.5}
for i in range(L):
    p = f"text_model.encoder.layers.{i}."
    for n, shape in [("layer_norm1", (C,)), ("layer_norm2", (C,))]:
        W[p + n + ".weight"] = 1 + 0.1 * torch.randn(shape)
        W[p + n + ".bias"] = 0.1 * torch.randn(shape)
    for n, (o, k) in [("self_attn.q_proj", (C, C)), ("self_attn.k_proj", (C, C)), ("self_attn.v_proj", (C, C)),
                      ("self_attn.out_proj", (C, C)), ("mlp.fc1", (F, C)), ("mlp.fc2", (C, F))]:
        W[p + n + ".weight"] = torch.randn(o, k) / k ** 0.5
        W[p + n + ".bias"] = 0.1 * torch.randn(o)
W["text_model.final_layer_norm.weight"] = 1 + 0.1 * torch.randn(C)
W["text_model.final_layer_norm.bias"] = 0.1 * torch.randn(C)
save_safetensors(os.path.join(out, "text_encoder", "model.safetensors"), W)
json.dump(cfg, open(os.path.join(out, "text_encoder", "config.json"), "w"), indent=2)

vocab = {f"t{i}": i for i in range(V)}
vocab.pop("t0"), vocab.pop(f"t{V - 2}"), vocab.pop(f"t{V - 1}")
vocab["!"] = 0
vocab["<|startoftext|>"] = V - 2
vocab["<|endoftext|>"] = V - 1
json.dump(vocab, open(os.path.join(out, "tokenizer", "vocab.json"), "w"))
json.dump({"bos_token": {"content": "<|startoftext|>"}, "eos_token": "<|endoftext|>", "pad_token": "!",
           "unk_token": "<|endoftext|>"}, open(os.path.join(out, "tokenizer", "special_tokens_map.json"), "w"))

ids = torch.tensor([V - 2, V - 1] + [0] * (P - 2))


def ln(x, p):
    return torch.nn.functional.layer_norm(x, (C,), W[p + ".weight"], W[p + ".bias"], 1e-5)


def lin(x, p):
    return torch.nn.functional.linear(x, W[p + ".weight"], W[p + ".bias"])


x = W["text_model.embeddings.token_embedding.weight"][ids] + W["text_model.embeddings.position_embedding.weight"][:P]
mask = torch.full((P, P), torch.finfo(torch.float32).min).triu(1)
D = C // H
for i in range(L):
    p = f"text_model.encoder.layers.{i}."
    r = x
    h = ln(x, p + "layer_norm1")
    q = (lin(h, p + "self_attn.q_proj") * D ** -0.5).view(P, H, D).transpose(0, 1)
    k = lin(h, p + "self_attn.k_proj").view(P, H, D).transpose(0, 1)
    v = lin(h, p + "self_attn.v_proj").view(P, H, D).transpose(0, 1)
    a = torch.softmax(q @ k.transpose(1, 2) + mask, dim=-1) @ v
    x = r + lin(a.transpose(0, 1).reshape(P, C), p + "self_attn.out_proj")
    h = lin(ln(x, p + "layer_norm2"), p + "mlp.fc1")
    h = h * torch.sigmoid(1.702 * h)
    x = x + lin(h, p + "mlp.fc2")
x = ln(x, "text_model.final_layer_norm")

ref = {"null_prompt": x}

# --- PyTorch's CPU generator
for seed, sizes in [(0, [37, 100]), (12345, [16, 9216])]:
    torch.manual_seed(seed)
    for i, n in enumerate(sizes):
        ref[f"randn_{seed}_{i}"] = torch.randn(n)

# --- DDIMScheduler.__init__ schedules (float32)
b = torch.linspace(0.00085 ** 0.5, 0.012 ** 0.5, 1000, dtype=torch.float32) ** 2
ref["alphas_cumprod_scaled_linear"] = torch.cumprod(1.0 - b, dim=0)
b = torch.linspace(0.0001, 0.02, 1000, dtype=torch.float32)
ref["alphas_cumprod_linear"] = torch.cumprod(1.0 - b, dim=0)

save_safetensors(os.path.join(out, "reference.safetensors"), ref)

# --- a small SDCLIPBlock state dict (clip_in 8, clip_out 6, SD channels 16, out 12, pe 9)
torch.manual_seed(11)
proj = {"clip_projector.0.weight": torch.randn(6, 8), "clip_projector.0.bias": torch.randn(6),
        "clip_projector.2.weight": torch.randn(6, 6), "clip_projector.2.bias": torch.randn(6),
        "sd_norm_layer.weight": torch.randn(16), "sd_norm_layer.bias": torch.randn(16),
        "sd_proj_layer.0.weight": torch.randn(3, 16, 1, 1), "sd_proj_layer.0.bias": torch.randn(3),
        "linear.0.weight": torch.randn(12, 3 + 8), "linear.0.bias": torch.randn(12),
        "linear.2.weight": torch.randn(12, 12), "linear.2.bias": torch.randn(12),
        "clip_pe": torch.randn(6, 9).t(), "vt_pe": torch.randn(9, 12)}
bin_state = {"base_model.model.model.mm_projector." + k: v for k, v in proj.items()}
bin_state["base_model.model.model.embed_tokens.weight"] = torch.randn(5, 12)
torch.save(bin_state, os.path.join(out, "projector.bin"))
save_safetensors(os.path.join(out, "projector.safetensors"), {"mm_projector." + k: v for k, v in proj.items()})
print("wrote", out, "torch", torch.__version__)
