#!/usr/bin/env python3
"""Plots a fit() CSV log (epoch, lr, train_loss, train_accuracy, val_loss, val_accuracy, ...) as an
SVG with matplotlib: cross-entropy loss on the left panel, accuracy (%) on the right.

    plot_log.py LOG.csv OUT.svg [TITLE]

A column left empty (the val columns of a run without a validation set) is not drawn. The SVG
carries no date and fixed ids, so the same log gives the same file.
"""
import csv
import sys
import textwrap

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

matplotlib.rcParams.update({"svg.fonttype": "none", "svg.hashsalt": "fovea"})


def column(rows, key, scale=1.0):
    """The column's values (None where empty), or None when the column is empty throughout."""
    values = [scale * float(r[key]) if r.get(key) else None for r in rows]
    return values if any(v is not None for v in values) else None


def main():
    log, out_path = sys.argv[1], sys.argv[2]
    title = sys.argv[3] if len(sys.argv) > 3 else log
    with open(log, newline="") as f:
        rows = list(csv.DictReader(f))
    epochs = [int(r["epoch"]) for r in rows]

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, scale, ylabel in ((axes[0], "loss", 1, "cross-entropy loss"),
                                   (axes[1], "accuracy", 100, "accuracy (%)")):
        for split, colour in (("train", "tab:blue"), ("val", "tab:red")):
            values = column(rows, f"{split}_{key}", scale)
            if values is not None:
                ys = [float("nan") if v is None else v for v in values]
                ax.plot(epochs, ys, color=colour, marker="o", markersize=3, label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel(ylabel)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(True, color="#e5e5e5")
        ax.legend()
    fig.suptitle("\n".join(textwrap.wrap(title, 100)), fontsize="medium")
    fig.tight_layout()
    fig.savefig(out_path, format="svg", metadata={"Date": None})


if __name__ == "__main__":
    main()
