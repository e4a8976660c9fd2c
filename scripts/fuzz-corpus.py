#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (tests/fuzz/corpus/{http,request,image}): a few small valid
inputs of each kind, which the fuzzers mutate. Images are made with Pillow (the reference decoder)."""
import base64
import io
import os
import sys

from PIL import Image

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "fuzz", "corpus")


def put(kind, name, data):
    d = os.path.join(root, kind)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def image_bytes(fmt, size=(6, 5), mode="RGB", **kw):
    im = Image.new(mode, size)
    for y in range(size[1]):
        for x in range(size[0]):
            v = (x * 40 + y * 17) % 256
            im.putpixel((x, y), (v, 255 - v, (v * 3) % 256) if mode == "RGB" else v % 4 if mode == "P" else v)
    b = io.BytesIO()
    im.save(b, fmt, **kw)
    return b.getvalue()


png = image_bytes("PNG")
imgs = {
    "rgb.png": png,
    "grey.png": image_bytes("PNG", mode="L"),
    "palette.png": image_bytes("PNG", mode="P"),
    "odd-size.png": image_bytes("PNG", size=(9, 7)),
    "rgb.jpg": image_bytes("JPEG", size=(16, 16), quality=80),
    "progressive.jpg": image_bytes("JPEG", size=(16, 16), progressive=True),
    "grey.jpg": image_bytes("JPEG", size=(8, 8), mode="L"),
    "rgb.bmp": image_bytes("BMP", size=(4, 3)),
    "palette.gif": image_bytes("GIF", size=(5, 4), mode="P"),
}
for name, data in imgs.items():
    put("image", name, data)

http = {
    "get.txt": b"GET /health HTTP/1.1\r\nHost: a\r\n\r\n",
    "pipelined.txt": b"GET /health HTTP/1.1\r\n\r\nGET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
    "post-json.txt": b"POST /ground HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n"
                     b"{\"prompt\": \"a\"}",
    "chunked.txt": b"POST /attend HTTP/1.1\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                   b"5;x=1\r\n{\"a\":\r\n3\r\n 1}\r\n0\r\nT: 1\r\n\r\n",
    "multipart.txt": b"POST /ground HTTP/1.1\r\nContent-Type: multipart/form-data; boundary=B\r\nContent-Length: 96\r\n"
                     b"\r\n--B\r\nContent-Disposition: form-data; name=\"image\"; filename=\"i\"\r\n\r\nPNGDATA\r\n"
                     b"--B\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\n1\r\n--B--\r\n",
    "expect.txt": b"POST /ground HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
}
for name, data in http.items():
    put("http", name, b"\x05" + data)  # the first byte is the feed piece size

b64 = base64.b64encode(png).decode()
req = {
    "json-ground.txt": b"\x00" + ('{"image_b64": "%s", "prompt": "What is here?", "n_predict": 8, "temp": 0.5, '
                                  '"top_k": 4, "top_p": 0.9, "seed": 3, "overlay": true, "mask_index": "best", '
                                  '"aspect": "original", "score_thresh": 0.1}' % b64).encode(),
    "json-attend.txt": b"\x02" + ('{"image_b64": "data:image/png;base64,%s", "answer": "A cat.", "maps": "json", '
                                  '"attn_heads": "official"}' % b64).encode(),
    "form-ground.txt": b"\x01" + b"--B\r\nContent-Disposition: form-data; name=\"image\"; filename=\"i.png\"\r\n"
                       b"Content-Type: image/png\r\n\r\n" + png + b"\r\n--B\r\nContent-Disposition: form-data; "
                       b"name=\"n_predict\"\r\n\r\n12\r\n--B\r\nContent-Disposition: form-data; name=\"normalize\""
                       b"\r\n\r\nfalse\r\n--B--\r\n",
}
for name, data in req.items():
    put("request", name, data)
print("wrote", root, file=sys.stderr)
