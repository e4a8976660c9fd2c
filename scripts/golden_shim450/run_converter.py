#!/usr/bin/env python3
"""Run the pinned llama.cpp's own convert_hf_to_gguf.py unchanged, offline, on transformers v4.50 from source:

  /usr/bin/python3 scripts/golden_shim450/run_converter.py TRANSFORMERS_SRC LLAMA_CPP [--pre NAME] [--shim457] -- ARGS

install() of this folder (or of scripts/golden_shim457 with --shim457, for a transformers of the 4.57 line) (stand-ins for huggingface_hub/safetensors/tokenizers, torch 1.13 gaps), the converter's
gguf-py first on sys.path, then two converter-side overrides needed without the `tokenizers` package:
  - AutoTokenizer.from_pretrained(..., use_fast=False) unless told otherwise, and the slow tokenizer's `vocab`
    property = get_vocab() (the converter reads tokenizer.vocab, which only the fast tokenizers have);
  - with --pre NAME, TextModel.get_vocab_base_pre returns NAME: the converter names the pre-tokenizer by hashing the
    tokens of a fixed text, which no tiny vocabulary can reproduce (`qwen2` is its answer for real Qwen2.5-VL).
torch 1.13 lacks torch.float8_e4m3fn / float8_e5m2, which the converter's dtype tables name: they become inert
placeholders (no checkpoint here has such tensors). Everything else, the tensor mapping and the metadata included, is the converter's own code."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import golden_shim450  # noqa: E402


def main():
    if "--" not in sys.argv or len(sys.argv) < 4:
        sys.exit(__doc__)
    sep = sys.argv.index("--")
    own, conv_args = sys.argv[1:sep], sys.argv[sep + 1:]
    tsrc, llama = own[0], os.path.abspath(own[1])
    pre = own[own.index("--pre") + 1] if "--pre" in own else None
    if "--shim457" in own:
        import golden_shim457
        golden_shim457.install(tsrc)
    else:
        golden_shim450.install(tsrc)
    import torch
    for name in ("float8_e4m3fn", "float8_e5m2"):  # named in the converter's dtype tables; torch 1.13 has neither
        if not hasattr(torch, name):
            setattr(torch, name, type(name, (), {"__repr__": lambda self, n=name: f"<absent torch.{n}>"})())
    sys.path.insert(0, os.path.join(llama, "gguf-py"))
    sys.path.insert(0, llama)
    import transformers
    from transformers import AutoTokenizer, PreTrainedTokenizer

    orig = AutoTokenizer.from_pretrained.__func__

    def from_pretrained(cls, *a, **kw):
        kw.setdefault("use_fast", False)
        return orig(cls, *a, **kw)

    AutoTokenizer.from_pretrained = classmethod(from_pretrained)
    if not hasattr(PreTrainedTokenizer, "vocab"):
        PreTrainedTokenizer.vocab = property(lambda self: self.get_vocab())
    import convert_hf_to_gguf as conv
    if pre is not None:
        from conversion.base import TextModel
        TextModel.get_vocab_base_pre = lambda self, tokenizer: pre
    sys.argv = [os.path.join(llama, "convert_hf_to_gguf.py")] + conv_args
    print(f"run_converter: transformers {transformers.__version__} from {tsrc}; pre={pre}", file=sys.stderr)
    conv.main()


if __name__ == "__main__":
    main()
