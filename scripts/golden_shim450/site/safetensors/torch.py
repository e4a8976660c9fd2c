"""safetensors.torch stand-in (scripts/golden_shim450): load_file / save_file / load / save."""
import torch

from . import safe_open, safetensors_io


def load_file(path, device="cpu"):
    with safe_open(path) as f:
        return {k: f.get_tensor(k) for k in f.keys()}


def save_file(tensors, path, metadata=None):
    out = {}
    for k, t in tensors.items():
        t = t.detach().cpu()
        out[k] = t.float() if t.dtype == torch.bfloat16 else t  # numpy has no bfloat16
    safetensors_io.save(path, out)


def storage_ptr(tensor):
    return tensor.untyped_storage().data_ptr() if hasattr(tensor, "untyped_storage") else tensor.storage().data_ptr()


def storage_size(tensor):
    s = tensor.untyped_storage() if hasattr(tensor, "untyped_storage") else tensor.storage()
    return s.nbytes() if hasattr(s, "nbytes") else s.size() * tensor.element_size()
