"""Shared pieces of the fovea_report tests: synthetic scans (numpy), running the program, and a
Check that collects failures so that one run reports all of them."""
import json
import os
import subprocess

import numpy as np


class Check:
    def __init__(self):
        self.failures = 0

    def __call__(self, condition, message):
        print(("ok   " if condition else "FAIL ") + message, flush=True)
        self.failures += 0 if condition else 1

    def close(self, name):
        print(f"{name}: {self.failures} failure(s)")
        raise SystemExit(1 if self.failures else 0)


def run(binary, *args, env=None):
    """Runs fovea_report; returns (exit status, stdout, stderr)."""
    full_env = dict(os.environ)
    full_env.update(env or {})
    p = subprocess.run([binary, *map(str, args)], capture_output=True, text=True, env=full_env,
                       timeout=300)
    return p.returncode, p.stdout, p.stderr


def softmax(logits):
    e = np.exp(logits - logits.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def synthetic(rng, n, classes, class_weights=None, noise=1.5, signal=3.0, slices=None):
    """n records of a `classes`-way classifier: true labels drawn with class_weights, logits
    = noise * N(0, 1) + signal on the true class. slices: {column: (values, extra_noise)}; each
    record draws a value of each column, and its noise grows by that value's extra_noise."""
    weights = np.ones(classes) if class_weights is None else np.asarray(class_weights, float)
    labels = rng.choice(classes, size=n, p=weights / weights.sum())
    scale = np.full(n, noise)
    slice_values = {}
    for column, (values, extra) in (slices or {}).items():
        picked = rng.integers(0, len(values), size=n)
        slice_values[column] = [values[i] for i in picked]
        scale += np.asarray(extra)[picked]
    logits = rng.normal(size=(n, classes)) * scale[:, None]
    logits[np.arange(n), labels] += signal
    return labels, softmax(logits), slice_values


def records(probs, k, prefix="/data/set", labels=None, names=None, model=True):
    """JSON-lines records (fovea_scan's form) with the top-k of each row of probs. The path holds
    the true class as its folder when labels is given."""
    out = []
    for i, p in enumerate(probs):
        top = np.argpartition(-p, k)[:k] if k < len(p) else np.arange(len(p))
        order = top[np.argsort(-p[top], kind="stable")]
        folder = f"/{labels[i]}" if labels is not None else ""
        r = {"path": f"{prefix}{folder}/img_{i:05d}.jpg", "sha256": f"{i:064x}",
             "topk": [{"index": int(c), "label": names[c] if names else f"class {c}",
                       "probability": float(p[c])} for c in order],
             "entropy": float(-(p * np.log(np.maximum(p, 1e-300))).sum()),
             "margin": float(p[order[0]] - p[order[1]])}
        if model:
            r["model"] = {"name": "synthetic", "version": "1", "sha256": "ab" * 32}
        out.append(r)
    return out


def write_jsonl(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        for r in rows:
            f.write((r if isinstance(r, str) else json.dumps(r)) + "\n")
    return path


def scores_from_records(rows, classes):
    """The score matrix the report uses: top-k probabilities, 0 elsewhere."""
    s = np.zeros((len(rows), classes))
    for i, r in enumerate(rows):
        for e in r["topk"]:
            s[i, e["index"]] = e["probability"]
    return s


def ece(confidence, correct, bins=15):
    """Expected calibration error over equal-width bins (lo, hi]."""
    b = np.clip(np.ceil(confidence * bins).astype(int) - 1, 0, bins - 1)
    total = 0.0
    for j in range(bins):
        m = b == j
        if m.any():
            total += m.sum() / len(b) * abs(correct[m].mean() - confidence[m].mean())
    return total
