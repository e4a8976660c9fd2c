"""Import-time stand-ins that let the official Cambrian-1 modelling code (and the transformers / timm / open_clip
sources it imports) load on Debian's PyTorch 1.13 without network access.  Nothing here computes a model tensor
except `scaled_dot_product_attention`, which torch 1.13 lacks (added in torch 2.0) and which is written out with
the documented torch 2.x semantics (boolean mask: True = attend; float mask: added; scale 1/sqrt(head_dim)).

What each stand-in replaces and why:
  torch.nn.functional.scaled_dot_product_attention  torch >= 2.0 API used by cambrian/model/vision_sampler.py
  torch.compiler, torch.distributed.tensor(.parallel) torch >= 2.x modules transformers 4.50 imports (never used here)
  tokenizers, safetensors                           Rust extensions transformers imports; this golden never
                                                    tokenizes nor loads files through them
  torchvision (ops.misc, transforms)                timm / open_clip import it; only FrozenBatchNorm2d's name and
                                                    transform classes are referenced at import time
  ezcolorlog                                        the logger package the Cambrian files import
  einops                                            imported by the unused multimodal_projector/projectors.py
  dist-info metadata for huggingface_hub/safetensors  transformers' runtime version check (the fetched sources
                                                    have no installed metadata)

install(meta_dir) must run before any of those imports.  Thread-safety: call once, from the main thread.
"""
import importlib
import importlib.machinery
import logging
import math
import os
import sys
import types

import torch
import torch.nn.functional as F


class _Absent:
    """A name that exists for `from x import y` but is never used by the code paths this golden runs."""

    def __init__(self, *a, **k):
        raise RuntimeError("stand-in class instantiated: this code path is outside the Cambrian golden")


class _AnyAttr(type):
    def __getattr__(cls, name):
        return cls


class _Permissive(metaclass=_AnyAttr):
    def __init__(self, *a, **k):
        raise RuntimeError("stand-in class instantiated: this code path is outside the Cambrian golden")


def _module(name, attrs=None, permissive=False):
    m = types.ModuleType(name)
    m.__spec__ = importlib.machinery.ModuleSpec(name, None)
    for k, v in (attrs or {}).items():
        setattr(m, k, v)
    if permissive:
        def getattr_(attr):
            if attr.startswith("__"):
                raise AttributeError(attr)
            return _Permissive
        m.__getattr__ = getattr_
    sys.modules[name] = m
    parent, _, child = name.rpartition('.')
    if parent and parent in sys.modules:
        setattr(sys.modules[parent], child, m)
    return m


def sdpa(query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None):
    """torch 2.x F.scaled_dot_product_attention, math path (as its documentation's reference code)."""
    L, S = query.size(-2), key.size(-2)
    scale_factor = 1 / math.sqrt(query.size(-1)) if scale is None else scale
    attn_bias = torch.zeros(L, S, dtype=query.dtype, device=query.device)
    if is_causal:
        temp = torch.ones(L, S, dtype=torch.bool, device=query.device).tril(diagonal=0)
        attn_bias = attn_bias.masked_fill(temp.logical_not(), float("-inf"))
    if attn_mask is not None:
        if attn_mask.dtype == torch.bool:
            attn_bias = attn_bias.masked_fill(attn_mask.logical_not(), float("-inf"))
        else:
            attn_bias = attn_bias + attn_mask
    attn_weight = query @ key.transpose(-2, -1) * scale_factor
    attn_weight = attn_weight + attn_bias
    attn_weight = torch.softmax(attn_weight, dim=-1)
    assert dropout_p == 0.0
    return attn_weight @ value


def _write_meta(meta_dir, name, version):
    d = os.path.join(meta_dir, f"{name}-{version}.dist-info")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "METADATA"), "w") as f:
        f.write(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")


def install(meta_dir, hf_hub_version):
    if not hasattr(F, "scaled_dot_product_attention"):
        F.scaled_dot_product_attention = sdpa
    if not hasattr(torch, "compiler"):
        _module("torch.compiler", {
            "disable": lambda fn=None, recursive=True: fn if fn is not None else (lambda f: f),
            "is_compiling": lambda: False, "is_dynamo_compiling": lambda: False})
    importlib.import_module("torch.distributed")
    try:
        importlib.import_module("torch.distributed.tensor")
    except ImportError:
        _module("torch.distributed.tensor", {n: _Absent for n in
                ["DTensor", "Placement", "Replicate", "Shard", "distribute_tensor", "distribute_module"]})
        _module("torch.distributed.tensor.parallel", {n: _Absent for n in
                ["ColwiseParallel", "RowwiseParallel", "ParallelStyle", "SequenceParallel",
                 "PrepareModuleInput", "PrepareModuleOutput"]})
    tk = _module("tokenizers", {n: _Absent for n in
                 ["Tokenizer", "decoders", "normalizers", "pre_tokenizers", "processors", "AddedToken", "Regex"]})
    tk.models = _module("tokenizers.models", {n: _Absent for n in ["BPE", "Unigram", "WordPiece"]})

    def no_files(*a, **k):
        raise RuntimeError("safetensors stand-in: the Cambrian golden loads no file through transformers")
    _module("safetensors", {"safe_open": no_files})
    _module("safetensors.torch", {n: no_files for n in
            ["load_file", "save_file", "load", "save", "save_model", "load_model", "storage_ptr", "storage_size"]})
    _module("torchvision", {"__version__": "0.0-standin"}, permissive=True)
    _module("torchvision.ops", permissive=True)
    _module("torchvision.ops.misc", {"FrozenBatchNorm2d": _Absent})
    _module("torchvision.datasets", permissive=True)
    import enum
    interp = enum.Enum("InterpolationMode", {n: n.lower() for n in
                       ["NEAREST", "NEAREST_EXACT", "BILINEAR", "BICUBIC", "BOX", "HAMMING", "LANCZOS"]})
    _module("torchvision.transforms", {"InterpolationMode": interp}, permissive=True)
    _module("torchvision.transforms.functional", {"InterpolationMode": interp}, permissive=True)
    _module("ezcolorlog", {"root_logger": logging.getLogger("cambrian")})

    def no_einops(*a, **k):
        raise RuntimeError("einops stand-in: only the unused CAbstractor projector calls it")
    _module("einops", {"rearrange": no_einops, "repeat": no_einops, "reduce": no_einops})
    _module("einops.layers", permissive=True)
    _module("einops.layers.torch", permissive=True)
    os.makedirs(meta_dir, exist_ok=True)
    _write_meta(meta_dir, "huggingface_hub", hf_hub_version)
    _write_meta(meta_dir, "safetensors", "0.4.5")
    sys.path.insert(0, meta_dir)
