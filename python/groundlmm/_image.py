"""_image.py: the images the module accepts, turned into what the C API reads (a path or encoded bytes).

A numpy array (H x W x 3, uint8, RGB) is encoded as a PNG (lossless: the engine decodes exactly these pixels).
Pure functions: thread-safe.
"""
import os
import struct
import zlib

import numpy as np


def _chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(rgb):
    """PNG bytes of an H x W x 3 uint8 array (8-bit RGB, no interlace, filter 0 on every row)."""
    h, w = rgb.shape[0], rgb.shape[1]
    rows = np.empty((h, 1 + 3 * w), dtype=np.uint8)
    rows[:, 0] = 0  # filter type None
    rows[:, 1:] = np.ascontiguousarray(rgb).reshape(h, 3 * w)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 1)) +
            _chunk(b"IEND", b""))


def image_source(image):
    """('path', bytes of the path) or ('data', encoded image bytes) for a path, encoded bytes or an RGB array."""
    if isinstance(image, (str, os.PathLike)):
        return "path", os.fsencode(image)
    if isinstance(image, (bytes, bytearray, memoryview)):
        data = bytes(image)
        if not data:
            raise ValueError("image: empty bytes (expected an encoded PNG/JPEG/... file's content)")
        return "data", data
    if isinstance(image, np.ndarray):
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise ValueError("image: expected an H x W x 3 uint8 RGB array, got shape %s dtype %s"
                             % (tuple(image.shape), image.dtype))
        if image.shape[0] < 1 or image.shape[1] < 1:
            raise ValueError("image: empty array of shape %s" % (tuple(image.shape),))
        return "data", encode_png(image)
    raise TypeError("image: expected a path, an encoded image (bytes) or an H x W x 3 uint8 numpy array, got %s"
                    % type(image).__name__)
