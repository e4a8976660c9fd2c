# Writes the Pillow reference outputs used by tests/test-image.cpp (run with Debian's /usr/bin/python3,
# python3-pil 9.4). Deterministic: the source is seeded.
import json

import numpy as np
from PIL import Image

rng = np.random.default_rng(0)
src = (rng.random((23, 37, 3)) * 255).astype(np.uint8)
yy, xx = np.mgrid[0:23, 0:37]
src[..., 1] = (128 + 100 * np.sin(xx / 5.0) * np.cos(yy / 4.0)).astype(np.uint8)
Image.fromarray(src).save("src.png")
cases = []
for f, name in [(Image.BILINEAR, "bilinear"), (Image.BICUBIC, "bicubic")]:
    for (w, h) in [(74, 46), (16, 10), (37, 50), (5, 3), (100, 23), (37, 23)]:
        out = Image.fromarray(src).resize((w, h), f)
        fn = f"{name}_{w}x{h}.png"
        out.save(fn)
        cases.append({"file": fn, "filter": name, "w": w, "h": h})
json.dump({"source": "src.png", "cases": cases}, open("cases.json", "w"), indent=1)
