#!/usr/bin/python3
# The PyTorch side of bench/bench-sam.cpp: builds the official ViT-B SAM (sam_model_registry["vit_b"], random
# initialisation, fixed seed), saves its state_dict as <out>/sam_vit_b_random.pth for `groundlmm convert-sam`,
# and times the official image encoder per image (no_grad, as SamPredictor.set_torch_image runs it) with the
# given thread count. Writes <out>/torch.json, which bench-sam reads to print the ratio.
#
#   /usr/bin/python3 bench/sam_torch_bench.py /tmp/sam-official --out /tmp/sam-bench -t 2 -r 3
#
# The first argument is a checkout of facebookresearch/segment-anything (the folder holding
# segment_anything/), used from there and never copied. Debian's python3-torch links the system BLAS: select
# OpenBLAS with update-alternatives (libblas.so.3 / liblapack.so.3) for a fair comparison. On a machine shared
# with other jobs set OMP_WAIT_POLICY=passive for this script and for bench-sam alike (see bench-sam.cpp).
import argparse
import json
import os
import sys
import time

ap = argparse.ArgumentParser()
ap.add_argument("official", help="segment-anything checkout")
ap.add_argument("--out", default="/tmp/sam-bench", help="folder for the checkpoint and torch.json")
ap.add_argument("-t", "--threads", type=int, default=os.cpu_count())
ap.add_argument("-r", "--reps", type=int, default=3)
ap.add_argument("--model", default="vit_b", choices=["vit_b", "vit_l", "vit_h"])
ap.add_argument("--no-time", action="store_true", help="only write the checkpoint")
args = ap.parse_args()

# thread pools are sized at import: OpenMP (torch intra-op) and OpenBLAS
os.environ["OMP_NUM_THREADS"] = str(args.threads)
os.environ["OPENBLAS_NUM_THREADS"] = str(args.threads)
import torch  # noqa: E402

sys.path.insert(0, args.official)
from segment_anything import sam_model_registry  # noqa: E402

torch.set_num_threads(args.threads)
torch.manual_seed(0)
os.makedirs(args.out, exist_ok=True)
sam = sam_model_registry[args.model]()
sam.eval()
ckpt = os.path.join(args.out, "sam_%s_random.pth" % args.model)
torch.save(sam.state_dict(), ckpt)
print("wrote", ckpt)
if args.no_time:
    sys.exit(0)

size = sam.image_encoder.img_size
x = torch.randn(1, 3, size, size)
times = []
with torch.no_grad():
    for r in range(args.reps + 1):  # the first run is a warm-up
        t0 = time.perf_counter()
        y = sam.image_encoder(x)
        dt = time.perf_counter() - t0
        if r > 0:
            times.append(dt)
        print("run %d: %.3f s%s" % (r, dt, " (warm-up)" if r == 0 else ""))
times.sort()
blas = "BLAS_INFO=?"
for item in torch.__config__.show().replace("\n", ",").split(","):
    if "BLAS_INFO=" in item and "LAPACK" not in item:
        blas = item.strip().split(" ")[-1]
if os.path.exists("/usr/lib/x86_64-linux-gnu/libblas.so.3"):
    blas += " -> " + os.path.realpath("/usr/lib/x86_64-linux-gnu/libblas.so.3")
res = {"model": args.model, "threads": args.threads, "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY", ""), "torch": torch.__version__, "blas": blas,
       "median_s": times[len(times) // 2], "best_s": times[0], "runs_s": times, "checkpoint": ckpt,
       "output_shape": list(y.shape)}
with open(os.path.join(args.out, "torch.json"), "w") as f:
    json.dump(res, f, indent=2)
print(json.dumps(res))
