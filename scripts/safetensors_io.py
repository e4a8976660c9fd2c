"""safetensors read and write for the reference scripts (scripts/*.py): 8-byte little-endian header length, a
JSON header (name -> dtype, shape, data_offsets), raw little-endian data.

  load(path)                      -> {name: numpy array} (copies; "__metadata__" is skipped)
  save(path, tensors, dtype=None) tensors: {name: numpy array or torch tensor}, written in sorted name order with
                                  a compact header; dtype (numpy or torch) casts every tensor as it is written
"""
import json
import struct

import numpy as np

_NAMES = {np.dtype(np.float16): "F16", np.dtype(np.float32): "F32", np.dtype(np.int32): "I32",
          np.dtype(np.int64): "I64", np.dtype(np.uint8): "U8"}
_TYPES = {v: k for k, v in _NAMES.items()}


def load(path):
    with open(path, "rb") as f:
        b = f.read()
    n = struct.unpack("<Q", b[:8])[0]
    h = json.loads(b[8:8 + n])
    out = {}
    for k, v in h.items():
        if k == "__metadata__":
            continue
        s, e = v["data_offsets"]
        out[k] = np.frombuffer(b[8 + n + s:8 + n + e], dtype=_TYPES[v["dtype"]]).reshape(v["shape"]).copy()
    return out


def _numpy(t, dtype):
    if hasattr(t, "detach"):  # a torch tensor
        if dtype is not None and not isinstance(dtype, np.dtype) and not isinstance(dtype, type):
            t = t.to(dtype)  # a torch dtype
        t = t.detach().cpu().contiguous().numpy()
    a = np.ascontiguousarray(t)
    if dtype is not None and (isinstance(dtype, np.dtype) or isinstance(dtype, type)):
        a = a.astype(dtype)
    return a


def _np_dtype(t, dtype):
    if dtype is not None:
        return np.dtype(dtype) if isinstance(dtype, (np.dtype, type)) else np.dtype(str(dtype).replace("torch.", ""))
    if hasattr(t, "detach"):
        return np.dtype(str(t.dtype).replace("torch.", ""))
    return np.asarray(t).dtype


def save(path, tensors, dtype=None):
    names = sorted(tensors)
    header, off = {}, 0
    for k in names:
        dt = _np_dtype(tensors[k], dtype)
        nb = int(np.prod(tuple(tensors[k].shape), dtype=np.int64)) * dt.itemsize
        header[k] = {"dtype": _NAMES[dt], "shape": list(tensors[k].shape), "data_offsets": [off, off + nb]}
        off += nb
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for k in names:  # one tensor converted at a time: large models never exist twice in memory
            f.write(_numpy(tensors[k], dtype).tobytes())
