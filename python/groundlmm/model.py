"""model.py: Model (the engine: model files + one context), Result (stage 1 + stage 2), Attend (stage 1).

Model wraps one glm_model and one glm_context of the C API (include/groundlmm.h). Settings are passed by their names
in the settings table (docs/settings.md, groundlmm.settings()) and travel as the C API's settings_json, so they are
checked exactly as the command line's and the server's; an unknown name or a bad value raises GroundlmmError with the
C API's message.

Thread safety: a Model serves one call at a time (a lock serialises calls from several threads: the context holds
one KV cache); use one Model per thread for parallel work. Result and Attend are read-only values once made.
"""
import codecs
import ctypes
import json
import logging
import os
import threading
import weakref
from collections import namedtuple

import numpy as np

from . import _capi
from ._image import image_source

C = _capi.lib


class GroundlmmError(RuntimeError):
    """An error reported by the engine (the C API's one-line message)."""


def _raise(err, what):
    msg = err.value.decode("utf-8", "replace") or "unknown error"
    raise GroundlmmError(msg if not what else "%s: %s" % (what, msg))


def _bytes(s):
    return None if s is None else os.fsencode(s) if isinstance(s, os.PathLike) else str(s).encode("utf-8")


def version():
    """The engine's version (glm_version)."""
    return C.glm_version().decode()


def settings():
    """The settings table: one dict per setting (name, stage, type, default, min, max, choices, help)."""
    return json.loads(C.glm_settings_json().decode("utf-8"))


_LEVELS = {"debug": 0, "info": 1, "warn": 2, "error": 3}
_PY_LEVELS = {0: logging.DEBUG, 1: logging.INFO, 2: logging.WARNING, 3: logging.ERROR}
_log_keep = None  # the ctypes callback must outlive the C side's pointer to it
logger = logging.getLogger("groundlmm")


def set_log(level="warn", callback=None):
    """Routes the engine's log lines (groundlmm, ggml, libllama) at or above `level` (debug, info, warn, error):
    to callback(level_name, text) when given, else to the Python logger "groundlmm". The default (set on import) is
    warn to the logger: libllama's loading chatter stays out of a notebook."""
    global _log_keep
    if level not in _LEVELS:
        raise ValueError("set_log: level must be one of %s, got %r" % (", ".join(_LEVELS), level))
    names = {v: k for k, v in _LEVELS.items()}

    def sink(lv, text, user_data):
        t = (text or b"").decode("utf-8", "replace").rstrip("\n")
        if not t:
            return
        try:
            if callback is not None:
                callback(names.get(lv, "info"), t)
            else:
                logger.log(_PY_LEVELS.get(lv, logging.INFO), "%s", t)
        except Exception:  # a log sink must not throw into C
            pass

    _log_keep = _capi.LOG_CALLBACK(sink)
    C.glm_log_set(_log_keep, None, _LEVELS[level])


set_log()


def _toy_dir():
    env = os.environ.get("GROUNDLMM_TOY_DIR")
    here = os.path.dirname(os.path.abspath(__file__))
    for d in ([env] if env else []) + [os.path.join(here, "toy"),
                                      os.path.join(os.path.dirname(os.path.dirname(here)), "models", "toy")]:
        if os.path.isfile(os.path.join(d, "toy-llm.gguf")):
            return d
    raise GroundlmmError("the toy model was not found: set GROUNDLMM_TOY_DIR to the folder of toy-llm.gguf, "
                         "toy-vit.gguf and scene.png (models/toy in the source tree)")


def toy_scene():
    """Path of the bundled toy-world scene (the image `groundlmm demo` grounds)."""
    return os.path.join(_toy_dir(), "scene.png")


Token = namedtuple("Token", "id piece begin end")
Token.__doc__ = "An output token: its id, its text piece and its byte span [begin, end) in the UTF-8 answer."
Grid = namedtuple("Grid", "role rows cols cells rect")
Grid.__doc__ = ("An image-token grid: role (image, base, tile, highres), rows x cols, cells (int32 [rows, cols]: each "
                "cell's index among the image tokens) and rect (x, y, w, h): the part of the original image it covers.")


class Phrase:
    """One noun phrase of the answer with its point and mask (result.json's phrase entry, docs/formats.md).

    text, head, span, head_span (byte spans in the UTF-8 answer), sentence, tokens (output tokens on the head noun),
    status ("ok", "no-tokens", "low-score", "no-refiner"), point ((x, y) in image pixels or None), peak, score,
    mask_index, rle (COCO RLE {'size': [h, w], 'counts': str} or None: pycocotools.mask.decode accepts it), mask
    (numpy bool [h, w] or None), map (numpy float32 [grid rows, grid cols]: the phrase's map over the grid, or None),
    all_masks (every SAM candidate as RLE dicts, with the setting more_masks), json (the whole entry).
    """

    def __init__(self, entry, mask, grid_map):
        self.json = entry
        self.text = entry["text"]
        self.head = entry.get("head")
        self.span = tuple(entry["span"])
        self.head_span = tuple(entry["head_span"]) if entry.get("head_span") is not None else None
        self.sentence = entry.get("sentence")
        self.tokens = list(entry.get("tokens", []))
        self.status = entry.get("status")
        self.point = tuple(entry["point"]) if entry.get("point") is not None else None
        self.peak = entry.get("peak")
        self.score = entry.get("score")
        self.mask_index = entry.get("mask_index")
        self.rle = entry.get("mask")
        self.all_masks = entry.get("all_masks")
        self.mask = mask
        self.map = grid_map

    def __repr__(self):
        return "Phrase(%r, point=%r, status=%r, mask=%s)" % (
            self.text, self.point, self.status, None if self.mask is None else "%d px" % int(self.mask.sum()))


class Result:
    """Stage 1 + stage 2 of one image: answer, phrases (Phrase), width, height, settings (dict), json (result.json as
    a dict); overlay_png() and html() render the overlay and answer.html; save(folder) writes result.json and
    overlay.png."""

    def __init__(self, handle):
        self._h = handle
        self._finalizer = weakref.finalize(self, C.glm_result_free, handle)
        self.json = json.loads(C.glm_result_json(handle).decode("utf-8"))
        self.answer = C.glm_result_answer(handle).decode("utf-8", "replace")
        w, h = ctypes.c_int32(), ctypes.c_int32()
        C.glm_result_image_size(handle, ctypes.byref(w), ctypes.byref(h))
        self.width, self.height = w.value, h.value
        self.settings = self.json.get("settings", {})
        entries = self.json.get("phrases", [])
        n = C.glm_result_n_phrases(handle)
        if n != len(entries):
            raise GroundlmmError("result: %d phrases in the C result, %d in result.json" % (n, len(entries)))
        self.phrases = []
        for i, e in enumerate(entries):
            mask = None
            if e.get("mask") is not None:
                buf = np.empty((self.height, self.width), dtype=np.uint8)
                ok = C.glm_result_phrase_mask(handle, i, buf.ctypes.data_as(ctypes.POINTER(ctypes.c_uint8)),
                                              buf.size)
                if not ok:
                    raise GroundlmmError("result: phrase %d has a mask in result.json but none in the C result" % i)
                mask = buf.astype(bool)
            rows, cols = ctypes.c_int32(), ctypes.c_int32()
            p = C.glm_result_phrase_map(handle, i, ctypes.byref(rows), ctypes.byref(cols))
            grid_map = (np.ctypeslib.as_array(p, shape=(rows.value * cols.value,)).reshape(rows.value, cols.value)
                        .copy() if p else None)
            self.phrases.append(Phrase(e, mask, grid_map))

    def overlay_png(self):
        """overlay.png: the image with every mask tinted and every point drawn (bytes)."""
        data = ctypes.POINTER(ctypes.c_uint8)()
        n = C.glm_result_overlay_png(self._h, ctypes.byref(data))
        return ctypes.string_at(data, n)

    def html(self):
        """answer.html: the answer with its phrases coloured (it references overlay.png)."""
        return C.glm_result_html(self._h).decode("utf-8", "replace")

    def to_json(self):
        """result.json's text."""
        return C.glm_result_json(self._h).decode("utf-8")

    def save(self, folder):
        """Writes result.json, overlay.png and answer.html into folder (made when missing)."""
        os.makedirs(folder, exist_ok=True)
        with open(os.path.join(folder, "result.json"), "w", encoding="utf-8") as f:
            f.write(self.to_json())
        with open(os.path.join(folder, "overlay.png"), "wb") as f:
            f.write(self.overlay_png())
        with open(os.path.join(folder, "answer.html"), "w", encoding="utf-8") as f:
            f.write(self.html())

    def __repr__(self):
        return "Result(%r, %d phrases)" % (self.answer, len(self.phrases))


class Attend:
    """Stage 1 of one image: answer, tokens (Token), n_image_tokens, maps (float32 [tokens, image tokens]: attention
    averaged over all layers and heads), maps_official (the same for the official code's head), grids (Grid),
    primary (index of the grid stage 2 points from); grid_maps(grid, heads) lays the maps out on a grid;
    save(folder) writes attend.json + attention.safetensors, load_attend(folder) reads them."""

    def __init__(self, handle):
        self._h = handle
        self._finalizer = weakref.finalize(self, C.glm_attend_free, handle)
        self.answer = C.glm_attend_answer(handle).decode("utf-8", "replace")
        self.tokens = []
        for i in range(C.glm_attend_n_tokens(handle)):
            tid, piece, b, e = ctypes.c_int32(), ctypes.c_char_p(), ctypes.c_int32(), ctypes.c_int32()
            C.glm_attend_token(handle, i, ctypes.byref(tid), ctypes.byref(piece), ctypes.byref(b), ctypes.byref(e))
            self.tokens.append(Token(tid.value, (piece.value or b"").decode("utf-8", "replace"), b.value, e.value))
        self.n_image_tokens = C.glm_attend_n_image_tokens(handle)
        self.maps = self._maps(_capi.ATTN_HEADS_ALL)
        self.maps_official = self._maps(_capi.ATTN_HEADS_OFFICIAL)
        self.grids = []
        for g in range(C.glm_attend_n_grids(handle)):
            gr = _capi.Grid()
            C.glm_attend_grid(handle, g, ctypes.byref(gr))
            cells = np.ctypeslib.as_array(gr.cells, shape=(gr.rows * gr.cols,)).reshape(gr.rows, gr.cols).copy()
            self.grids.append(Grid(gr.role.decode(), gr.rows, gr.cols, cells, (gr.x, gr.y, gr.w, gr.h)))
        self.primary = C.glm_attend_primary_grid(handle)

    def _maps(self, heads):
        out = np.zeros((len(self.tokens), self.n_image_tokens), dtype=np.float32)
        for i in range(len(self.tokens)):
            p = C.glm_attend_map(self._h, i, heads)
            if not p:
                raise GroundlmmError("attend: no map for output token %d of %d" % (i, len(self.tokens)))
            out[i] = np.ctypeslib.as_array(p, shape=(self.n_image_tokens,))
        return out

    def grid_maps(self, grid=None, heads="all"):
        """The maps laid out on a grid (index or role; None = the primary grid): float32 [tokens, rows, cols]."""
        if heads not in ("all", "official"):
            raise ValueError("grid_maps: heads must be 'all' or 'official', got %r" % (heads,))
        if grid is None:
            grid = self.primary
        if isinstance(grid, str):
            roles = [g.role for g in self.grids]
            if grid not in roles:
                raise ValueError("grid_maps: no grid with role %r (grids: %s)" % (grid, ", ".join(roles)))
            grid = roles.index(grid)
        if not 0 <= grid < len(self.grids):
            raise ValueError("grid_maps: grid %d out of range (%d grids)" % (grid, len(self.grids)))
        m = self.maps if heads == "all" else self.maps_official
        return m[:, self.grids[grid].cells]

    def save(self, folder):
        """Writes attend.json and attention.safetensors (the format `groundlmm attend` writes) into folder."""
        err = _capi.err_buffer()
        if C.glm_attend_save(self._h, _bytes(folder), err, _capi.ERR_SIZE) != 0:
            _raise(err, None)

    def __repr__(self):
        return "Attend(%r, %d tokens x %d image tokens)" % (self.answer, len(self.tokens), self.n_image_tokens)


def load_attend(folder):
    """A stage-1 result saved by Attend.save or `groundlmm attend -o folder`."""
    err = _capi.err_buffer()
    h = C.glm_attend_load(_bytes(folder), err, _capi.ERR_SIZE)
    if not h:
        _raise(err, None)
    return Attend(h)


class Model:
    """The engine: model files loaded once, and one context (LLM session, KV cache, SAM's image embedding).

    llm: LLM GGUF (llama.cpp format); vision: vision GGUF (LLaVA-1.5 / Qwen-VL / Gemma 3 mmproj, DiffLMM or toy
    encoder); sam: SAM GGUF (groundlmm convert-sam) or None; refiner: 'auto' (sam when sam is given, else none), 'sam',
    'region' or 'none'; n_threads (0 = all), n_gpu_layers (-1 = all), use_gpu, image_min_tokens / image_max_tokens
    (Qwen-VL), n_ctx, n_batch, kv_f32 (F32 KV cache: exact maps); settings: default settings of every call, by
    name (docs/settings.md), which a call's own keyword arguments override. Files are checked now: a bad path or file
    raises GroundlmmError. close() (or a with block) frees the memory now rather than at garbage collection.
    """

    def __init__(self, llm, vision, sam=None, lora=None, lora_scale=1.0, refiner="auto", n_threads=0,
                 n_gpu_layers=-1, use_gpu=True, image_min_tokens=0, image_max_tokens=0, n_ctx=4096, n_batch=512,
                 kv_f32=False, settings=None):
        if refiner not in _capi.REFINERS:
            raise ValueError("Model: refiner must be one of %s, got %r" % (", ".join(_capi.REFINERS), refiner))
        mp = C.glm_model_default_params()
        mp.model, mp.vision, mp.lora, mp.sam = _bytes(llm), _bytes(vision), _bytes(lora), _bytes(sam)
        mp.lora_scale = lora_scale
        mp.refiner = _capi.REFINERS[refiner]
        mp.n_threads, mp.n_gpu_layers, mp.use_gpu = n_threads, n_gpu_layers, use_gpu
        mp.image_min_tokens, mp.image_max_tokens = image_min_tokens, image_max_tokens
        err = _capi.err_buffer()
        model = C.glm_model_load(ctypes.byref(mp), err, _capi.ERR_SIZE)
        if not model:
            _raise(err, None)
        cp = C.glm_ctx_default_params()
        cp.n_ctx, cp.n_batch, cp.kv_f32 = n_ctx, n_batch, kv_f32
        ctx = C.glm_context_new(model, ctypes.byref(cp), err, _capi.ERR_SIZE)
        C.glm_model_free(model)  # the context keeps the model alive
        if not ctx:
            _raise(err, None)
        self._ctx = ctx
        self._finalizer = weakref.finalize(self, C.glm_free, ctx)
        self._lock = threading.Lock()
        self.settings = dict(settings or {})

    @classmethod
    def toy(cls, **kwargs):
        """The toy model `groundlmm demo` runs (models/toy: trained on toy-world scenes only; its prompt is fixed),
        with the demo's settings: region refiner, n_ctx 512, min_score 0.5, n_predict 64."""
        d = _toy_dir()
        kw = dict(refiner="region", n_ctx=512, settings={"min_score": 0.5, "n_predict": 64})
        kw.update(kwargs)
        return cls(os.path.join(d, "toy-llm.gguf"), os.path.join(d, "toy-vit.gguf"), **kw)

    def close(self):
        """Frees the context now (the Model cannot be used afterwards)."""
        self._finalizer()
        self._ctx = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _params(self, prompt, answer, settings, on_token):
        p = C.glm_run_default_params()
        p.prompt = _bytes(prompt)
        p.answer = _bytes(answer)
        merged = dict(self.settings)
        merged.update(settings)
        p.settings_json = json.dumps(merged).encode("utf-8") if merged else None
        state = {"error": None, "cb": None}
        if on_token is not None:
            dec = codecs.getincrementaldecoder("utf-8")("replace")

            def cb(piece, index, user_data):  # pieces may end inside a UTF-8 character: decode incrementally
                try:
                    return on_token(dec.decode(piece or b""), index) is not False
                except BaseException as e:  # re-raised after the C call returns ("aborted")
                    state["error"] = e
                    return False

            state["cb"] = _capi.TOKEN_CALLBACK(cb)
            p.on_token = state["cb"]
        return p, state

    def _call(self, fn, what, *args, prompt=None, answer=None, on_token=None, settings=None):
        if self._ctx is None:
            raise GroundlmmError("%s: the model is closed" % what)
        p, state = self._params(prompt, answer, settings or {}, on_token)
        err = _capi.err_buffer()
        with self._lock:
            h = fn(self._ctx, *args, ctypes.byref(p), err, _capi.ERR_SIZE)
        if state["error"] is not None:
            if h:
                (C.glm_attend_free if fn in (C.glm_attend_file, C.glm_attend_image) else C.glm_result_free)(h)
            raise state["error"]
        if not h:
            _raise(err, None)
        return h

    @staticmethod
    def _image_args(image):
        kind, data = image_source(image)
        if kind == "path":
            return kind, (data,)
        buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        return kind, (buf, len(data))

    def ground(self, image, prompt=None, *, answer=None, attend=None, on_token=None, **settings):
        """Attend-and-segment one image: a path, an encoded image (bytes) or an H x W x 3 uint8 RGB array.

        prompt: the question (None = the model's default); answer: ground this text instead of generating one;
        attend: an Attend of the same image (stage 2 only, on its maps); on_token(piece, index): called with each
        generated token's text (return False to stop: the call then raises GroundlmmError "aborted"); any other
        keyword is a setting by name (min_score=0.5, attn_heads='official', refine_points=..., see settings()).
        Returns a Result.
        """
        kind, args = self._image_args(image)
        if attend is not None:
            if not isinstance(attend, Attend):
                raise TypeError("ground: attend must be an Attend, got %s" % type(attend).__name__)
            fn = C.glm_ground_attend if kind == "path" else C.glm_ground_attend_image
            return Result(self._call(fn, "ground", attend._h, *args, prompt=prompt, answer=answer,
                                     settings=settings))
        fn = C.glm_run_file if kind == "path" else C.glm_run_image
        return Result(self._call(fn, "ground", *args, prompt=prompt, answer=answer, on_token=on_token,
                                 settings=settings))

    def attend(self, image, prompt=None, *, answer=None, on_token=None, **settings):
        """Stage 1 alone (the answer and its attention maps over the image tokens): returns an Attend. Arguments as
        ground()'s."""
        kind, args = self._image_args(image)
        fn = C.glm_attend_file if kind == "path" else C.glm_attend_image
        return Attend(self._call(fn, "attend", *args, prompt=prompt, answer=answer, on_token=on_token,
                                 settings=settings))
