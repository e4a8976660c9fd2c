"""_capi.py: the C API of include/groundlmm.h through ctypes, and where libgroundlmm.so is found.

The structures mirror include/groundlmm.h field for field (same order, same C types): change both together.
The library is looked for, in order, at $GROUNDLMM_LIB, next to this file (the copy `pip install` puts there) and in
the source tree's build/lib (running from a checkout with PYTHONPATH=python).
Thread safety: the functions are the C API's; ctypes releases the GIL during each call.
"""
import ctypes
import os
from ctypes import (CFUNCTYPE, POINTER, Structure, c_bool, c_char_p, c_float, c_int, c_int32, c_size_t,
                    c_uint8, c_uint32, c_void_p)

LIB_NAME = "libgroundlmm.so"

TOKEN_CALLBACK = CFUNCTYPE(c_bool, c_char_p, c_int32, c_void_p)
PROGRESS_CALLBACK = CFUNCTYPE(c_bool, c_char_p, c_float, c_void_p)
LOG_CALLBACK = CFUNCTYPE(None, c_int, c_char_p, c_void_p)


class ModelParams(Structure):
    _fields_ = [
        ("model", c_char_p),
        ("vision", c_char_p),
        ("lora", c_char_p),
        ("lora_scale", c_float),
        ("sam", c_char_p),
        ("refiner", c_int),
        ("n_threads", c_int32),
        ("n_gpu_layers", c_int32),
        ("use_gpu", c_bool),
        ("image_min_tokens", c_int32),
        ("image_max_tokens", c_int32),
    ]


class CtxParams(Structure):
    _fields_ = [("n_ctx", c_int32), ("n_batch", c_int32), ("kv_f32", c_bool)]


class RunParams(Structure):
    _fields_ = [
        ("prompt", c_char_p),
        ("templ", c_char_p),
        ("n_predict", c_int32),
        ("temp", c_float),
        ("top_k", c_int32),
        ("top_p", c_float),
        ("seed", c_uint32),
        ("attn_heads", c_int),
        ("answer", c_char_p),
        ("aspect", c_int),
        ("normalize", c_bool),
        ("remove_corner", c_bool),
        ("mask_select", c_int),
        ("min_score", c_float),
        ("keep_empty", c_bool),
        ("more_masks", c_bool),
        ("on_token", TOKEN_CALLBACK),
        ("on_token_user_data", c_void_p),
        ("progress", PROGRESS_CALLBACK),
        ("progress_user_data", c_void_p),
        ("settings_json", c_char_p),
    ]


class Grid(Structure):
    _fields_ = [
        ("role", c_char_p),
        ("rows", c_int32),
        ("cols", c_int32),
        ("cells", POINTER(c_int32)),
        ("x", c_int32),
        ("y", c_int32),
        ("w", c_int32),
        ("h", c_int32),
    ]


REFINERS = {"auto": 0, "sam": 1, "region": 2, "none": 3}
ATTN_HEADS_ALL, ATTN_HEADS_OFFICIAL = 0, 1


def _candidates():
    env = os.environ.get("GROUNDLMM_LIB")
    if env:
        return [env]  # given explicitly: that file or an error, never a silent fallback
    here = os.path.dirname(os.path.abspath(__file__))
    return [os.path.join(here, LIB_NAME),
            os.path.join(os.path.dirname(os.path.dirname(here)), "build", "lib", LIB_NAME)]


def _load():
    tried = []
    for path in _candidates():
        if os.path.isfile(path):
            return ctypes.CDLL(path), path
        tried.append(path)
    raise ImportError("groundlmm: %s not found (looked at %s). Build it with `cmake --build build --target "
                      "groundlmm-shared` and set GROUNDLMM_LIB to its path, or install the package with "
                      "`pip install ./python` after building (docs/python.md)" % (LIB_NAME, ", ".join(tried)))


lib, lib_path = _load()

_ERR = (c_char_p, c_size_t)


def _decl(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)


_decl("glm_version", c_char_p)
_decl("glm_settings_json", c_char_p)
_decl("glm_log_set", None, LOG_CALLBACK, c_void_p, c_int)
_decl("glm_model_default_params", ModelParams)
_decl("glm_ctx_default_params", CtxParams)
_decl("glm_run_default_params", RunParams)
_decl("glm_model_load", c_void_p, POINTER(ModelParams), *_ERR)
_decl("glm_model_free", None, c_void_p)
_decl("glm_context_new", c_void_p, c_void_p, POINTER(CtxParams), *_ERR)
_decl("glm_free", None, c_void_p)
_decl("glm_run_image", c_void_p, c_void_p, POINTER(c_uint8), c_size_t, POINTER(RunParams), *_ERR)
_decl("glm_run_file", c_void_p, c_void_p, c_char_p, POINTER(RunParams), *_ERR)
_decl("glm_attend_file", c_void_p, c_void_p, c_char_p, POINTER(RunParams), *_ERR)
_decl("glm_attend_image", c_void_p, c_void_p, POINTER(c_uint8), c_size_t, POINTER(RunParams), *_ERR)
_decl("glm_attend_load", c_void_p, c_char_p, *_ERR)
_decl("glm_attend_save", c_int32, c_void_p, c_char_p, *_ERR)
_decl("glm_attend_answer", c_char_p, c_void_p)
_decl("glm_attend_n_tokens", c_int32, c_void_p)
_decl("glm_attend_token", c_bool, c_void_p, c_int32, POINTER(c_int32), POINTER(c_char_p), POINTER(c_int32),
      POINTER(c_int32))
_decl("glm_attend_n_image_tokens", c_int32, c_void_p)
_decl("glm_attend_map", POINTER(c_float), c_void_p, c_int32, c_int)
_decl("glm_attend_n_grids", c_int32, c_void_p)
_decl("glm_attend_grid", c_bool, c_void_p, c_int32, POINTER(Grid))
_decl("glm_attend_primary_grid", c_int32, c_void_p)
_decl("glm_attend_free", None, c_void_p)
_decl("glm_ground_attend", c_void_p, c_void_p, c_void_p, c_char_p, POINTER(RunParams), *_ERR)
_decl("glm_ground_attend_image", c_void_p, c_void_p, c_void_p, POINTER(c_uint8), c_size_t, POINTER(RunParams), *_ERR)
_decl("glm_result_answer", c_char_p, c_void_p)
_decl("glm_result_n_phrases", c_int32, c_void_p)
_decl("glm_result_phrase_map", POINTER(c_float), c_void_p, c_int32, POINTER(c_int32), POINTER(c_int32))
_decl("glm_result_image_size", c_bool, c_void_p, POINTER(c_int32), POINTER(c_int32))
_decl("glm_result_phrase_mask", c_bool, c_void_p, c_int32, POINTER(c_uint8), c_size_t)
_decl("glm_result_json", c_char_p, c_void_p)
_decl("glm_result_html", c_char_p, c_void_p)
_decl("glm_result_overlay_png", c_size_t, c_void_p, POINTER(POINTER(c_uint8)))
_decl("glm_result_free", None, c_void_p)

ERR_SIZE = 2048


def err_buffer():
    return ctypes.create_string_buffer(ERR_SIZE)
