"""Generates tensorgraph's golden TF1 conformance cases.

    ~/tfvenv/bin/python tools/tfgolden/generate.py --out tests/golden

writes one JSON file per group (format: ../shared/conformance/FORMAT.md plus
the conventions in tests/golden/README.md) and tests/golden/README.md.
"""

import sys
sys.dont_write_bytecode = True

import argparse
import glob
import json
import os
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import numpy as np  # noqa: E402

import common  # noqa: E402  (sets the TF environment before TF is imported)
import control_flow  # noqa: E402
import dynamic_shape  # noqa: E402
import layers  # noqa: E402
import losses  # noqa: E402
import ops_index  # noqa: E402
import ops_math  # noqa: E402
import ops_nn  # noqa: E402
import rnn  # noqa: E402
import scopes  # noqa: E402

# group -> (builder, numpy seed).  Order = order in the README.
GROUPS = [
    ("elementwise", ops_math.elementwise, 101),
    ("reductions", ops_math.reductions, 102),
    ("nn_ops", ops_nn.nn_ops, 103),
    ("convolution", ops_nn.convolution, 104),
    ("indexing", ops_index.indexing, 105),
    ("dynamic_shape", dynamic_shape.dynamic_shape, 106),
    ("losses", losses.losses, 107),
    ("layers", layers.layers, 108),
    ("scopes", scopes.scopes, 109),
    ("control_flow", control_flow.control_flow, 110),
    ("rnn", rnn.rnn, 111),
]

DESCRIPTIONS = {
    "elementwise": "log1p, expm1, floor, ceil, round (half to even), floordiv/floormod (float, int32), "
                   "sign, squared_difference, softsign",
    "reductions": "reduce_logsumexp, reduce_any/all, count_nonzero, norm (euclidean, 1, inf, p, fro, "
                  "matrix 1/inf/2), cumsum (exclusive, reverse)",
    "nn_ops": "l2_normalize, top_k, in_top_k, moments(keepdims=True), local_response_normalization",
    "convolution": "conv2d with dilations, depthwise_conv2d (multiplier 1/2, strides, rate), conv2d_transpose",
    "indexing": "one_hot (axis -1/0/1, on/off values), pad REFLECT/SYMMETRIC/CONSTANT, boolean_mask, "
                "where(condition), gather_nd, scatter_nd",
    "dynamic_shape": "shape/size/rank of partially known placeholders, range, stack of scalars, unstack, "
                     "sequence_mask, zeros/ones/fill from shape tensors, reshape/tile/slice with run-time "
                     "shapes, Python slicing as strided_slice with masks",
    "losses": "tf.losses.* with weights and every reduction, label smoothing; regularization/total loss",
    "layers": "tf.layers dense, conv2d, conv2d_transpose, pooling, flatten, dropout, batch_normalization",
    "scopes": "variable_scope / name_scope / get_variable naming, reuse, collections, reuse errors",
    "control_flow": "cond, nested cond, while_loop (trip count, maximum_iterations), TensorArray, "
                    "second order through while_loop",
    "rnn": "BasicRNN/BasicLSTM/LSTM(peepholes, clip, proj)/GRU/MultiRNN cells with static_rnn, "
           "dynamic_rnn (batch/time major, sequence_length, initial_state), bidirectional",
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="tests/golden")
    ap.add_argument("--only", default=None, help="comma-separated groups to (re)generate")
    ap.add_argument("--shared", default=None,
                    help="public conformance dir to check name collisions against "
                         "(default: ../shared/conformance relative to the repo, if present)")
    args = ap.parse_args()
    out = args.out
    os.makedirs(out, exist_ok=True)
    only = set(args.only.split(",")) if args.only else None
    t0 = time.time()
    for group, build, seed in GROUPS:
        if only and group not in only:
            continue
        t = time.time()
        rng = np.random.RandomState(seed)
        cases = []

        def add(fn, *a, **k):
            c = common.safe(fn, *a, **k)
            if c is not None:
                cases.append(c)

        build(add, rng)
        common.write_group(os.path.join(out, group + ".json"), group, cases)
        print("%-14s %4d cases  %7.1fs" % (group, len(cases), time.time() - t), flush=True)

    check_names(out, args.shared)
    write_readme(out)
    print("fd checked: %(fd_checked)d, fd skipped (kinks/None gradients): %(fd_skipped)d" % common.STATS)
    print("total %.1fs" % (time.time() - t0))
    for w in common.WARNINGS:
        print("warning:", w)
    if common.PROBLEMS:
        print("%d PROBLEMS:" % len(common.PROBLEMS))
        for p in common.PROBLEMS:
            print("  ", p)
        sys.exit(1)


def load_names(path):
    with open(path) as f:
        doc = json.load(f)
    return [c["name"] for c in doc["cases"]]


def check_names(out, shared):
    if shared is None:
        here = os.path.dirname(os.path.abspath(__file__))
        shared = os.path.normpath(os.path.join(here, "..", "..", "..", "shared", "conformance"))
    seen = {}
    files = sorted(glob.glob(os.path.join(out, "*.json")))
    if os.path.isdir(shared):
        files += sorted(glob.glob(os.path.join(shared, "*.json")))
    else:
        print("note: no public conformance dir at %s; collisions checked within %s only" % (shared, out))
    for path in files:
        for n in load_names(path):
            if n in seen:
                common.problem("duplicate case name %r in %s and %s" % (n, seen[n], path))
            seen[n] = path


def write_readme(out):
    rows = []
    total_c = total_b = 0
    fd = skipped = fd32 = 0
    for group, _, _ in GROUPS:
        path = os.path.join(out, group + ".json")
        if not os.path.exists(path):
            continue
        with open(path) as f:
            doc = json.load(f)
        n = len(doc["cases"])
        b = os.path.getsize(path)
        kinds = sorted({c["kind"] for c in doc["cases"]})
        fd += sum(1 for c in doc["cases"] if c.get("fd_checked") is True)
        fd32 += sum(1 for c in doc["cases"] if c.get("fd_checked") is True and
                    "checked in float32" in (c.get("notes") or ""))
        skipped += sum(1 for c in doc["cases"] if c.get("fd_checked") is False)
        rows.append("| %s.json | %s | %d | %d | %s |" % (group, "/".join(kinds), n, b, DESCRIPTIONS[group]))
        total_c += n
        total_b += b
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "README_golden.md")) as f:
        template = f.read()
    table = "\n".join(["| group | kinds | cases | bytes | contents |", "|---|---|---|---|---|"] + rows +
                      ["| total | | %d | %d | |" % (total_c, total_b)])
    text = template.replace("{{TABLE}}", table).replace("{{TF_VERSION}}", common.TF_VERSION)
    text = text.replace("{{FD}}", str(fd)).replace("{{FD_SKIPPED}}", str(skipped))
    text = text.replace("{{FD64}}", str(fd - fd32)).replace("{{FD32}}", str(fd32))
    with open(os.path.join(out, "README.md"), "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
