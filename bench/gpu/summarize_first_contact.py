#!/usr/bin/env python3
"""Summarizes bench_gpu_kernels' Google Benchmark JSON and bench_gpu_model's table for
bench/gpu/first_contact.sh, in few lines: per model and kernel family the geometric mean of our
time over the provider's (cuDNN, or cuBLAS for linear; > 1 means we are slower), the worst layers
by that ratio, failed cases, and ResNet-50 images/s. A missing or partial result is printed as
such, never skipped silently. Standard library only (the GPU machine's python3 will do).

Usage: summarize_first_contact.py --json FILE --model-log FILE [--kernels-log FILE] [--worst N]
"""
import argparse
import json
import math
import os
import re
import sys


def load_cases(path):
    """The benchmark runs in the JSON, or None with a reason when there are none."""
    if not os.path.exists(path):
        return None, "missing (bench_gpu_kernels wrote no JSON)"
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, ValueError) as e:
        return None, f"unreadable ({e.__class__.__name__}: {e})"
    cases = [b for b in data.get("benchmarks", []) if b.get("run_type", "iteration") == "iteration"]
    if not cases:
        return None, "no cases in the JSON"
    return cases, ""


def split_name(name):
    """'conv2d_f16_nhwc/resnet50/layer1.0.conv1/n32/iterations:20/manual_time' ->
    ('conv2d_f16_nhwc', 'resnet50', 'layer1.0.conv1'); linear names have no model part of their
    own beyond the label ('linear_f16/resnet50/fc/n32')."""
    parts = [p for p in name.split("/") if not re.match(r"^(n\d+|iterations:\d+|manual_time|real_time)$", p)]
    family = parts[0] if parts else name
    model = parts[1] if len(parts) > 1 else "?"
    layer = "/".join(parts[2:]) if len(parts) > 2 else ""
    return family, model, layer


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json", required=True)
    ap.add_argument("--model-log", required=True)
    ap.add_argument("--kernels-log", default="")
    ap.add_argument("--worst", type=int, default=10)
    args = ap.parse_args()

    cases, why = load_cases(args.json)
    if cases is None:
        print(f"kernels vs cuDNN/cuBLAS: {why}")
        if args.kernels_log and os.path.exists(args.kernels_log):
            with open(args.kernels_log, errors="replace") as f:
                first = [l.strip() for l in f if l.strip()][:2]
            for line in first:
                print(f"  bench_gpu_kernels said: {line[:150]}")
    else:
        groups = {}  # (family, model) -> [log ratios]
        rows = []  # (ours/theirs, family, model, layer, ours_us, theirs_us)
        failed = []
        untimed = 0
        for c in cases:
            family, model, layer = split_name(c["name"])
            if c.get("error_occurred"):
                failed.append((family, model, layer, c.get("error_message", "")))
                continue
            speed = c.get("vs_cudnn", c.get("vs_cublas"))  # provider time / our time
            if not speed or speed <= 0:
                untimed += 1  # e.g. no cuDNN INT8 configuration for the shape
                continue
            provider = "cublas" if "vs_cublas" in c else "cudnn"
            ratio = 1.0 / speed
            groups.setdefault((family, model, provider), []).append(math.log(ratio))
            ours_us = c.get("real_time", 0.0) * {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}.get(c.get("time_unit", "us"), 1.0)
            rows.append((ratio, family, model, layer, ours_us, ours_us * ratio if ratio else 0))
        print(f"kernels: {len(cases)} cases, {len(rows)} timed against a provider, "
              f"{len(failed)} failed, {untimed} without a provider time")
        print("our time / provider time, geometric mean (> 1: we are slower):")
        for (family, model, provider), logs in sorted(groups.items()):
            print(f"  {family:<18} {model:<16} vs {provider:<6} {math.exp(sum(logs) / len(logs)):7.3f}"
                  f"  over {len(logs)} shapes")
        worst = sorted(rows, reverse=True)[: args.worst]
        if worst:
            print(f"{len(worst)} worst layers (our time / provider time):")
            for ratio, family, model, layer, ours_us, theirs_us in worst:
                label = f"{family}/{model}/{layer}"[:62]
                print(f"  {ratio:6.2f}  {label:<62} ours {ours_us:8.1f} us, theirs {theirs_us:8.1f} us")
        for family, model, layer, message in failed[:5]:
            print(f"  FAILED {family}/{model}/{layer}: {message[:120]}")
        if len(failed) > 5:
            print(f"  ... and {len(failed) - 5} more failed cases (bench_gpu_kernels.log)")

    # bench_gpu_model: "resnet50 fp16 nhwc   32   20   12.345   2592" lines.
    if not os.path.exists(args.model_log):
        print("resnet50 throughput: missing (no bench_gpu_model.log)")
        return 0
    with open(args.model_log, errors="replace") as f:
        lines = f.read().splitlines()
    check = [l for l in lines if "vs CPU" in l or l.startswith("FAILED") or "no CUDA device" in l]
    table = [l.split() for l in lines if l.startswith("resnet50 fp16 nhwc")]
    for l in check[:2]:
        print(f"resnet50: {l.strip()[:150]}")
    if not table:
        print("resnet50 throughput: missing (bench_gpu_model timed nothing)")
    else:
        print("resnet50 fp16 throughput: " + ", ".join(
            f"batch {t[3]}: {t[-1]} images/s ({t[-2]} ms)" for t in table))
    return 0


if __name__ == "__main__":
    sys.exit(main())
