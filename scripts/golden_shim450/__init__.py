"""Run transformers v4.50 from a source tree under Debian's torch 1.13, offline, with no transformers file patched
(scripts/qwen25vl-golden.py, scripts/gemma3-golden.py, and llama.cpp's convert_hf_to_gguf.py in a child process).

  install(transformers_src)  puts site/ (stand-ins for huggingface_hub and safetensors, with dist-info so that
                             transformers' version checks pass) and the source tree on sys.path, adds the torch
                             stand-ins below, imports transformers and applies the tokenizer fixes below.
  STANDINS                   what install() changes, recorded in the goldens' cases.json.

Not thread-safe (edits sys.path / sys.modules); call once per process before anything imports transformers.
"""
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))

STANDINS = {
    "huggingface_hub": "scripts/golden_shim450/site/huggingface_hub: offline stand-in (constants with their defaults "
                       "and HF_HUB_OFFLINE, exception classes, pass-through decorators; every other call raises), "
                       "dist-info version 0.26.0",
    "safetensors": "scripts/golden_shim450/site/safetensors: safe_open / torch.load_file / torch.save_file over "
                   "scripts/safetensors_io.py, dist-info version 0.4.3",
    "tokenizers": "absent: transformers uses its slow tokenizers and its fallback AddedToken",
    "torch.distributed.tensor": "empty module (torch 1.13 has none; transformers 4.50 imports it)",
    "torch.compiler": "disable(fn=None, recursive=True) -> fn unchanged; is_compiling() -> False (torch 1.13 has none)",
    "transformers.tokenization_utils_base.AddedToken.__hash__": "hash(self.content), as tokenizers.AddedToken (the "
                                                                "fallback dataclass is unhashable)",
    "transformers.tokenization_utils_base.AddedToken.__setstate__": "self.__dict__.update(state) (missing on the "
                                                                    "fallback class)",
}


def _torch_standins():
    import torch
    if not hasattr(torch, "compiler"):
        comp = types.ModuleType("torch.compiler")

        def disable(fn=None, recursive=True):
            return fn if fn is not None else (lambda f: f)

        comp.disable = disable
        comp.is_compiling = lambda: False
        sys.modules["torch.compiler"] = comp
        torch.compiler = comp
    try:
        import torch.distributed.tensor  # noqa: F401
    except ImportError:
        t = types.ModuleType("torch.distributed.tensor")
        t.__path__ = []
        sys.modules["torch.distributed.tensor"] = t


def install(transformers_src):
    src = os.path.abspath(transformers_src)
    if not os.path.isfile(os.path.join(src, "transformers", "__init__.py")):
        sys.exit(f"--transformers-src {src}: expected <dir>/transformers/__init__.py (the src/ folder of a "
                 f"transformers v4.50 tree)")
    for p in (src, os.path.join(HERE, "site")):
        if p not in sys.path:
            sys.path.insert(0, p)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    _torch_standins()
    import transformers
    from transformers import tokenization_utils_base as tub
    if not getattr(tub, "is_tokenizers_available", lambda: False)():
        tub.AddedToken.__hash__ = lambda self: hash(self.content)
        tub.AddedToken.__setstate__ = lambda self, state: self.__dict__.update(state)
    return transformers
