#!/usr/bin/env python3
"""Writes a golden folder in the format of tests/golden/coco from the official pycocotools, on random data
that exercises what the small shipped golden does not: polygons (multi-part), uncompressed RLE, crowd regions,
ground-truth areas that differ from mask areas, score ties, more than 100 detections in an image, detections
of categories absent from the ground truth, images without annotations.

usage: coco-golden.py <pycocotools PythonAPI dir (built: python3 setup.py build_ext --inplace)> <out dir> [seed]
then:  build/bin/test-golden-coco <out dir>

The GCG section follows GLaMM's eval/gcg/evaluate.py (compute_miou, find_best_matches) with NumPy.
Needs NumPy (Debian: python3-numpy, run with /usr/bin/python3).
"""
import json
import os
import sys

import numpy as np


def main():
    if len(sys.argv) < 3:
        print(__doc__)
        sys.exit(2)
    sys.path.insert(0, sys.argv[1])
    try:
        import matplotlib  # noqa: F401  (coco.py imports it for drawing only)
    except ImportError:
        import types
        for name in ("matplotlib", "matplotlib.pyplot", "matplotlib.collections", "matplotlib.patches"):
            stub = types.ModuleType(name)
            stub.PatchCollection = stub.Polygon = None
            sys.modules[name] = stub
    from pycocotools import mask as mu
    from pycocotools.coco import COCO
    from pycocotools.cocoeval import COCOeval

    out = sys.argv[2]
    rng = np.random.RandomState(int(sys.argv[3]) if len(sys.argv) > 3 else 0)
    os.makedirs(out, exist_ok=True)

    def enc(m):
        r = mu.encode(np.asfortranarray(m.astype(np.uint8)))
        r["counts"] = r["counts"].decode()
        return r

    def blob(h, w):
        m = np.zeros((h, w), np.uint8)
        x0, y0 = rng.randint(0, w), rng.randint(0, h)
        m[y0:y0 + rng.randint(1, h // 2 + 2), x0:x0 + rng.randint(1, w // 2 + 2)] = 1
        if rng.rand() < 0.5:  # ragged edge
            m &= (rng.rand(h, w) < 0.9).astype(np.uint8)
        return m

    def polygon(h, w):
        cx, cy, r = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(2, max(h, w) / 2)
        n = rng.randint(3, 9)
        ang = np.sort(rng.uniform(0, 2 * np.pi, n))
        rad = r * rng.uniform(0.5, 1.0, n)
        xy = np.stack([cx + rad * np.cos(ang), cy + rad * np.sin(ang)], 1)
        if rng.rand() < 0.3:
            xy = np.round(xy)  # integer vertices, often repeated after upsampling
        return [float(round(v, 2)) for v in xy.reshape(-1)]

    n_img, cats = 10, [1, 2, 3, 4, 5]
    images, anns, dts = [], [], []
    aid = 1
    for i in range(1, n_img + 1):
        h, w = int(rng.randint(20, 140)), int(rng.randint(20, 140))
        images.append({"id": i * 7, "width": w, "height": h, "file_name": "%06d.png" % i})
        if i == n_img:
            continue  # an image without annotations
        for _ in range(rng.randint(1, 7)):
            cat = int(rng.choice(cats[:4]))
            kind = rng.randint(0, 4)
            crowd = 0
            if kind == 0:
                segm = [polygon(h, w) for _ in range(rng.randint(1, 3))]
                m = mu.decode(mu.merge(mu.frPyObjects(segm, h, w)))
            elif kind == 1:
                m = blob(h, w)
                segm = enc(m)
            else:
                m = blob(h, w)
                r = mu.encode(np.asfortranarray(m))
                cnt, prev, runs = [], 0, []
                flat = m.flatten(order="F")
                runs = np.diff(np.concatenate([[0], np.flatnonzero(np.diff(flat)) + 1, [flat.size]]))
                cnt = ([0] if flat[0] else []) + [int(v) for v in runs]
                segm = {"size": [h, w], "counts": cnt}
                crowd = int(kind == 3)
            area = float(m.sum())
            if rng.rand() < 0.3:
                area = float(round(area * rng.uniform(0.8, 1.2), 1))  # file area differs from the mask's
            anns.append({"id": aid, "image_id": i * 7, "category_id": cat, "segmentation": segm, "area": area,
                         "iscrowd": crowd, "bbox": [0, 0, 1, 1]})
            aid += 1
            for _ in range(rng.randint(0, 3)):  # detections near this object
                d = np.roll(m, (rng.randint(-2, 3), rng.randint(-2, 3)), (0, 1)) if rng.rand() < 0.8 else blob(h, w)
                dts.append({"image_id": i * 7, "category_id": cat if rng.rand() < 0.85 else int(rng.choice(cats)),
                            "segmentation": enc(d), "score": float(rng.choice([0.5, 0.9, round(rng.rand(), 3)]))})
        for _ in range(rng.randint(0, 3)):  # false positives
            dts.append({"image_id": i * 7, "category_id": int(rng.choice(cats)), "segmentation": enc(blob(h, w)),
                        "score": float(round(rng.rand(), 2))})
    # more than 100 detections in one image
    h, w = images[0]["height"], images[0]["width"]
    for _ in range(110):
        dts.append({"image_id": images[0]["id"], "category_id": 1, "segmentation": enc(blob(h, w)),
                    "score": float(round(rng.rand(), 1))})
    gt = {"images": images, "annotations": anns, "categories": [{"id": c, "name": "c%d" % c} for c in cats]}
    with open(os.path.join(out, "gt.json"), "w") as f:
        json.dump(gt, f)
    with open(os.path.join(out, "dt.json"), "w") as f:
        json.dump(dts, f)

    coco = COCO(os.path.join(out, "gt.json"))
    cdt = coco.loadRes(os.path.join(out, "dt.json"))
    ev = COCOeval(coco, cdt, "segm")
    ev.evaluate()
    ev.accumulate()
    ev.summarize()
    names = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"]
    exp = {"segm_stats": {n: float(v) for n, v in zip(names, ev.stats)}}

    rles = []
    for k in range(8):
        hh, ww = int(rng.randint(1, 40)), int(rng.randint(1, 40))
        m = (rng.rand(hh, ww) < [0.0, 1.0, 0.5, 0.1, 0.9, 0.3, 0.7, 0.02][k]).astype(np.uint8)
        r = enc(m)
        rles.append({"height": hh, "width": ww, "row_major_bits": "".join(map(str, m.reshape(-1))),
                     "counts": r["counts"], "area": int(mu.area(r)), "bbox": [float(v) for v in mu.toBbox(r)]})
    exp["rle"] = rles

    img = images[1]
    g = [coco.annToRLE(a) for a in coco.imgToAnns[img["id"]]]
    g = [{"size": r["size"], "counts": r["counts"].decode() if isinstance(r["counts"], bytes) else r["counts"]} for r in g]
    d = [x["segmentation"] for x in dts if x["image_id"] == img["id"]] or [enc(blob(img["height"], img["width"]))]
    exp["iou_pairs"] = {"image_id": img["id"], "dt": d, "gt": g,
                        "iou_no_crowd": mu.iou(d, g, [0] * len(g)).tolist(),
                        "iou_crowd": mu.iou(d, g, [1] * len(g)).tolist()}

    pts, ok = [], 0
    for _ in range(60):
        im = images[rng.randint(0, n_img)]
        cat = int(rng.choice(cats))
        x, y = int(rng.randint(0, im["width"])), int(rng.randint(0, im["height"]))
        hit = any(coco.annToMask(a)[y, x] for a in coco.imgToAnns[im["id"]] if a["category_id"] == cat)
        ok += hit
        pts.append({"image_id": im["id"], "category_id": cat, "point": [x, y], "correct": bool(hit)})
    exp["pacc"] = {"points": pts, "pacc": 100.0 * ok / len(pts)}

    def compute_iou(m1, m2):
        with np.errstate(invalid="ignore"):
            return np.sum(np.logical_and(m1, m2)) / np.sum(np.logical_or(m1, m2))

    gimgs, mious, tp, npos = [], [], 0, 0
    for im in images[:8]:
        hh, ww = im["height"], im["width"]
        gm = [blob(hh, ww) for _ in range(rng.randint(1, 5))]
        pm = [np.roll(m, (rng.randint(-3, 4), rng.randint(-3, 4)), (0, 1)) for m in gm[:rng.randint(0, len(gm) + 1)]]
        pm += [blob(hh, ww) for _ in range(rng.randint(0, 3))]
        sim = np.round(rng.rand(len(gm), len(pm)), 3)
        iou = np.array([[compute_iou(p, q) for q in gm] for p in pm]).reshape(len(pm), len(gm))
        paired = []
        while iou.size > 0 and np.max(iou) > 0:
            idx = np.unravel_index(np.argmax(iou, axis=None), iou.shape)
            paired.append(iou[idx])
            iou = np.delete(np.delete(iou, idx[0], axis=0), idx[1], axis=1)
        miou = float(np.mean(paired)) if paired else 0.0
        ious = np.array([[compute_iou(p, q) for q in pm] for p in gm]).reshape(len(gm), len(pm))
        ts, n = sim.copy(), 0
        while ious.size > 0:
            idx = np.unravel_index(np.argmax(ious), ious.shape)
            if ious[idx] < 0.5 or ts[idx] < 0.5:
                break
            n += 1
            ious[idx[0], :] = 0
            ious[:, idx[1]] = 0
            ts[idx[0], :] = 0
            ts[:, idx[1]] = 0
        mious.append(miou)
        tp += n
        npos += len(gm)
        gimgs.append({"image_id": im["id"], "gt_masks": [enc(m) for m in gm], "pred_masks": [enc(m) for m in pm],
                      "text_similarity": sim.tolist(), "miou": miou, "matches": n})
    exp["gcg"] = {"images": gimgs, "miou": float(np.mean(mious)), "recall": tp / npos,
                  "rules": "as tests/golden/coco (GLaMM evaluate.py)"}
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(exp, f, indent=1)
    print("wrote", out)


if __name__ == "__main__":
    main()
