#!/usr/bin/python3
"""Generates randomized op cases with PyTorch as the oracle, for test_ops_vs_torch.

    gen_cases.py --out DIR [--seed S]

Every case is DIR/<name>.json plus DIR/<name>.<input>.npy files and DIR/<name>.expected.npy.
Inputs are float64 and torch computes in float64, so the expected outputs are exact to about
1e-15 relative. The JSON holds the op, its attributes (fovea's names) and the file names:
    {"op": "conv2d", "attrs": {...}, "inputs": ["007_conv2d.x.npy", ...],
     "expected": "007_conv2d.expected.npy"}
Ops: conv2d, max_pool2d, avg_pool2d, adaptive_avg_pool2d, batchnorm, linear, softmax,
log_softmax, activation, add, mul, concat.
"""

import argparse
import json
import os
import random

import numpy as np
import torch
import torch.nn.functional as F

# Under their torch.nn class names, which fovea's activation_from_name reads.
ACTIVATIONS = {
    "ReLU": F.relu,
    "ReLU6": F.relu6,
    "SiLU": F.silu,
    "Sigmoid": torch.sigmoid,
    "Tanh": torch.tanh,
    "Hardswish": F.hardswish,
    "Hardsigmoid": F.hardsigmoid,
}


class CaseWriter:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.count = 0
        self.counts = {}

    def add(self, op, attrs, inputs, expected):
        """inputs: list of (role, float64 tensor); expected: float64 tensor."""
        name = f"{self.count:03d}_{op}"
        files = []
        for role, tensor in inputs:
            files.append(f"{name}.{role}.npy")
            np.save(os.path.join(self.out_dir, files[-1]), tensor.numpy())
        np.save(os.path.join(self.out_dir, f"{name}.expected.npy"), expected.numpy())
        spec = {"op": op, "attrs": attrs, "inputs": files, "expected": f"{name}.expected.npy"}
        with open(os.path.join(self.out_dir, f"{name}.json"), "w") as f:
            json.dump(spec, f, indent=1)
        self.count += 1
        self.counts[op] = self.counts.get(op, 0) + 1


def uniform(rng, shape, lo=-1.0, hi=1.0):
    return torch.from_numpy(rng.uniform(lo, hi, size=shape))


def conv2d_cases(w, r, rng):
    for _ in range(44):
        groups = r.choice([1, 1, 1, 2, 3, "depthwise"])
        if groups == "depthwise":
            groups = r.randint(1, 8)
            c_per_group, k_per_group = 1, r.choice([1, 1, 2])
        else:
            c_per_group, k_per_group = r.randint(1, 5), r.randint(1, 5)
        c, k = groups * c_per_group, groups * k_per_group
        kh, kw = r.randint(1, 5), r.randint(1, 5)
        sh, sw = r.randint(1, 3), r.randint(1, 3)
        dh, dw = r.choice([1, 1, 2, 3]), r.choice([1, 1, 2, 3])
        if r.random() < 0.4:
            pads = [r.randint(0, 3) for _ in range(4)]  # top, left, bottom, right
        else:
            ph, pw = r.randint(0, 2), r.randint(0, 2)
            pads = [ph, pw, ph, pw]
        # Input at least as large as the dilated kernel minus the padding.
        min_h = max(1, dh * (kh - 1) + 1 - pads[0] - pads[2])
        min_w = max(1, dw * (kw - 1) + 1 - pads[1] - pads[3])
        h, wd = r.randint(min_h, min_h + 12), r.randint(min_w, min_w + 12)
        n = r.randint(1, 3)
        x = uniform(rng, (n, c, h, wd))
        weight = uniform(rng, (k, c_per_group, kh, kw))
        bias = uniform(rng, (k,)) if r.random() < 0.7 else None
        top, left, bottom, right = pads
        if top == bottom and left == right:
            y = F.conv2d(x, weight, bias, (sh, sw), (top, left), (dh, dw), groups)
        else:
            y = F.conv2d(F.pad(x, (left, right, top, bottom)), weight, bias, (sh, sw), 0,
                         (dh, dw), groups)
        attrs = {"stride_h": sh, "stride_w": sw, "pad_top": top, "pad_left": left,
                 "pad_bottom": bottom, "pad_right": right, "dilation_h": dh, "dilation_w": dw,
                 "groups": groups}
        inputs = [("x", x), ("weight", weight)] + ([("bias", bias)] if bias is not None else [])
        w.add("conv2d", attrs, inputs, y)


def pool_attrs(kh, kw, sh, sw, pads, ceil_mode, count_include_pad):
    return {"kernel_h": kh, "kernel_w": kw, "stride_h": sh, "stride_w": sw, "pad_top": pads[0],
            "pad_left": pads[1], "pad_bottom": pads[2], "pad_right": pads[3],
            "ceil_mode": ceil_mode, "count_include_pad": count_include_pad}


def random_pool_window(r):
    kh, kw = r.randint(1, 4), r.randint(1, 4)
    sh, sw = r.randint(1, 3), r.randint(1, 3)
    # torch allows at most half the kernel as padding on a side.
    return kh, kw, sh, sw, r.randint(0, kh // 2), r.randint(0, kw // 2)


def pool_cases(w, r, rng):
    # Symmetric padding through torch's own padding argument, with ceil_mode.
    for op in ["max_pool2d", "avg_pool2d"]:
        for i in range(14):
            kh, kw, sh, sw, ph, pw = random_pool_window(r)
            n, c = r.randint(1, 2), r.randint(1, 4)
            h, wd = r.randint(kh, kh + 11), r.randint(kw, kw + 11)
            x = uniform(rng, (n, c, h, wd))
            ceil_mode = i % 2 == 1
            include = r.random() < 0.5
            if op == "max_pool2d":
                y = F.max_pool2d(x, (kh, kw), (sh, sw), (ph, pw), ceil_mode=ceil_mode)
            else:
                y = F.avg_pool2d(x, (kh, kw), (sh, sw), (ph, pw), ceil_mode=ceil_mode,
                                 count_include_pad=include)
            attrs = pool_attrs(kh, kw, sh, sw, [ph, pw, ph, pw], ceil_mode, include)
            w.add(op, attrs, [("x", x)], y)
    # Asymmetric padding, which torch has no argument for: pad explicitly, then pool unpadded.
    # Max pads with -inf; average divides by the padded window (zeros) or by the count of real
    # elements (pooling a mask of ones gives that count).
    for op, include in [("max_pool2d", False), ("avg_pool2d", True), ("avg_pool2d", False)]:
        for _ in range(4):
            kh, kw, sh, sw, _, _ = random_pool_window(r)
            pads = [r.randint(0, kh // 2), r.randint(0, kw // 2), r.randint(0, kh // 2),
                    r.randint(0, kw // 2)]
            n, c = r.randint(1, 2), r.randint(1, 4)
            h, wd = r.randint(kh, kh + 9), r.randint(kw, kw + 9)
            x = uniform(rng, (n, c, h, wd))
            torch_pad = (pads[1], pads[3], pads[0], pads[2])
            if op == "max_pool2d":
                y = F.max_pool2d(F.pad(x, torch_pad, value=-float("inf")), (kh, kw), (sh, sw))
            elif include:
                y = F.avg_pool2d(F.pad(x, torch_pad), (kh, kw), (sh, sw))
            else:
                total = F.avg_pool2d(F.pad(x, torch_pad), (kh, kw), (sh, sw))
                count = F.avg_pool2d(F.pad(torch.ones_like(x), torch_pad), (kh, kw), (sh, sw))
                y = total / count
            w.add(op, pool_attrs(kh, kw, sh, sw, pads, False, include), [("x", x)], y)


def adaptive_pool_cases(w, r, rng):
    sizes = [(7, 7, 7, 7), (13, 10, 7, 7), (9, 9, 1, 1), (5, 11, 3, 4), (6, 6, 4, 4),
             (4, 3, 6, 5), (17, 15, 5, 3), (1, 1, 2, 2), (12, 8, 12, 8), (10, 14, 3, 6)]
    for h, wd, oh, ow in sizes:
        x = uniform(rng, (r.randint(1, 2), r.randint(1, 4), h, wd))
        y = F.adaptive_avg_pool2d(x, (oh, ow))
        w.add("adaptive_avg_pool2d", {"out_h": oh, "out_w": ow}, [("x", x)], y)


def batchnorm_cases(w, r, rng):
    for shape in [(1, 3, 5, 7), (2, 8, 4, 4), (3, 5, 1, 9), (2, 16, 3, 2), (4, 6), (2, 7, 3, 3)]:
        c = shape[1]
        x = uniform(rng, shape, -3, 3)
        gamma, beta = uniform(rng, (c,), 0.5, 1.5), uniform(rng, (c,), -0.5, 0.5)
        mean, var = uniform(rng, (c,), -0.5, 0.5), uniform(rng, (c,), 0.1, 2.0)
        eps = r.choice([1e-5, 1e-3])
        y = F.batch_norm(x, mean, var, gamma, beta, training=False, eps=eps)
        inputs = [("x", x), ("gamma", gamma), ("beta", beta), ("mean", mean), ("var", var)]
        w.add("batchnorm", {"eps": eps}, inputs, y)


def linear_cases(w, r, rng):
    for n, i, o in [(1, 1, 1), (1, 512, 10), (3, 17, 5), (2, 300, 7), (4, 9, 33), (1, 64, 1)]:
        x, weight = uniform(rng, (n, i)), uniform(rng, (o, i))
        bias = uniform(rng, (o,)) if (n + i) % 2 == 0 else None
        y = F.linear(x, weight, bias)
        inputs = [("x", x), ("weight", weight)] + ([("bias", bias)] if bias is not None else [])
        w.add("linear", {}, inputs, y)


def softmax_cases(w, r, rng):
    shapes = [(10,), (3, 1000), (2, 5), (2, 3, 4, 5), (1, 7, 2, 3), (4, 1, 1), (2, 6, 3)]
    for op, fn in [("softmax", F.softmax), ("log_softmax", F.log_softmax)]:
        for shape in shapes:
            axis = r.randint(-len(shape), len(shape) - 1)
            # Large offsets and spreads: a softmax that does not subtract the maximum overflows.
            x = uniform(rng, shape, -20, 20) + r.choice([0.0, 500.0, -800.0])
            w.add(op, {"axis": axis}, [("x", x)], fn(x, dim=axis))


def activation_cases(w, r, rng):
    # The knots of relu6, hardswish and hardsigmoid sit at -3, 0, 3 and 6: include them exactly.
    knots = torch.tensor([-3.0, 0.0, 3.0, 6.0, -6.0], dtype=torch.float64)
    for kind, fn in ACTIVATIONS.items():
        for shape in [(2, 3, 4, 5), (7, 11)]:
            x = uniform(rng, shape, -8, 8).reshape(-1)
            x[: knots.numel()] = knots
            x = x.reshape(shape)
            w.add("activation", {"kind": kind}, [("x", x)], fn(x))


def elementwise_cases(w, r, rng):
    pairs = [((2, 3, 4, 5), (2, 3, 4, 5)), ((2, 3, 4, 5), (1, 3, 1, 1)), ((2, 3, 4, 5), (3, 1, 1)),
             ((2, 1, 4, 1), (1, 3, 1, 5)), ((5,), (2, 3, 4, 5)), ((4, 6), (6,)),
             ((2, 3, 4, 5), (1,)), ((3, 1), (1, 4))]
    for op, fn in [("add", torch.add), ("mul", torch.mul)]:
        for a_shape, b_shape in pairs:
            a, b = uniform(rng, a_shape, -2, 2), uniform(rng, b_shape, -2, 2)
            w.add(op, {}, [("a", a), ("b", b)], fn(a, b))


def concat_cases(w, r, rng):
    for rank, axis, count in [(4, 1, 2), (4, 0, 3), (4, 2, 2), (4, 3, 4), (4, -3, 3), (2, 1, 2),
                              (2, 0, 3), (3, -1, 2)]:
        base = [r.randint(1, 4) for _ in range(rank)]
        parts = []
        for _ in range(count):
            shape = list(base)
            shape[axis] = r.randint(1, 5)
            parts.append(uniform(rng, shape))
        inputs = [(f"part{i}", p) for i, p in enumerate(parts)]
        w.add("concat", {"axis": axis}, inputs, torch.cat(parts, dim=axis))


def squeeze_excitation_cases(w, r, rng):
    import torchvision
    for act, scale in [("ReLU", "Sigmoid"), ("SiLU", "Sigmoid"), ("ReLU", "Hardsigmoid")]:
        n, c, s = r.randint(1, 3), r.randint(3, 12), r.randint(1, 4)
        x = uniform(rng, (n, c, r.randint(1, 9), r.randint(1, 9)), -2, 2)
        se = torchvision.ops.SqueezeExcitation(c, s, getattr(torch.nn, act),
                                               getattr(torch.nn, scale)).double()
        with torch.no_grad():
            for p in se.parameters():
                p.copy_(uniform(rng, p.shape))
            expected = se(x)
        inputs = [("x", x), ("fc1_w", se.fc1.weight), ("fc1_b", se.fc1.bias),
                  ("fc2_w", se.fc2.weight), ("fc2_b", se.fc2.bias)]
        w.add("squeeze_excitation", {"act": act, "scale_act": scale},
              [(k, v.detach()) for k, v in inputs], expected)


def cbam_cases(w, r, rng):
    """CBAM (Woo et al. 2018) written out with torch primitives: a shared MLP over the average-
    and max-pooled channel descriptors, then a k x k conv over [mean, max] across channels."""
    for kernel in [7, 3]:
        n, c, reduced = r.randint(1, 3), r.randint(4, 12), r.randint(1, 3)
        x = uniform(rng, (n, c, r.randint(3, 10), r.randint(3, 10)), -2, 2)
        w1, w2 = uniform(rng, (reduced, c, 1, 1)), uniform(rng, (c, reduced, 1, 1))
        spatial_w, spatial_b = uniform(rng, (1, 2, kernel, kernel)), uniform(rng, (1,))

        def mlp(v):
            return F.conv2d(F.relu(F.conv2d(v, w1)), w2)

        y = x * torch.sigmoid(mlp(F.adaptive_avg_pool2d(x, 1)) + mlp(F.adaptive_max_pool2d(x, 1)))
        pooled = torch.cat([y.mean(1, keepdim=True), y.amax(1, keepdim=True)], dim=1)
        expected = y * torch.sigmoid(F.conv2d(pooled, spatial_w, spatial_b, padding=kernel // 2))
        w.add("cbam", {}, [("x", x), ("mlp_w1", w1), ("mlp_w2", w2), ("spatial_w", spatial_w),
                           ("spatial_b", spatial_b)], expected)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="directory for the cases (created)")
    parser.add_argument("--seed", type=int, default=1, help="seed of every random choice")
    args = parser.parse_args()

    os.makedirs(args.out, exist_ok=True)
    # A previous run may have written more cases: remove them so none is stale.
    for name in os.listdir(args.out):
        if name.endswith(".npy") or name.endswith(".json"):
            os.remove(os.path.join(args.out, name))

    torch.manual_seed(args.seed)
    r = random.Random(args.seed)
    rng = np.random.default_rng(args.seed)
    w = CaseWriter(args.out)
    for generate in [conv2d_cases, pool_cases, adaptive_pool_cases, batchnorm_cases, linear_cases,
                     softmax_cases, activation_cases, elementwise_cases, concat_cases,
                     squeeze_excitation_cases, cbam_cases]:
        generate(w, r, rng)
    summary = ", ".join(f"{op} {n}" for op, n in w.counts.items())
    print(f"wrote {w.count} cases to {args.out} (seed {args.seed}, torch {torch.__version__}): "
          f"{summary}")


if __name__ == "__main__":
    main()
