"""Run transformers of the 4.57 line (the first with Qwen3-VL) from a source tree under Debian's torch 1.13, offline,
with no transformers file patched (scripts/qwen3vl-golden.py, and llama.cpp's converter through run_converter.py).

  install(transformers_src)  golden_shim450's stand-in packages (huggingface_hub, safetensors, tokenizers) with the
                             dist-info versions this line checks (hub 1.0.0rc5, tokenizers 0.22.0), an httpx
                             stand-in, and the torch 2.x names below; then imports transformers.
  STANDINS                   what install() changes, recorded in the golden's cases.json.

transformers >= 4.56 turns PyTorch off below 2.2 (import_utils.is_torch_available reads the installed torch's
version), so the version transformers reads for torch is reported as 2.2.0; the torch 2.x APIs that the code path
used here touches are given from torch 1.13's own equivalents (functorch's vmap, _register_pytree_node) or as inert
names where they only decorate or name things at import time. Numerics are torch 1.13's.
Not thread-safe (edits sys.path, sys.modules and torch's namespace); call once per process before anything imports
transformers.
"""
import importlib.metadata as _md
import os
import sys
import types

HERE = os.path.dirname(os.path.abspath(__file__))
SHIM450 = os.path.join(os.path.dirname(HERE), "golden_shim450")
TORCH_VERSION_REPORTED = "2.2.0"

STANDINS = {
    "huggingface_hub / safetensors / tokenizers": "scripts/golden_shim450/site stand-ins; dist-info versions "
                                                  "huggingface-hub 1.0.0rc5 and tokenizers 0.22.0 "
                                                  "(scripts/golden_shim457/site), which this transformers checks",
    "httpx": "import-only stand-in (utils/hub.py imports it)",
    "tokenizers.AddedToken": "a plain class with tokenizers.AddedToken's fields, hash by content (this transformers "
                             "imports it from tokenizers whenever that package is importable)",
    "importlib.metadata.version('torch')": f"reports {TORCH_VERSION_REPORTED}: transformers >= 4.56 disables PyTorch "
                                           "below 2.2 (the real torch is 1.13.0a0)",
    "torch.compiler": "disable(fn=None, recursive=True) -> fn unchanged; is_compiling() -> False",
    "torch._dynamo": "allow_in_graph(fn) -> fn; disable -> identity decorator; is_compiling() -> False",
    "torch.distributed.tensor": "empty module",
    "torch.utils._pytree.register_pytree_node": "torch 1.13's _register_pytree_node (extra keyword arguments dropped)",
    "torch.no_grad": "usable as a bare decorator (@torch.no_grad), as in torch >= 2.0",
    "torch.vmap": "functorch.vmap (torch 2.0 moved functorch's vmap into torch; masking_utils uses it for the mask)",
    "torch.float8_e4m3fn / float8_e5m2 / uint16 / uint32 / uint64": "inert placeholders (named in dtype tables)",
}


class AddedToken:
    """tokenizers.AddedToken's fields and behaviour that the slow tokenizers use."""

    def __init__(self, content="", single_word=False, lstrip=False, rstrip=False, special=False, normalized=None):
        self.content, self.single_word, self.lstrip, self.rstrip = content, single_word, lstrip, rstrip
        self.special = special
        self.normalized = normalized if normalized is not None else not special

    def __getstate__(self):
        return dict(self.__dict__)

    def __setstate__(self, state):
        self.__dict__.update(state)

    def __str__(self):
        return self.content

    def __repr__(self):
        return f"AddedToken({self.content!r}, special={self.special}, normalized={self.normalized})"

    def __hash__(self):
        return hash(self.content)

    def __eq__(self, other):
        return str(self) == str(other)


def _torch_standins():
    import torch
    real_version = _md.version

    def version(name):
        return TORCH_VERSION_REPORTED if name == "torch" else real_version(name)

    _md.version = version
    if not hasattr(torch, "compiler"):
        comp = types.ModuleType("torch.compiler")
        comp.disable = lambda fn=None, recursive=True: fn if fn is not None else (lambda f: f)
        comp.is_compiling = lambda: False
        sys.modules["torch.compiler"] = comp
        torch.compiler = comp
    if not hasattr(torch, "_dynamo"):
        dyn = types.ModuleType("torch._dynamo")
        dyn.allow_in_graph = lambda fn: fn
        dyn.is_compiling = lambda: False
        dyn.disable = lambda fn=None, recursive=True: fn if fn is not None else (lambda f: f)
        sys.modules["torch._dynamo"] = dyn
        torch._dynamo = dyn
    try:
        import torch.distributed.tensor  # noqa: F401
    except ImportError:
        t = types.ModuleType("torch.distributed.tensor")
        t.__path__ = []
        sys.modules["torch.distributed.tensor"] = t
    import torch.utils._pytree as pt
    if not hasattr(pt, "register_pytree_node"):
        pt.register_pytree_node = lambda cls, flatten, unflatten, **kw: pt._register_pytree_node(cls, flatten, unflatten)
    try:
        torch.no_grad(lambda: None)
    except TypeError:
        base = torch.no_grad

        class no_grad(base):
            def __new__(cls, fn=None):
                self = super().__new__(cls)
                if callable(fn):
                    base.__init__(self)
                    return self(fn)
                return self

            def __init__(self, fn=None):
                base.__init__(self)

        torch.no_grad = no_grad
    if not hasattr(torch, "vmap"):
        import functorch
        torch.vmap = functorch.vmap
    for name in ("float8_e4m3fn", "float8_e5m2", "uint16", "uint32", "uint64"):
        if not hasattr(torch, name):
            setattr(torch, name, type(name, (), {"__repr__": lambda self, n=name: f"<absent torch.{n}>"})())


def install(transformers_src):
    src = os.path.abspath(transformers_src)
    if not os.path.isfile(os.path.join(src, "transformers", "models", "qwen3_vl", "modeling_qwen3_vl.py")):
        sys.exit(f"--transformers-src {src}: expected <dir>/transformers/models/qwen3_vl (the src/ folder of a "
                 f"transformers tree of the 4.57 line)")
    sys.path.insert(0, os.path.join(SHIM450, "site"))
    sys.path.insert(0, os.path.join(HERE, "site"))  # its dist-info versions first
    sys.path.insert(0, src)
    sys.path.insert(0, os.path.dirname(HERE))  # scripts/ (safetensors_io)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    _torch_standins()
    import huggingface_hub
    import tokenizers
    tokenizers.AddedToken = AddedToken
    import importlib
    for m in ("constants", "utils", "errors", "file_download"):  # attributes of the real package
        importlib.import_module("huggingface_hub." + m)
    import transformers
    return transformers
