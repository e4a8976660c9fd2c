# Writes the fixtures of tests/test-torch-checkpoint.cpp with PyTorch (Debian python3-torch):
#   /usr/bin/python3 tests/data/torch-checkpoint/make.py tests/data/torch-checkpoint
# Values are closed-form (arange based) so that the C++ test computes what to expect.
import argparse
import collections
import os
import sys

import torch

out = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))


def payload():
    a = torch.arange(12, dtype=torch.float32).reshape(3, 4) * 0.5     # contiguous f32
    big = torch.arange(20, dtype=torch.float32) - 7.0
    sd = collections.OrderedDict()
    sd["enc.weight"] = a
    sd["enc.weight_t"] = a.t()                                        # strided view of the same storage
    sd["enc.slice"] = big[5:11].view(2, 3)                             # storage offset 5
    sd["enc.half"] = (torch.arange(6, dtype=torch.float32) * 0.25).to(torch.float16).reshape(2, 3)
    sd["enc.bf16"] = (torch.arange(4, dtype=torch.float32) + 1.5).to(torch.bfloat16)
    sd["enc.steps"] = torch.arange(5, dtype=torch.int64) * -3         # i64
    sd["enc.scalar"] = torch.tensor(2.5)                               # 0-d
    sd["enc.param"] = torch.nn.Parameter(torch.ones(2, 2) * 3.0)       # _rebuild_parameter
    return {
        "model": sd,
        "epoch": 3,
        "lr": 0.5,
        "name": "fixture",
        "args": argparse.Namespace(depth=4, tag="x"),
        "extra": [torch.zeros(2), (torch.ones(1, dtype=torch.float64), 7)],
    }


torch.save(payload(), os.path.join(out, "nested.pt"))
torch.save(payload(), os.path.join(out, "nested-proto4.pt"), pickle_protocol=4)
torch.save(payload()["model"], os.path.join(out, "legacy.pt"), _use_new_zipfile_serialization=False)
print("wrote fixtures to", out)

# A hostile pickle: a list nested 200000 deep (deflated, so the fixture stays small). It must load (no tensors)
# without overflowing the stack.
import zipfile  # noqa: E402

with zipfile.ZipFile(os.path.join(out, "deep.pt"), "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("deep/data.pkl", b"\x80\x02" + b"]" * 200000 + b"a" * 199999 + b".")
