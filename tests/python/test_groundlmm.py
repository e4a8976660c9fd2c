"""The Python module (python/groundlmm) on the toy model, with Debian's python3 and numpy.

Run by CTest (tests/CMakeLists.txt: python-module) with PYTHONPATH=python, GROUNDLMM_LIB = the build's
libgroundlmm.so, GLM_BIN = the groundlmm command line, GLM_TOY_DIR = models/toy, GLM_WORK = a scratch folder.
The RLE and PNG decoders below are written here from the formats' specifications (COCO's maskApi rleFrString, PNG
filters), independently of the module and of the engine, so that they check both.
"""
import json
import os
import shutil
import struct
import subprocess
import unittest
import zlib

import numpy as np

import groundlmm

BIN = os.environ["GLM_BIN"]
TOY = os.environ["GLM_TOY_DIR"]
WORK = os.environ["GLM_WORK"]
SCENE = os.path.join(TOY, "scene.png")
LLM = os.path.join(TOY, "toy-llm.gguf")
VIT = os.path.join(TOY, "toy-vit.gguf")


def rle_decode(rle):
    """COCO compressed RLE {'size': [h, w], 'counts': str} -> bool [h, w] (pycocotools' rleFrString + rleDecode)."""
    h, w = rle["size"]
    s = rle["counts"].encode() if isinstance(rle["counts"], str) else rle["counts"]
    counts, p = [], 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            c = s[p] - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    if sum(counts) != h * w:
        raise ValueError("RLE counts sum to %d, size %dx%d" % (sum(counts), h, w))
    flat = np.zeros(h * w, dtype=bool)
    pos, val = 0, False
    for n in counts:
        flat[pos:pos + n] = val
        pos += n
        val = not val
    return flat.reshape(w, h).T  # column-major


def png_decode_rgb(path):
    """An 8-bit RGB, non-interlaced PNG -> uint8 [h, w, 3] (the five filter types)."""
    with open(path, "rb") as f:
        data = f.read()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", path
    pos, idat, w, h = 8, b"", None, None
    while pos < len(data):
        n, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert (depth, ctype, interlace) == (8, 2, 0), "only 8-bit RGB non-interlaced PNGs here"
        elif kind == b"IDAT":
            idat += body
        pos += 12 + n
    raw = zlib.decompress(idat)
    stride, bpp = w * 3, 3
    out = np.zeros((h, stride), dtype=np.int32)
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = np.frombuffer(raw, dtype=np.uint8, count=stride, offset=y * (stride + 1) + 1).astype(np.int32)
        prev = out[y - 1] if y > 0 else np.zeros(stride, dtype=np.int32)
        cur = np.zeros(stride, dtype=np.int32)
        for i in range(stride):
            a = cur[i - bpp] if i >= bpp else 0
            b = prev[i]
            c = prev[i - bpp] if i >= bpp else 0
            if f == 0:
                pred = 0
            elif f == 1:
                pred = a
            elif f == 2:
                pred = b
            elif f == 3:
                pred = (a + b) // 2
            elif f == 4:
                pa, pb, pc = abs(b - c), abs(a - c), abs(a + b - 2 * c)
                pred = a if pa <= pb and pa <= pc else b if pb <= pc else c
            else:
                raise ValueError("PNG filter %d" % f)
            cur[i] = (int(line[i]) + pred) & 0xFF
        out[y] = cur
    return out.astype(np.uint8).reshape(h, w, 3)


class ToyModel(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.model = groundlmm.Model(LLM, VIT, refiner="region", n_ctx=512, n_threads=2)
        cls.settings = {"min_score": 0.5, "n_predict": 64}
        cls.r = cls.model.ground(SCENE, **cls.settings)
        # the same run through the command line
        out = os.path.join(WORK, "cli")
        shutil.rmtree(out, ignore_errors=True)
        subprocess.run([BIN, "ground", "-m", LLM, "--mmproj", VIT, "--image", SCENE, "--refiner", "region",
                        "--min-score", "0.5", "-n", "64", "-c", "512", "-t", "2", "-o", out],
                       check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(out, "result.json"), encoding="utf-8") as f:
            cls.cli = json.load(f)

    def test_answer_and_phrases_equal_the_cli(self):
        self.assertTrue(self.r.answer)
        self.assertEqual(self.r.answer, self.cli["answer"])
        self.assertEqual(len(self.r.phrases), len(self.cli["phrases"]))
        self.assertGreater(len(self.r.phrases), 0)
        for p, c in zip(self.r.phrases, self.cli["phrases"]):
            self.assertEqual(p.text, c["text"])
            self.assertEqual(list(p.span), c["span"])
            self.assertEqual(p.status, c["status"])
            self.assertEqual(p.point, tuple(c["point"]) if c["point"] is not None else None)
            self.assertEqual(p.rle, c["mask"])
            self.assertEqual(p.score, c["score"])
        self.assertEqual((self.r.width, self.r.height), (self.cli["image"]["width"], self.cli["image"]["height"]))
        # the result.json the module returns is the CLI's, settings included
        self.assertEqual(self.r.json["settings"], self.cli["settings"])

    def test_masks_decode_as_their_rle(self):
        n_masks = 0
        for p in self.r.phrases:
            if p.rle is None:
                self.assertIsNone(p.mask)
                continue
            n_masks += 1
            self.assertEqual(p.rle["size"], [self.r.height, self.r.width])
            self.assertIsInstance(p.rle["counts"], str)
            self.assertEqual(p.mask.dtype, np.bool_)
            self.assertEqual(p.mask.shape, (self.r.height, self.r.width))
            self.assertTrue(p.mask.any() and not p.mask.all(), p.text)
            np.testing.assert_array_equal(p.mask, rle_decode(p.rle))
        self.assertGreater(n_masks, 0)
        try:  # pycocotools is not a Debian package; where a user has it, it must read the same masks
            from pycocotools import mask as mask_util
        except ImportError:
            return
        for p in self.r.phrases:
            if p.rle is not None:
                np.testing.assert_array_equal(mask_util.decode(p.rle).astype(bool), p.mask)

    def test_points_inside_the_image_and_their_mask(self):
        for p in self.r.phrases:
            if p.status == "no-tokens":
                self.assertIsNone(p.point)
                continue
            x, y = p.point
            self.assertTrue(0 <= x < self.r.width and 0 <= y < self.r.height, (p.text, p.point))
            if p.mask is not None:  # region growing starts from the point
                self.assertTrue(p.mask[y, x], (p.text, p.point))

    def test_phrase_maps_on_the_grid(self):
        g = self.r.json["grid"]
        for p in self.r.phrases:
            if not p.tokens:
                self.assertIsNone(p.map)
                continue
            self.assertEqual(p.map.shape, (g["h"], g["w"]))
            self.assertEqual(p.map.dtype, np.float32)
            self.assertTrue(np.isfinite(p.map).all())

    def test_numpy_image_and_bytes_give_the_same_result(self):
        rgb = png_decode_rgb(SCENE)
        self.assertEqual(rgb.shape, (self.r.height, self.r.width, 3))
        with open(SCENE, "rb") as f:
            encoded = f.read()
        for image in (rgb, encoded):
            r = self.model.ground(image, **self.settings)
            self.assertEqual(r.answer, self.r.answer)
            self.assertEqual([p.rle for p in r.phrases], [p.rle for p in self.r.phrases])
            self.assertEqual([p.point for p in r.phrases], [p.point for p in self.r.phrases])

    def test_attend_maps_follow_the_layout(self):
        a = self.model.attend(SCENE, n_predict=64)
        self.assertEqual(a.answer, self.r.answer)
        self.assertEqual(a.maps.shape, (len(a.tokens), a.n_image_tokens))
        self.assertEqual(a.maps_official.shape, a.maps.shape)
        self.assertTrue(len(a.grids) >= 1 and 0 <= a.primary < len(a.grids))
        g = a.grids[a.primary]
        self.assertEqual((g.rows, g.cols), (self.r.json["grid"]["h"], self.r.json["grid"]["w"]))
        self.assertEqual(g.cells.shape, (g.rows, g.cols))
        self.assertTrue((g.cells >= 0).all() and (g.cells < a.n_image_tokens).all())
        gm = a.grid_maps()
        self.assertEqual(gm.shape, (len(a.tokens), g.rows, g.cols))
        np.testing.assert_array_equal(gm[:, 0, 0], a.maps[:, g.cells[0, 0]])
        # softmax probabilities over a part of the keys: in [0, 1], each row's image part sums to at most 1
        self.assertTrue((a.maps >= 0).all() and (a.maps.sum(axis=1) <= 1 + 1e-5).all())
        answer = a.answer.encode("utf-8")
        for t in a.tokens:  # byte spans into the answer
            self.assertTrue(0 <= t.begin <= t.end <= len(answer), t)
        # stage 2 on this stage 1 is the whole run's stage 2
        r2 = self.model.ground(SCENE, attend=a, min_score=0.5)
        self.assertEqual([p.rle for p in r2.phrases], [p.rle for p in self.r.phrases])
        # saved and loaded: the same maps
        folder = os.path.join(WORK, "attend")
        shutil.rmtree(folder, ignore_errors=True)
        a.save(folder)
        b = groundlmm.load_attend(folder)
        self.assertEqual(b.answer, a.answer)
        np.testing.assert_array_equal(b.maps, a.maps)

    def test_streamed_tokens_make_the_answer(self):
        pieces = []
        r = self.model.ground(SCENE, on_token=lambda piece, i: pieces.append((i, piece)), **self.settings)
        self.assertEqual([i for i, _ in pieces], list(range(len(pieces))))
        self.assertGreater(len(pieces), 5)
        self.assertEqual("".join(p for _, p in pieces).strip(), r.answer)
        with self.assertRaisesRegex(groundlmm.GroundlmmError, "aborted"):
            self.model.ground(SCENE, on_token=lambda piece, i: i < 2, **self.settings)

        def boom(piece, i):
            raise KeyError("from the callback")
        with self.assertRaisesRegex(KeyError, "from the callback"):
            self.model.ground(SCENE, on_token=boom, **self.settings)
        # the model is still usable after an abort
        self.assertEqual(self.model.ground(SCENE, **self.settings).answer, self.r.answer)

    def test_settings_by_name(self):
        table = groundlmm.settings()
        names = [s["name"] for s in table]
        for n in ("prompt", "n_predict", "attn_heads", "min_score", "more_masks"):
            self.assertIn(n, names)
        r = self.model.ground(SCENE, min_score=0.5, n_predict=4)
        self.assertEqual(r.json["settings"]["n_predict"], 4)
        self.assertLess(len(r.answer), len(self.r.answer))

    def test_log_lines_reach_a_callback(self):
        lines = []
        groundlmm.set_log("info", lambda level, text: lines.append((level, text)))
        try:
            groundlmm.Model(LLM, VIT, refiner="region", n_ctx=512, n_threads=2).close()
        finally:
            groundlmm.set_log()
        self.assertTrue(lines)
        self.assertTrue(all(level in ("info", "warn", "error") for level, _ in lines), lines[:3])
        with self.assertRaisesRegex(ValueError, "level"):
            groundlmm.set_log("loud")

    def test_errors_carry_the_engines_message(self):
        with self.assertRaisesRegex(groundlmm.GroundlmmError, "no_such_setting"):
            self.model.ground(SCENE, no_such_setting=1)
        with self.assertRaisesRegex(groundlmm.GroundlmmError, "min_score"):
            self.model.ground(SCENE, min_score="high")
        with self.assertRaisesRegex(groundlmm.GroundlmmError, "n_predict"):
            self.model.ground(SCENE, n_predict=-3)
        missing = os.path.join(WORK, "no-such-image.png")
        with self.assertRaisesRegex(groundlmm.GroundlmmError, "no-such-image.png"):
            self.model.ground(missing)
        with self.assertRaisesRegex(groundlmm.GroundlmmError, "image"):
            self.model.ground(b"not an image at all")
        with self.assertRaisesRegex(ValueError, r"H x W x 3 uint8"):
            self.model.ground(np.zeros((4, 4), dtype=np.uint8))
        with self.assertRaisesRegex(ValueError, r"H x W x 3 uint8"):
            self.model.ground(np.zeros((4, 4, 3), dtype=np.float32))
        with self.assertRaisesRegex(groundlmm.GroundlmmError, "no-such-model.gguf"):
            groundlmm.Model(os.path.join(WORK, "no-such-model.gguf"), VIT)
        with self.assertRaisesRegex(ValueError, "refiner"):
            groundlmm.Model(LLM, VIT, refiner="magic")
        with self.assertRaisesRegex(groundlmm.GroundlmmError, "no-such-folder"):
            groundlmm.load_attend(os.path.join(WORK, "no-such-folder"))

    def test_toy_default_and_outputs(self):
        with groundlmm.Model.toy(n_threads=2) as m:
            r = m.ground(groundlmm.toy_scene())
        self.assertEqual(r.answer, self.r.answer)
        png = r.overlay_png()
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        self.assertIn("head: %s; point (%d, %d)" % ((self.r.phrases[0].head,) + self.r.phrases[0].point), r.html())
        folder = os.path.join(WORK, "saved")
        r.save(folder)
        with open(os.path.join(folder, "result.json"), encoding="utf-8") as f:
            self.assertEqual(json.load(f)["answer"], r.answer)
        with self.assertRaisesRegex(groundlmm.GroundlmmError, "closed"):
            m.ground(SCENE)


if __name__ == "__main__":
    os.makedirs(WORK, exist_ok=True)
    unittest.main(verbosity=2)
