"""groundlmm: pixel grounding for multimodal LLMs without grounding supervision (attend-and-segment), from Python.

    import groundlmm
    model = groundlmm.Model(llm="llava-v1.5-7b-Q4_K_M.gguf", vision="mmproj-model-f16.gguf", sam="sam-vit-h-f16.gguf")
    r = model.ground("photo.jpg", "Describe the image in detail.")
    for p in r.phrases:
        print(p.text, p.point, None if p.mask is None else p.mask.sum(), p.rle)

A module over the C API (include/groundlmm.h) through ctypes and libgroundlmm.so; docs/python.md is the guide.
"""
from ._capi import lib_path
from .model import (Attend, Grid, GroundlmmError, Model, Phrase, Result, Token, load_attend, set_log, settings,
                    toy_scene, version)

__all__ = ["Attend", "Grid", "GroundlmmError", "Model", "Phrase", "Result", "Token", "load_attend", "lib_path",
           "set_log", "settings", "toy_scene", "version"]
