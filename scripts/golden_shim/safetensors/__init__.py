"""Stand-in safetensors (scripts/golden_shim) over scripts/safetensors_io.py: the file format only."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
import safetensors_io  # noqa: E402  (scripts/safetensors_io.py)

__version__ = "0.4.5"


class SafetensorError(Exception):
    pass


class safe_open:
    """safe_open(path, framework="pt"): keys(), get_tensor(name), metadata()."""

    def __init__(self, path, framework="pt", device="cpu"):
        self._t = safetensors_io.load(path)
        self._framework = framework

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def keys(self):
        return list(self._t)

    def metadata(self):
        return {"format": "pt"}

    def get_tensor(self, name):
        import torch
        a = self._t[name]
        return torch.from_numpy(a.copy()) if self._framework == "pt" else a
