"""Stand-in safetensors.torch: load_file / save_file / storage_ptr / storage_size with torch tensors."""
import torch

from . import safetensors_io


def load_file(path, device="cpu"):
    return {k: torch.from_numpy(v.copy()) for k, v in safetensors_io.load(path).items()}


def save_file(tensors, path, metadata=None):
    safetensors_io.save(path, {k: v.detach().cpu().contiguous().numpy() for k, v in tensors.items()})


def storage_ptr(tensor):
    return tensor.untyped_storage().data_ptr() if hasattr(tensor, "untyped_storage") else tensor.storage().data_ptr()


def storage_size(tensor):
    if hasattr(tensor, "untyped_storage"):
        return tensor.untyped_storage().nbytes()
    return tensor.storage().size() * tensor.element_size()
