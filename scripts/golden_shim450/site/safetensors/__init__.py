"""Offline stand-in for the safetensors package (scripts/golden_shim450): safe_open / torch.load_file /
torch.save_file over scripts/safetensors_io.py (the format: 8-byte header length, JSON header, raw data)."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
import safetensors_io  # noqa: E402

__version__ = "0.4.3"


class SafetensorError(Exception):
    pass


class safe_open:
    def __init__(self, path, framework="pt", device="cpu"):
        import json
        import struct
        with open(path, "rb") as f:
            n = struct.unpack("<Q", f.read(8))[0]
            self._meta = json.loads(f.read(n)).get("__metadata__", {}) or {}
        self._t = safetensors_io.load(path)
        self._framework = framework

    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False

    def keys(self):
        return list(self._t)

    def metadata(self):
        return self._meta

    def get_tensor(self, name):
        import torch
        return torch.from_numpy(self._t[name].copy())

    def get_slice(self, name):
        return self.get_tensor(name)
