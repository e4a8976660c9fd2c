"""Run a converter script of the pinned llama.cpp tree on Debian's torch 1.13: run_script.py <script> [args...].

The pinned convert_hf_to_gguf.py names torch.float8_e4m3fn and torch.float8_e5m2 (torch >= 2.1) as keys of a
dtype table at import time. torch 1.13 has neither; they are given here as two distinct placeholder objects, which
no tensor of a goldens' model (float32/float16) can have, so the table's lookups for real tensors are unchanged.
Nothing else is altered; the script runs as __main__ with sys.argv = [script, args...]."""
import os
import runpy
import sys

import torch

for _name in ("float8_e4m3fn", "float8_e5m2"):
    if not hasattr(torch, _name):
        setattr(torch, _name, type(_name, (), {"__repr__": lambda self, n=_name: f"<placeholder torch.{n}>"})())

if __name__ == "__main__":
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    sys.path.insert(0, os.path.dirname(os.path.abspath(script)))  # as `python3 script` would
    runpy.run_path(script, run_name="__main__")
