#!/usr/bin/env python3
"""Plots a fit() CSV log (epoch, lr, train_loss, train_accuracy, val_loss, val_accuracy, ...) as
a small dependency-free SVG: loss on the left panel, accuracy on the right.

    plot_log.py LOG.csv OUT.svg [TITLE]
"""
import csv
import sys


def panel(x0, width, height, epochs, series, label, fmt):
    """One chart: series is [(name, colour, values)]; returns SVG elements."""
    lo = min(min(v) for _, _, v in series)
    hi = max(max(v) for _, _, v in series)
    pad = (hi - lo) * 0.08 or 1e-3
    lo, hi = lo - pad, hi + pad
    left, top, w, h = x0 + 60, 30, width - 80, height - 70
    sx = lambda e: left + (e - 1) / max(1, epochs - 1) * w
    sy = lambda v: top + (hi - v) / (hi - lo) * h
    out = [f'<rect x="{left}" y="{top}" width="{w}" height="{h}" fill="none" stroke="#888"/>',
           f'<text x="{left + w / 2}" y="{top - 10}" text-anchor="middle">{label}</text>',
           f'<text x="{left + w / 2}" y="{top + h + 35}" text-anchor="middle">epoch</text>']
    for i in range(5):
        v = lo + (hi - lo) * i / 4
        out.append(f'<text x="{left - 5}" y="{sy(v) + 4:.1f}" text-anchor="end">{fmt(v)}</text>')
        out.append(f'<line x1="{left}" x2="{left + w}" y1="{sy(v):.1f}" y2="{sy(v):.1f}" '
                   'stroke="#eee"/>')
    for e in range(1, epochs + 1):
        out.append(f'<text x="{sx(e):.1f}" y="{top + h + 16}" text-anchor="middle">{e}</text>')
    for k, (name, colour, values) in enumerate(series):
        points = " ".join(f"{sx(e + 1):.1f},{sy(v):.1f}" for e, v in enumerate(values))
        out.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        out.append(f'<text x="{left + w - 5}" y="{top + 18 + 16 * k}" text-anchor="end" '
                   f'fill="{colour}">{name}</text>')
    return out


def main():
    log, out_path = sys.argv[1], sys.argv[2]
    title = sys.argv[3] if len(sys.argv) > 3 else log
    rows = list(csv.DictReader(open(log)))
    col = lambda k: [float(r[k]) for r in rows]
    percent = lambda k: [100 * v for v in col(k)]
    # A run without a validation set leaves the val columns empty: plot training only.
    validated = all(r["val_loss"] for r in rows)
    epochs, width, height = len(rows), 420, 300
    losses = [("train", "#1f77b4", col("train_loss"))]
    accuracies = [("train", "#1f77b4", percent("train_accuracy"))]
    if validated:
        losses.append(("val", "#d62728", col("val_loss")))
        accuracies.append(("val", "#d62728", percent("val_accuracy")))
    body = panel(0, width, height, epochs, losses, "cross-entropy loss", lambda v: f"{v:.3f}")
    body += panel(width, width, height, epochs, accuracies, "accuracy (%)", lambda v: f"{v:.1f}")
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{2 * width}" height="{height + 20}" '
           'font-family="sans-serif" font-size="12">',
           '<rect width="100%" height="100%" fill="white"/>',
           f'<text x="{width}" y="{height + 12}" text-anchor="middle" fill="#555">{title}</text>']
    open(out_path, "w").write("\n".join(svg + body + ["</svg>"]) + "\n")


if __name__ == "__main__":
    main()
