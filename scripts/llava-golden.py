#!/usr/bin/env python3
"""A plain-PyTorch float32 LLaVA-1.5 reference (HF llava-hf semantics) and a writer of golden folders in the
format of tests/golden/llava (cases.json, cases.safetensors, llava-tiny.safetensors-style weights, the two GGUF
files as llama.cpp's converters write them, hf_config.json, tokenizer.model, image.png, image_mtmd_preproc.png).

  check  <folder>                 recompute every tensor of <folder>/cases.safetensors from the folder's HF
                                  weights, image and token ids, and compare (validates this reference); also
                                  rewrite the folder's GGUF files with our writer into a temp dir and compare
                                  their metadata and tensors with the folder's.
  make   <out> [--seed ..]        a new folder with random weights of the given shapes, a synthetic image of
                                  the given size (portrait by default), question and continuation.

Semantics (what the C++ must reproduce):
  preprocessing   expand2square with int(mean*255) centred, PIL bicubic resize of the uint8 square to
                  image_size, x/255 in float64 then float32, (x - mean) / std in float32, CHW RGB.
  vision          HF CLIPVisionModel: conv patches (no bias), CLS FIRST, + position embeddings, pre-LN, pre-LN
                  encoder layers with quick_gelu, hidden_states[-2] (L-1 layers run), CLS dropped.
  projector       Linear -> GELU (erf) -> Linear.
  LLM             LLaMA: RMSNorm, GQA (query head h uses kv head h // (H/KV)), HF rotate_half RoPE, SwiGLU.
  mtmd_emul.*     what llama.cpp's mtmd computes for such an mmproj: resize-then-pad (PAD_CEIL), CLS appended
                  AFTER the patches with positions 0..N, L-2 layers, rows 1..N kept, tanh GELU.

Needs Debian's PyTorch (/usr/bin/python3 with python3-torch python3-numpy python3-pil python3-sentencepiece) and
gguf-py from the pinned llama.cpp tree (third_party/llama.cpp/gguf-py, or --gguf-py).
"""
import argparse
import copy
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402  (scripts/safetensors_io.py)

ROOT = Path(__file__).resolve().parent.parent
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
SYSTEM = ("A chat between a curious human and an artificial intelligence assistant. The assistant gives helpful, "
          "detailed, and polite answers to the human's questions.")
N_GREEDY = 10

# ----------------------------------------------------------------------------------------------- safetensors


st_read = safetensors_io.load
st_write = safetensors_io.save  # sorted names, compact header (as the golden's files)


# ------------------------------------------------------------------------------------------------- config


class Cfg:
    """Model shapes from an HF LLaVA config (text_config / vision_config)."""

    def __init__(self, hf):
        t, v = hf["text_config"], hf["vision_config"]
        self.t_hidden, self.t_heads = t["hidden_size"], t["num_attention_heads"]
        self.t_kv = t.get("num_key_value_heads", self.t_heads)
        self.t_layers, self.t_inter = t["num_hidden_layers"], t["intermediate_size"]
        self.vocab, self.rms_eps, self.theta = t["vocab_size"], t["rms_norm_eps"], t.get("rope_theta", 10000.0)
        self.v_hidden, self.v_heads = v["hidden_size"], v["num_attention_heads"]
        self.v_layers, self.v_inter = v["num_hidden_layers"], v["intermediate_size"]
        self.image_size, self.patch_size, self.ln_eps = v["image_size"], v["patch_size"], v["layer_norm_eps"]
        self.grid = self.image_size // self.patch_size
        self.n_img = self.grid * self.grid


def hf_config(a):
    return {
        "text_config": {
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": a.t_hidden,
            "intermediate_size": a.t_inter, "num_attention_heads": a.t_heads, "num_key_value_heads": a.t_kv_heads,
            "num_hidden_layers": a.t_layers, "rms_norm_eps": 1e-05, "rope_theta": a.rope_theta,
            "max_position_embeddings": 2048, "vocab_size": a.vocab, "bos_token_id": 1, "eos_token_id": 2,
            "hidden_act": "silu", "tie_word_embeddings": False, "torch_dtype": "float32"},
        "vision_config": {
            "_name_or_path": a.name + "-vision", "model_type": "clip_vision_model", "hidden_size": a.v_hidden,
            "intermediate_size": a.v_inter, "num_attention_heads": a.v_heads, "num_hidden_layers": a.v_layers,
            "image_size": a.image_size, "patch_size": a.patch_size, "layer_norm_eps": 1e-05,
            "hidden_act": "quick_gelu", "projection_dim": a.t_hidden},
    }


# ------------------------------------------------------------------------------------------------ weights


def make_weights(c, seed):
    """Random llava-hf weights, every tensor f16-representable. Scales: linear 1/sqrt(fan_in) (q/k 1.3x so the
    attention is peaked, lm_head 2x), norms 1 + 0.1 n, biases 0.1 n (LN biases 0.05 n), embeddings 1.0,
    CLIP class 0.5, positions 0.3."""
    g = torch.Generator().manual_seed(seed)
    W = {}

    def n(*shape, s=1.0, mu=0.0):
        return mu + s * torch.randn(*shape, generator=g)

    def lin(name, o, i, bias, s=1.0):
        W[name + ".weight"] = n(o, i, s=s / math.sqrt(i))
        if bias:
            W[name + ".bias"] = n(o, s=0.1)

    def ln(name, d):
        W[name + ".weight"] = n(d, s=0.1, mu=1.0)
        W[name + ".bias"] = n(d, s=0.05)

    V, C = "vision_tower.vision_model.", c.v_hidden
    W[V + "embeddings.class_embedding"] = n(C, s=0.5)
    W[V + "embeddings.patch_embedding.weight"] = n(C, 3, c.patch_size, c.patch_size,
                                                   s=1 / math.sqrt(3 * c.patch_size ** 2))
    W[V + "embeddings.position_embedding.weight"] = n(c.n_img + 1, C, s=0.3)
    ln(V + "pre_layrnorm", C)
    for i in range(c.v_layers):
        p = V + f"encoder.layers.{i}."
        ln(p + "layer_norm1", C)
        for nm, s in (("q_proj", 1.3), ("k_proj", 1.3), ("v_proj", 1.0), ("out_proj", 1.0)):
            lin(p + "self_attn." + nm, C, C, True, s)
        ln(p + "layer_norm2", C)
        lin(p + "mlp.fc1", c.v_inter, C, True)
        lin(p + "mlp.fc2", C, c.v_inter, True)
    ln(V + "post_layernorm", C)
    lin("multi_modal_projector.linear_1", c.t_hidden, C, True)
    lin("multi_modal_projector.linear_2", c.t_hidden, c.t_hidden, True)
    L, D, hd = "language_model.", c.t_hidden, c.t_hidden // c.t_heads
    W[L + "model.embed_tokens.weight"] = n(c.vocab, D)
    for i in range(c.t_layers):
        p = L + f"model.layers.{i}."
        W[p + "input_layernorm.weight"] = n(D, s=0.1, mu=1.0)
        lin(p + "self_attn.q_proj", c.t_heads * hd, D, False, 1.3)
        lin(p + "self_attn.k_proj", c.t_kv * hd, D, False, 1.3)
        lin(p + "self_attn.v_proj", c.t_kv * hd, D, False)
        lin(p + "self_attn.o_proj", D, c.t_heads * hd, False)
        W[p + "post_attention_layernorm.weight"] = n(D, s=0.1, mu=1.0)
        lin(p + "mlp.gate_proj", c.t_inter, D, False)
        lin(p + "mlp.up_proj", c.t_inter, D, False)
        lin(p + "mlp.down_proj", D, c.t_inter, False)
    W[L + "model.norm.weight"] = n(D, s=0.1, mu=1.0)
    lin(L + "lm_head", c.vocab, D, False, 2.0)
    return {k: v.to(torch.float16).numpy() for k, v in W.items()}


# ------------------------------------------------------------------------------------------- preprocessing


def pad_color(mean):
    return tuple(int(x * 255) for x in mean)


def expand2square(img, bg):
    w, h = img.size
    if w == h:
        return img
    if w > h:
        r = Image.new(img.mode, (w, w), bg)
        r.paste(img, (0, (w - h) // 2))
    else:
        r = Image.new(img.mode, (h, h), bg)
        r.paste(img, ((h - w) // 2, 0))
    return r


def normalize(u8, mean, std):
    x = (u8.astype(np.float64) / 255.0).astype(np.float32)
    x = (x - np.array(mean, np.float32)) / np.array(std, np.float32)
    return torch.from_numpy(np.ascontiguousarray(x.transpose(2, 0, 1)))


def preprocess_llava(img, S, mean=CLIP_MEAN, std=CLIP_STD):
    sq = expand2square(img, pad_color(mean)).resize((S, S), Image.BICUBIC)
    return normalize(np.asarray(sq), mean, std)


def preprocess_mtmd_u8(img, S, mean=CLIP_MEAN):
    """llama.cpp mtmd img_tool::resize with PAD_CEIL (float32 scale, ceil, integer centring)."""
    w, h = img.size
    f32 = np.float32
    scale = min(f32(S) / f32(w), f32(S) / f32(h))
    nw = min(int(math.ceil(f32(w) * scale)), S)
    nh = min(int(math.ceil(f32(h) * scale)), S)
    out = Image.new("RGB", (S, S), pad_color(mean))
    out.paste(img.resize((nw, nh), Image.BICUBIC), ((S - nw) // 2, (S - nh) // 2))
    return out


# ------------------------------------------------------------------------------------------------- models


def T(W, k):
    return torch.from_numpy(W[k].astype(np.float32))


def clip_forward(W, c, px, mtmd=False):
    """px [3,S,S] -> (features [N, C] of hidden_states[-2] without CLS, or mtmd's rows)."""
    V = "vision_tower.vision_model."
    C, H = c.v_hidden, c.v_heads
    x = F.conv2d(px[None], T(W, V + "embeddings.patch_embedding.weight"), stride=c.patch_size)
    x = x.flatten(2).transpose(1, 2)[0]  # [N, C], patch y*G+x
    cls = T(W, V + "embeddings.class_embedding")[None]
    x = torch.cat([x, cls] if mtmd else [cls, x], 0) + T(W, V + "embeddings.position_embedding.weight")
    x = F.layer_norm(x, (C,), T(W, V + "pre_layrnorm.weight"), T(W, V + "pre_layrnorm.bias"), c.ln_eps)
    n_run = c.v_layers - 2 if mtmd else c.v_layers - 1
    hd = C // H
    for i in range(n_run):
        p = V + f"encoder.layers.{i}."
        r = x
        y = F.layer_norm(x, (C,), T(W, p + "layer_norm1.weight"), T(W, p + "layer_norm1.bias"), c.ln_eps)
        q, k, v = (F.linear(y, T(W, p + f"self_attn.{m}.weight"), T(W, p + f"self_attn.{m}.bias"))
                   .view(-1, H, hd).transpose(0, 1) for m in ("q_proj", "k_proj", "v_proj"))
        a = torch.softmax((q * hd ** -0.5) @ k.transpose(1, 2), -1) @ v
        y = F.linear(a.transpose(0, 1).reshape(-1, C), T(W, p + "self_attn.out_proj.weight"),
                     T(W, p + "self_attn.out_proj.bias"))
        x = r + y
        r = x
        y = F.layer_norm(x, (C,), T(W, p + "layer_norm2.weight"), T(W, p + "layer_norm2.bias"), c.ln_eps)
        y = F.linear(y, T(W, p + "mlp.fc1.weight"), T(W, p + "mlp.fc1.bias"))
        y = y * torch.sigmoid(1.702 * y)
        y = F.linear(y, T(W, p + "mlp.fc2.weight"), T(W, p + "mlp.fc2.bias"))
        x = r + y
    return x[1:]


def projector(W, f, tanh=False):
    P = "multi_modal_projector."
    y = F.linear(f, T(W, P + "linear_1.weight"), T(W, P + "linear_1.bias"))
    y = F.gelu(y, approximate="tanh") if tanh else F.gelu(y)
    return F.linear(y, T(W, P + "linear_2.weight"), T(W, P + "linear_2.bias"))


def rms(x, w, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * w


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], -1)


def llama_forward(W, c, emb):
    """emb [n, D] -> logits [n, V], attention probabilities [L, H, n, n]."""
    L = "language_model.model."
    n, D = emb.shape
    H, KV = c.t_heads, c.t_kv
    hd = D // H
    inv = 1.0 / (c.theta ** (torch.arange(0, hd, 2, dtype=torch.int64).float() / hd))
    fr = torch.arange(n, dtype=torch.float32)[:, None] * inv[None]
    e = torch.cat([fr, fr], -1)
    cos, sin = e.cos(), e.sin()
    mask = torch.full((n, n), float("-inf")).triu(1)
    x, attn = emb, []
    for i in range(c.t_layers):
        p = L + f"layers.{i}."
        y = rms(x, T(W, p + "input_layernorm.weight"), c.rms_eps)
        q = F.linear(y, T(W, p + "self_attn.q_proj.weight")).view(n, H, hd).transpose(0, 1)
        k = F.linear(y, T(W, p + "self_attn.k_proj.weight")).view(n, KV, hd).transpose(0, 1)
        v = F.linear(y, T(W, p + "self_attn.v_proj.weight")).view(n, KV, hd).transpose(0, 1)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        k = k.repeat_interleave(H // KV, 0)
        v = v.repeat_interleave(H // KV, 0)
        a = torch.softmax((q @ k.transpose(1, 2)) / math.sqrt(hd) + mask, -1)
        attn.append(a)
        o = (a @ v).transpose(0, 1).reshape(n, D)
        x = x + F.linear(o, T(W, p + "self_attn.o_proj.weight"))
        y = rms(x, T(W, p + "post_attention_layernorm.weight"), c.rms_eps)
        y = F.linear(F.silu(F.linear(y, T(W, p + "mlp.gate_proj.weight"))) * F.linear(y, T(W, p + "mlp.up_proj.weight")),
                     T(W, p + "mlp.down_proj.weight"))
        x = x + y
    x = rms(x, T(W, L + "norm.weight"), c.rms_eps)
    return F.linear(x, T(W, "language_model.lm_head.weight")), torch.stack(attn)


def run_llm(W, c, img_embd, pre, post, cont):
    """The teacher-forced quantities and greedy decoding for one set of image embeddings."""
    E = T(W, "language_model.model.embed_tokens.weight")
    P = len(pre) + img_embd.shape[0] + len(post)
    K, s = len(cont), len(pre)
    emb = torch.cat([E[torch.tensor(pre)], img_embd, E[torch.tensor(post)], E[torch.tensor(cont, dtype=torch.long)]])
    logits, A = llama_forward(W, c, emb)
    rows = torch.arange(P - 1, P - 1 + K)
    attn = A[:, :, rows][..., s:s + img_embd.shape[0]].permute(2, 0, 1, 3).contiguous()  # [K, L, H, n_img]
    out = {"logits": logits[rows].contiguous(), "attn": attn, "attn_mean": attn.mean((1, 2)),
           "attn_head_m2": attn[:, :, c.t_heads - 2].mean(1)}
    ids, margins = [], []
    emb = emb[:P]
    for _ in range(N_GREEDY):
        lg = llama_forward(W, c, emb)[0][-1]
        top = torch.topk(lg, 2).values
        t = int(torch.argmax(lg))
        ids.append(t)
        margins.append(float(top[0] - top[1]))
        emb = torch.cat([emb, E[t][None]])
    out["greedy_ids"] = torch.tensor(ids, dtype=torch.int32)
    out["greedy_top2_margin"] = torch.tensor(margins, dtype=torch.float32)
    return out


def compute_all(W, c, img, pre, post, cont, mean=CLIP_MEAN, std=CLIP_STD):
    out = {}
    with torch.no_grad():
        px = preprocess_llava(img, c.image_size, mean, std)
        feats = clip_forward(W, c, px)
        embd = projector(W, feats)
        out["pixel_values"] = px
        out["vision_features"] = feats
        out["image_embeddings"] = embd
        out.update(run_llm(W, c, embd, pre, post, cont))
        mimg = preprocess_mtmd_u8(img, c.image_size, mean)
        mpx = normalize(np.asarray(mimg), mean, std)
        membd = projector(W, clip_forward(W, c, mpx, mtmd=True), tanh=True)
        m = run_llm(W, c, membd, pre, post, cont)
        out["mtmd_emul.image_embeddings"] = membd
        for k in ("logits", "attn_mean", "attn_head_m2", "greedy_ids", "greedy_top2_margin"):
            out["mtmd_emul." + k] = m[k]
    out["prompt_ids_pre"] = torch.tensor(pre, dtype=torch.int32)
    out["prompt_ids_post"] = torch.tensor(post, dtype=torch.int32)
    out["continuation_ids"] = torch.tensor(cont, dtype=torch.int32)
    out["image_start"] = torch.tensor([len(pre)], dtype=torch.int32)
    out["prompt_len"] = torch.tensor([len(pre) + c.n_img + len(post)], dtype=torch.int32)
    return out, mimg


# ----------------------------------------------------------------------------------------------------- GGUF


def import_gguf(path):
    sys.path.insert(0, str(path))
    import gguf  # noqa: E402
    return gguf


def permute_qk(w, n_head, n_head_kv=None):
    """convert_hf_to_gguf LlamaModel.permute: HF rotate_half rows -> llama.cpp adjacent-pair RoPE rows."""
    if n_head_kv is not None and n_head != n_head_kv:
        n_head = n_head_kv
    return w.reshape(n_head, 2, w.shape[0] // n_head // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def write_text_gguf(gguf, W, hf, tok_path, path, name):
    """What convert_hf_to_gguf.py --outtype f32 writes for the language model (LlamaForCausalLM)."""
    t = hf["text_config"]
    H, KV = t["num_attention_heads"], t["num_key_value_heads"]
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor()
    sp.LoadFromFile(str(tok_path))
    tens = {k[len("language_model."):]: v for k, v in W.items() if k.startswith("language_model.")}
    total = sum(int(np.prod(v.shape)) for v in tens.values())
    md = gguf.Metadata.load(None, Path(name), None, total)
    w = gguf.GGUFWriter(path, "llama")
    w.add_type(gguf.GGUFType.MODEL)
    w.add_name(md.name)
    w.add_size_label(gguf.size_label(total, 0, 0, 0))
    w.add_block_count(t["num_hidden_layers"])
    w.add_context_length(t["max_position_embeddings"])
    w.add_embedding_length(t["hidden_size"])
    w.add_feed_forward_length(t["intermediate_size"])
    w.add_head_count(H)
    w.add_head_count_kv(KV)
    w.add_rope_freq_base(t["rope_theta"])
    w.add_layer_norm_rms_eps(t["rms_norm_eps"])
    w.add_file_type(gguf.LlamaFileType.ALL_F32)
    w.add_vocab_size(t["vocab_size"])
    w.add_rope_dimension_count(t["hidden_size"] // H)
    w.add_quantization_version(gguf.GGML_QUANT_VERSION)
    toks, scores, types = [], [], []
    for i in range(sp.vocab_size()):
        toks.append(sp.IdToPiece(i).encode("utf-8"))
        scores.append(sp.GetScore(i))
        ty = gguf.TokenType.NORMAL
        if sp.IsUnknown(i):
            ty = gguf.TokenType.UNKNOWN
        elif sp.IsControl(i):
            ty = gguf.TokenType.CONTROL
        elif sp.IsUnused(i):
            ty = gguf.TokenType.UNUSED
        elif sp.IsByte(i):
            ty = gguf.TokenType.BYTE
        types.append(ty)
    w.add_tokenizer_model("llama")
    w.add_tokenizer_pre("default")
    w.add_token_list(toks)
    w.add_token_scores(scores)
    w.add_token_types(types)
    w.add_bos_token_id(t["bos_token_id"])
    w.add_eos_token_id(t["eos_token_id"])
    w.add_add_bos_token(True)
    w.add_add_eos_token(False)
    rename = {"lm_head.weight": "output.weight", "model.embed_tokens.weight": "token_embd.weight",
              "model.norm.weight": "output_norm.weight"}
    sub = {"input_layernorm": "attn_norm", "mlp.down_proj": "ffn_down", "mlp.gate_proj": "ffn_gate",
           "mlp.up_proj": "ffn_up", "post_attention_layernorm": "ffn_norm", "self_attn.k_proj": "attn_k",
           "self_attn.o_proj": "attn_output", "self_attn.q_proj": "attn_q", "self_attn.v_proj": "attn_v"}
    for k in sorted(tens):  # the converter walks model.safetensors in its (sorted) key order
        a = tens[k].astype(np.float32)
        if k in rename:
            nm = rename[k]
        else:
            parts = k.split(".")  # model.layers.N.<rest>.weight
            nm = f"blk.{parts[2]}.{sub['.'.join(parts[3:-1])]}.weight"
            if k.endswith("q_proj.weight"):
                a = permute_qk(a, H, H)
            elif k.endswith("k_proj.weight"):
                a = permute_qk(a, H, KV)
        w.add_tensor(nm, np.ascontiguousarray(a))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def clip_gguf_name(name):
    """legacy convert_image_encoder_to_gguf.get_tensor_name for CLIP vision names."""
    return (name.replace("text_model", "t").replace("vision_model", "v").replace("encoder.layers", "blk")
            .replace("embeddings.", "").replace("_proj", "").replace("self_attn.", "attn_")
            .replace("layer_norm", "ln").replace("layernorm", "ln").replace("mlp.fc1", "ffn_down")
            .replace("mlp.fc2", "ffn_up").replace("embedding", "embd").replace("final", "post")
            .replace("layrnorm", "ln"))


def write_mmproj_gguf(gguf, W, hf, path):
    """What the legacy convert_image_encoder_to_gguf.py --clip-model-is-vision --llava-projector
    --projector-type mlp --use-f32 writes (last layer dropped, 2-D projector and 4-D patch weights F16)."""
    v = hf["vision_config"]
    w = gguf.GGUFWriter(path, "clip")
    w.add_bool("clip.has_text_encoder", False)
    w.add_bool("clip.has_vision_encoder", True)
    w.add_bool("clip.has_llava_projector", True)
    w.add_file_type(0)
    w.add_name(v["_name_or_path"])
    w.add_description("image encoder for LLaVA")
    w.add_string("clip.projector_type", "mlp")
    w.add_uint32("clip.vision.image_size", v["image_size"])
    w.add_uint32("clip.vision.patch_size", v["patch_size"])
    w.add_uint32("clip.vision.embedding_length", v["hidden_size"])
    w.add_uint32("clip.vision.feed_forward_length", v["intermediate_size"])
    w.add_uint32("clip.vision.projection_dim", v["projection_dim"])
    w.add_uint32("clip.vision.attention.head_count", v["num_attention_heads"])
    w.add_float32("clip.vision.attention.layer_norm_epsilon", v["layer_norm_eps"])
    w.add_uint32("clip.vision.block_count", v["num_hidden_layers"] - 1)
    w.add_array("clip.vision.image_mean", CLIP_MEAN)
    w.add_array("clip.vision.image_std", CLIP_STD)
    w.add_bool("clip.use_gelu", v["hidden_act"] == "gelu")
    P = "multi_modal_projector."
    for hfn in ("linear_1.weight", "linear_1.bias", "linear_2.weight", "linear_2.bias"):
        a = W[P + hfn].astype(np.float32).squeeze()
        nm = "mm." + hfn.replace("linear_1", "0").replace("linear_2", "2")
        w.add_tensor(nm, a.astype(np.float16) if a.ndim in (2, 4) else a.astype(np.float32))
    last = v["num_hidden_layers"] - 1
    V = "vision_tower."
    for k in sorted(x for x in W if x.startswith(V)):
        hk = k[len(V):]
        if hk.startswith("vision_model.post_layernorm") or f"encoder.layers.{last}." in hk:
            continue
        a = W[k].astype(np.float32).squeeze()
        w.add_tensor(clip_gguf_name(hk), a.astype(np.float16) if a.ndim == 4 else a)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def gguf_summary(gguf, path):
    r = gguf.GGUFReader(path)
    kv = {}
    for k, f in r.fields.items():
        if k.startswith("GGUF.") or k in ("tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type"):
            continue
        kv[k] = f.contents()
    ts = {t.name: {"shape_ne": [int(x) for x in t.shape], "type": t.tensor_type.name} for t in r.tensors}
    return {"kv": kv, "tensors": ts}


def gguf_compare(gguf, a, b):
    """Differences between two GGUF files: keys and values, tensor names/types/shapes/order/data."""
    ra, rb = gguf.GGUFReader(a), gguf.GGUFReader(b)
    diffs = []
    ka, kb = list(ra.fields), list(rb.fields)
    if ka != kb:
        diffs.append(f"keys differ: {ka} vs {kb}")
    for k in ka:
        if k in rb.fields:
            fa, fb = ra.fields[k], rb.fields[k]
            va = [bytes(x) for x in fa.parts]
            vb = [bytes(x) for x in fb.parts]
            if va != vb:
                diffs.append(f"key {k}: {fa.contents() if k[:10] != 'tokenizer.' else '...'} vs "
                             f"{fb.contents() if k[:10] != 'tokenizer.' else '...'}")
    na, nb = [t.name for t in ra.tensors], [t.name for t in rb.tensors]
    if na != nb:
        diffs.append(f"tensor order differs: {na} vs {nb}")
    tb = {t.name: t for t in rb.tensors}
    for t in ra.tensors:
        u = tb.get(t.name)
        if u is None:
            continue
        if t.tensor_type != u.tensor_type or list(t.shape) != list(u.shape):
            diffs.append(f"{t.name}: {t.tensor_type.name}{list(t.shape)} vs {u.tensor_type.name}{list(u.shape)}")
        elif np.asarray(t.data).tobytes() != np.asarray(u.data).tobytes():
            diffs.append(f"{t.name}: data differs (max abs "
                         f"{np.abs(np.asarray(t.data, np.float32) - np.asarray(u.data, np.float32)).max():.3g})")
    same = open(a, "rb").read() == open(b, "rb").read()
    return diffs, same


# --------------------------------------------------------------------------------------------------- checks

# per-tensor tolerances for `check` (float32 reference vs float32 reference: only summation order differs)
CHECK_TOL = {"pixel_values": 0.0, "vision_features": 1e-4, "image_embeddings": 1e-4, "logits": 1e-4,
             "attn": 1e-5, "attn_mean": 1e-6, "attn_head_m2": 1e-5, "greedy_top2_margin": 1e-4,
             "mtmd_emul.image_embeddings": 1e-4, "mtmd_emul.logits": 1e-4, "mtmd_emul.attn_mean": 1e-6,
             "mtmd_emul.attn_head_m2": 1e-5, "mtmd_emul.greedy_top2_margin": 1e-4}


def check(folder, gguf):
    folder = Path(folder)
    cases = json.load(open(folder / "cases.json"))
    hf = json.load(open(folder / "hf_config.json"))
    c = Cfg(hf)
    W = st_read(folder / cases["weights_file"]["file"])
    ref = st_read(folder / "cases.safetensors")
    img = Image.open(folder / cases["image"]["file"]).convert("RGB")
    got, mimg = compute_all(W, c, img, ref["prompt_ids_pre"].tolist(), ref["prompt_ids_post"].tolist(),
                            ref["continuation_ids"].tolist())
    ok = True
    for k in sorted(ref):
        a, b = got[k].numpy(), ref[k]
        if a.shape != b.shape:
            print(f"FAIL {k}: shape {a.shape} vs {b.shape}")
            ok = False
            continue
        if a.dtype.kind == "i":
            good = np.array_equal(a, b)
            print(f"{'ok  ' if good else 'FAIL'} {k:32s} {'equal' if good else f'{a.tolist()} vs {b.tolist()}'}")
        else:
            err = float(np.abs(a.astype(np.float64) - b).max())
            good = err <= CHECK_TOL[k]
            print(f"{'ok  ' if good else 'FAIL'} {k:32s} max_abs {err:.3e} (tol {CHECK_TOL[k]:.0e})")
        ok &= good
    import sentencepiece as spm
    sp = spm.SentencePieceProcessor()
    sp.LoadFromFile(str(folder / cases["tokenizer"]["file"]))
    tp = cases["template"]
    toks = ([1] + sp.encode(tp["text_before_image"]) == ref["prompt_ids_pre"].tolist()
            and sp.encode(tp["text_after_image"]) == ref["prompt_ids_post"].tolist()
            and sp.encode(tp["continuation_text"]) == ref["continuation_ids"].tolist())
    print(f"{'ok  ' if toks else 'FAIL'} tokenization of the template texts")
    ok &= toks
    pp = folder / "image_mtmd_preproc.png"
    if pp.exists():
        d = np.abs(np.asarray(mimg, np.int32) - np.asarray(Image.open(pp).convert("RGB"), np.int32)).max()
        print(f"{'ok  ' if d == 0 else 'FAIL'} image_mtmd_preproc.png           max_abs {d}")
        ok &= d == 0
    with tempfile.TemporaryDirectory() as td:
        files = cases["gguf"]["files"]
        write_text_gguf(gguf, W, hf, folder / cases["tokenizer"]["file"], f"{td}/t.gguf", cases["config"]["name"])
        write_mmproj_gguf(gguf, W, hf, f"{td}/m.gguf")
        for mine, theirs in ((f"{td}/t.gguf", files["text_f32"]), (f"{td}/m.gguf", files["mmproj_f32"])):
            diffs, same = gguf_compare(gguf, mine, str(folder / theirs))
            print(f"{'ok  ' if not diffs else 'FAIL'} rewrite {theirs}: "
                  f"{'byte-identical' if same else ('same keys/tensors/values' if not diffs else diffs[:5])}")
            ok &= not diffs
    print("check:", "PASS" if ok else "FAIL")
    return ok


# ----------------------------------------------------------------------------------------------------- make


def draw_image(w, h, seed):
    """A synthetic picture: a light background, a few filled shapes, a gradient band (deterministic)."""
    rng = np.random.RandomState(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    bg = np.stack([200 + 30 * xx / w, 190 + 40 * yy / h, 170 + 20 * (xx + yy) / (w + h)], -1)
    img = Image.fromarray(np.clip(bg, 0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    d.ellipse([w * 0.15, h * 0.1, w * 0.6, h * 0.1 + w * 0.45], fill=(40, 160, 60))
    d.polygon([(w * 0.55, h * 0.55), (w * 0.9, h * 0.55), (w * 0.72, h * 0.9)], fill=(230, 200, 30))
    d.rectangle([w * 0.1, h * 0.6, w * 0.4, h * 0.85], fill=(30, 60, 200))
    for _ in range(12):
        x, y, r = rng.randint(0, w), rng.randint(0, h), rng.randint(3, 12)
        d.ellipse([x - r, y - r, x + r, y + r], fill=tuple(int(v) for v in rng.randint(0, 255, 3)))
    return img


def sha(p):
    return hashlib.sha256(open(p, "rb").read()).hexdigest()


def stats(m, n_img):
    m = m.double()
    p = m / m.sum(-1, keepdim=True)
    ent = -(p * p.clamp_min(1e-30).log()).sum(-1)
    return {"image_mass_min": float(m.sum(-1).min()), "image_mass_max": float(m.sum(-1).max()),
            f"entropy_over_{n_img}_min": float(ent.min()), f"entropy_over_{n_img}_max": float(ent.max()),
            "uniform_entropy": math.log(n_img), "max_over_mean_min": float((m.max(-1).values / m.mean(-1)).min())}


def make(a, gguf):
    import sentencepiece as spm
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    pub = Path(a.public)
    pub_cases = json.load(open(pub / "cases.json"))
    shutil.copyfile(pub / "tokenizer.model", out / "tokenizer.model")
    sp = spm.SentencePieceProcessor()
    sp.LoadFromFile(str(out / "tokenizer.model"))
    a.vocab = sp.vocab_size()
    hf = hf_config(a)
    c = Cfg(hf)
    assert c.image_size % c.patch_size == 0 and c.t_hidden % c.t_heads == 0 and c.t_heads % c.t_kv == 0
    assert (c.t_hidden // c.t_heads) % 2 == 0 and c.v_hidden % c.v_heads == 0 and c.t_heads >= 2
    assert c.v_layers >= 3, "mtmd emulation runs L-2 layers"
    W = make_weights(c, a.seed)
    st_write(out / f"{a.name}.safetensors", W)
    json.dump(hf, open(out / "hf_config.json", "w"), indent=1)
    img = draw_image(a.img_w, a.img_h, a.seed)
    img.save(out / "image.png")

    before = SYSTEM + " USER: "
    after = "\n" + a.question + " ASSISTANT:"
    pre = [1] + sp.encode(before)
    post = sp.encode(after)
    cont = sp.encode(a.continuation)
    res, mimg = compute_all(W, c, img, pre, post, cont)
    mimg.save(out / "image_mtmd_preproc.png")
    st_write(out / "cases.safetensors", {k: v.numpy() for k, v in res.items()})
    write_text_gguf(gguf, W, hf, out / "tokenizer.model", str(out / f"{a.name}-f32.gguf"), a.name)
    write_mmproj_gguf(gguf, W, hf, str(out / f"mmproj-{a.name}-f32.gguf"))

    # float64 run of the same reference: how much float32 summation order alone moves each quantity
    with torch.no_grad():
        torch.set_default_dtype(torch.float64)
        W64 = {k: v.astype(np.float64) for k, v in W.items()}
        _T = globals()["T"]
        globals()["T"] = lambda W_, k: torch.from_numpy(W_[k])
        px64 = res["pixel_values"].double()
        e64 = projector(W64, clip_forward(W64, c, px64))
        r64 = run_llm(W64, c, e64, pre, post, cont)
        globals()["T"] = _T
        torch.set_default_dtype(torch.float32)
    f64 = {"image_embeddings": float((e64 - res["image_embeddings"].double()).abs().max())}
    for k in ("logits", "attn_mean", "attn_head_m2"):
        f64[k] = float((r64[k] - res[k].double()).abs().max())

    cases = copy.deepcopy(pub_cases)
    G, N, H = c.grid, c.n_img, c.t_heads
    P = len(pre) + N + len(post)
    cases["description"] = ("Tiny random LLaVA-1.5 (HF llava-hf semantics) goldens, a variant of tests/golden/llava "
                            "with other shapes, seed, image and prompt (same format).")
    cases["generator"] = "scripts/llava-golden.py make " + " ".join(sys.argv[2:])
    cases["preset"] = "variant"
    cases["config"] = {"seed": a.seed, "v_hidden": a.v_hidden, "v_heads": a.v_heads, "v_layers": a.v_layers,
                       "v_inter": a.v_inter, "t_hidden": a.t_hidden, "t_heads": a.t_heads,
                       "t_kv_heads": a.t_kv_heads, "t_layers": a.t_layers, "t_inter": a.t_inter, "vocab": a.vocab,
                       "img_w": a.img_w, "img_h": a.img_h, "name": a.name, "question": a.question,
                       "continuation": a.continuation, "image_size": a.image_size, "patch_size": a.patch_size}
    mv = cases["model"]["vision"]
    mv.update({"image_size": a.image_size, "patch_size": a.patch_size, "grid": [G, G], "hidden": a.v_hidden,
               "heads": a.v_heads, "layers": a.v_layers, "intermediate": a.v_inter})
    cases["model"]["projector"].update({"in": a.v_hidden, "out": a.t_hidden})
    cases["model"]["text"].update({"hidden": a.t_hidden, "heads": a.t_heads, "kv_heads": a.t_kv_heads,
                                   "head_dim": a.t_hidden // a.t_heads, "layers": a.t_layers,
                                   "intermediate": a.t_inter, "rope_theta": a.rope_theta, "vocab": a.vocab})
    cases["model"]["weights"] = ("scripts/llava-golden.py make_weights: torch.Generator().manual_seed(seed) normal "
                                 "draws, every tensor cast to float16 (f16-representable, lossless in F16)")
    tp = cases["template"]
    tp.update({"question": a.question,
               "full_text": before + "<image>" + after, "text_before_image": before, "text_after_image": after,
               "tokenization": tp["tokenization"].replace("576", str(N)),
               "prompt_ids_pre": pre, "pre_pieces": [sp.IdToPiece(i) for i in pre],
               "prompt_ids_post": post, "post_pieces": [sp.IdToPiece(i) for i in post],
               "continuation_text": a.continuation, "continuation_ids": cont,
               "continuation_pieces": [sp.IdToPiece(i) for i in cont],
               "image_start": len(pre), "n_image_tokens": N, "prompt_len_P": P, "K": len(cont),
               "query_rows": list(range(P - 1, P - 1 + len(cont))),
               "greedy_ids": res["greedy_ids"].tolist(),
               "greedy_pieces": [sp.IdToPiece(i) for i in res["greedy_ids"].tolist()],
               "mtmd_emul_greedy_ids": res["mtmd_emul.greedy_ids"].tolist()})
    cases["image"].update({"size_wh": [a.img_w, a.img_h],
                           "mtmd_preprocessed_emulation":
                           f"image_mtmd_preproc.png ({a.image_size}x{a.image_size} uint8 before normalization)"})
    S, C, D, K, L = a.image_size, a.v_hidden, a.t_hidden, len(cont), a.t_layers
    td = cases["tensors"]
    td["pixel_values"] = (f"[3,{S},{S}] f32: LLaVA-1.5 'pad' preprocessing of image.png (expand2square with "
                          f"{pad_color(CLIP_MEAN)} centred, PIL bicubic resize of the uint8 square to {S}x{S}, x/255 "
                          "(float64 then f32), (x-mean)/std with CLIP mean/std in f32), CHW, RGB.")
    td["vision_features"] = (f"[{N},{C}] f32: CLIP hidden_states[-2] (output of encoder layer {a.v_layers - 2}, "
                             f"0-based, i.e. {a.v_layers - 1} of {a.v_layers} layers run), CLS row removed; row = "
                             f"patch index y*{G}+x (row-major over the {G}x{G} grid).")
    td["image_embeddings"] = f"[{N},{D}] f32: projector(vision_features), GELU = erf (nn.GELU())."
    td["continuation_ids"] = f"[{K}] i32: sp.encode(continuation_text), appended right after the prompt."
    td["prompt_len"] = f"[1] i32: P = n1 + {N} + n2."
    td["logits"] = f"[{K},{a.vocab}] f32: row k = logits at sequence position P-1+k (predicts continuation token k)."
    td["attn"] = (f"[{K},{L},{H},{N}] f32: softmax attention probabilities (full softmax over all P+K keys, causal) "
                  f"of query row P-1+k, restricted to key columns image_start..image_start+{N - 1}; heads in HF order "
                  "(query head h uses kv head h // (H/KV)).")
    td["attn_mean"] = f"[{K},{N}] f32: attn mean over layers and heads (paper)."
    td["attn_head_m2"] = f"[{K},{N}] f32: attn[:, :, H-2, :] mean over layers (head index H-2={H - 2})."
    td["greedy_ids"] = f"[{N_GREEDY}] i32: greedy (argmax) tokens generated after the prompt (no continuation)."
    td["greedy_top2_margin"] = f"[{N_GREEDY}] f32: logit gap top1-top2 at each greedy step."
    rs = {"float64_vs_float32_max_abs": f64, "attn_mean_stats": stats(res["attn_mean"], N),
          "attn_head_m2_stats": stats(res["attn_head_m2"], N),
          "mtmd_emul_vs_hf_max_abs": {
              "pixel_values": float((normalize(np.asarray(mimg), CLIP_MEAN, CLIP_STD) - res["pixel_values"]).abs().max()),
              "image_embeddings": float((res["mtmd_emul.image_embeddings"] - res["image_embeddings"]).abs().max()),
              "logits": float((res["mtmd_emul.logits"] - res["logits"]).abs().max()),
              "attn_mean": float((res["mtmd_emul.attn_mean"] - res["attn_mean"]).abs().max())},
          "mtmd_emul_vision_layers_run": a.v_layers - 2}
    cases["reference_stats"] = rs
    cases["weights_file"] = {"file": f"{a.name}.safetensors", "dtype": "F16 (lossless)",
                             "naming": pub_cases["weights_file"]["naming"]}
    cases["gguf"] = {"files": {"text_f32": f"{a.name}-f32.gguf", "mmproj_f32": f"mmproj-{a.name}-f32.gguf"},
                     "how": {"text": "scripts/llava-golden.py write_text_gguf: what convert_hf_to_gguf.py --outtype f32 "
                                     "writes for LlamaForCausalLM (same keys, key order, tensor order, Q/K row "
                                     "permutation); checked byte-identical on tests/golden/llava",
                             "mmproj": "scripts/llava-golden.py write_mmproj_gguf: what the legacy "
                                       "convert_image_encoder_to_gguf.py --clip-model-is-vision --llava-projector "
                                       "--projector-type mlp --use-f32 writes; checked against tests/golden/llava"}}
    cases["gguf"]["summaries"] = {f: gguf_summary(gguf, str(out / f)) for f in cases["gguf"]["files"].values()}
    for k in ("converter_logs_tail", "observed_llamacpp_check"):
        cases.pop(k, None)
    cases["suggested_tolerances"]["how"] = ("copied from tests/golden/llava (10x the llama.cpp CPU errors observed "
                                            "there); not re-measured for this folder")
    files = [f"{a.name}.safetensors", "cases.safetensors", "hf_config.json", "image.png", "image_mtmd_preproc.png",
             f"{a.name}-f32.gguf", f"mmproj-{a.name}-f32.gguf", "tokenizer.model"]
    cases["files"] = {f: {"bytes": os.path.getsize(out / f), "sha256": sha(out / f)} for f in sorted(files)}
    json.dump(cases, open(out / "cases.json", "w"), indent=1)
    tot = sum(v["bytes"] for v in cases["files"].values())
    print(f"{out}: {N} image tokens ({G}x{G}), P={P}, K={K}, {tot / 1e6:.2f} MB; greedy margins min "
          f"{float(res['greedy_top2_margin'].min()):.3g}; float64 vs float32 {f64}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf-py", default=str(ROOT / "third_party/llama.cpp/gguf-py"))
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("check")
    c.add_argument("folder")
    m = sub.add_parser("make")
    m.add_argument("out")
    m.add_argument("--public", default=str(ROOT / "tests/golden/llava"), help="tokenizer.model and cases.json layout")
    m.add_argument("--name", default="llava-var")
    m.add_argument("--seed", type=int, default=1)
    m.add_argument("--v-hidden", type=int, default=48)
    m.add_argument("--v-heads", type=int, default=3)
    m.add_argument("--v-layers", type=int, default=4)
    m.add_argument("--v-inter", type=int, default=136)
    m.add_argument("--image-size", type=int, default=224)
    m.add_argument("--patch-size", type=int, default=14)
    m.add_argument("--t-hidden", type=int, default=80)
    m.add_argument("--t-heads", type=int, default=5)
    m.add_argument("--t-kv-heads", type=int, default=1)
    m.add_argument("--t-layers", type=int, default=2)
    m.add_argument("--t-inter", type=int, default=200)
    m.add_argument("--rope-theta", type=float, default=10000.0)
    m.add_argument("--img-w", type=int, default=300)
    m.add_argument("--img-h", type=int, default=420)
    m.add_argument("--question", default="What is in the picture?")
    m.add_argument("--continuation", default="A green circle above a yellow triangle and a blue square.")
    a = ap.parse_args()
    gguf = import_gguf(a.gguf_py)
    if a.cmd == "check":
        sys.exit(0 if check(a.folder, gguf) else 1)
    make(a, gguf)


if __name__ == "__main__":
    main()
