"""Draws the HTML page of a fovea_report JSON file: one self-contained file, charts made by
matplotlib and inlined as base64 PNG, no scripts, nothing fetched. It computes no figures of its
own: everything shown is in the JSON (fovea_report computes it), so the page and the JSON agree.

    render_report.py drift|validate REPORT.json OUT.html
"""
import base64
import html
import io
import json
import os
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the headless backend)

REFERENCE, CURRENT = "#4c72b0", "#dd8452"
STYLE = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.25em; margin-top: 1.6em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.6em 0; font-size: 0.9em; }
td, th { border: 1px solid #ccc; padding: 3px 8px; text-align: right; }
th { background: #f0f0f0; } td.text, th.text { text-align: left; }
.verdict { font-size: 1.3em; padding: 0.5em 1em; display: inline-block; border-radius: 4px; }
.drift { background: #f8d7da; color: #721c24; } .ok { background: #d4edda; color: #155724; }
.warning { background: #fff3cd; padding: 0.4em 0.8em; margin: 0.3em 0; }
.note { color: #555; font-size: 0.9em; } img { max-width: 100%; }
"""


def esc(x):
    return html.escape("" if x is None else str(x))


def fmt(x, digits=4):
    if x is None:
        return "&ndash;"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return esc(x)


def figure_html(fig, alt):
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=96, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<p><img alt="{esc(alt)}" src="data:image/png;base64,{data}"></p>'


def table(header, rows, text_columns=()):
    head = "".join(f'<th class="{"text" if i in text_columns else ""}">{esc(h)}</th>'
                   for i, h in enumerate(header))
    body = "".join("<tr>" + "".join(
        f'<td class="{"text" if i in text_columns else ""}">{cell}</td>'
        for i, cell in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def short(label, index):
    if label is None:
        return str(index)
    return f"{index} {label.split(',')[0]}"


def lineage_html(lineage):
    parts = ["<h2>Lineage</h2>"]
    for role, scan in lineage.items():
        if not isinstance(scan, dict) or "files" not in scan:
            continue
        parts.append(f"<p><b>{esc(role)}</b>: {esc(scan['source'])}, {scan['predictions']} "
                     f"predictions, {scan['error_lines_skipped']} error lines skipped, "
                     f"{scan['errors_file_records']} in errors files</p>")
        parts.append(table(["file", "sha256", "records"],
                           [[esc(f["path"]), esc(f["sha256"]), f["records"]]
                            for f in scan["files"]], (0, 1)))
        for m in scan.get("models", []):
            parts.append(f"<p class='note'>model {esc(m.get('name'))} {esc(m.get('version'))} "
                         f"sha256 {esc(m.get('sha256'))}</p>")
        for h in scan.get("manifest_sha256", []):
            parts.append(f"<p class='note'>manifest sha256 {esc(h)}</p>")
    if "labels" in lineage:
        parts.append(f"<p class='note'>labels: {esc(json.dumps(lineage['labels']))}</p>")
    parts.append(f"<p class='note'>fovea {esc(lineage['fovea_version'])}; command: "
                 f"{esc(' '.join(lineage['command_line']))}</p>")
    return "".join(parts)


def warnings_html(lineage):
    items = [w for scan in lineage.values() if isinstance(scan, dict)
             for w in scan.get("warnings", [])]
    return "".join(f"<div class='warning'>warning: {esc(w)}</div>" for w in items)


def overlaid_histogram(hist, title, xlabel):
    edges = hist["edges"]
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    for key, colour in (("reference", REFERENCE), ("current", CURRENT)):
        counts = hist[key]
        total = max(1, sum(counts))
        ax.stairs([c / total for c in counts], edges, label=key, color=colour, linewidth=2,
                  fill=False)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of predictions")
    ax.legend()
    return figure_html(fig, title)


def render_drift(report):
    decision = report["decision"]
    verdict = "DRIFT" if decision["drift"] else "no drift"
    out = [f"<h1>Drift report</h1><p class='verdict {'drift' if decision['drift'] else 'ok'}'>"
           f"{verdict}</p>", warnings_html(report["lineage"]),
           f"<p>{report['reference_predictions']} reference and {report['current_predictions']} "
           f"current predictions. Overall false-alarm rate {decision['false_alarm']}, split over "
           f"{decision['tests_run']} tests ({decision['false_alarm_per_test']:.4g} each); "
           f"thresholds bootstrapped from the reference ({decision['bootstrap_rounds']} rounds, "
           f"seed {decision['seed']}).</p>"]
    rows = []
    for name, test in report["tests"].items():
        if "skipped" in test:
            rows.append([esc(name), "&ndash;", "&ndash;", "skipped: " + esc(test["skipped"])])
        else:
            rows.append([esc(name), fmt(test["statistic"], 3), fmt(test["threshold"], 3),
                         "<b>drift</b>" if test["drift"] else "no"])
    out.append(table(["test", "statistic", "threshold", "decision"], rows, (0, 3)))

    classes = report["classes"][:20]
    if classes:
        fig, ax = plt.subplots(figsize=(8, 0.32 * len(classes) + 1.2))
        y = list(range(len(classes)))[::-1]
        names = [short(c["label"], c["index"]) for c in classes]
        ax.barh([v + 0.2 for v in y], [c["reference_share"] for c in classes], height=0.4,
                color=REFERENCE, label="reference")
        ax.barh([v - 0.2 for v in y], [c["current_share"] for c in classes], height=0.4,
                color=CURRENT, label="current")
        ax.set_yticks(y)
        ax.set_yticklabels(names, fontsize=8)
        ax.set_xlabel("share of top-1 predictions")
        ax.set_title("Classes whose share changed most")
        ax.legend()
        out.append("<h2>Class mix</h2>" + figure_html(fig, "changed classes"))
        out.append(table(["class", "reference", "share", "current", "share", "difference"],
                         [[esc(short(c["label"], c["index"])), c["reference_count"],
                           fmt(c["reference_share"]), c["current_count"], fmt(c["current_share"]),
                           fmt(c["difference"])] for c in report["classes"][:30]], (0,)))
    out.append("<h2>Confidence and entropy</h2>")
    out.append(overlaid_histogram(report["histograms"]["confidence"], "Top-1 probability",
                                  "probability"))
    if "entropy" in report["histograms"]:
        out.append(overlaid_histogram(report["histograms"]["entropy"], "Entropy", "nats"))
    out.append(lineage_html(report["lineage"]))
    return "Drift report", "".join(out)


def confusion_figure(report):
    """The full matrix when few classes occur, else the classes of the most confused pairs."""
    per_class = {c["index"]: c for c in report["per_class"]}
    occurring = sorted(per_class)
    if len(occurring) <= 30:
        chosen, title = occurring, "Confusion matrix"
    else:
        chosen = []
        for pair in report["confusion"]["most_confused"]:
            for c in (pair["true"], pair["predicted"]):
                if c not in chosen and len(chosen) < 24:
                    chosen.append(c)
        chosen.sort()
        title = "Confusion among the most confused classes"
    if not chosen:
        return ""
    at = {c: i for i, c in enumerate(chosen)}
    matrix = [[0] * len(chosen) for _ in chosen]
    for t, p, n in report["confusion"]["cells"]:
        if t in at and p in at:
            matrix[at[t]][at[p]] = n
    size = max(4.0, 0.32 * len(chosen) + 2)
    fig, ax = plt.subplots(figsize=(size + 1, size))
    image = ax.imshow(matrix, cmap="Blues")
    names = [short(per_class[c]["label"], c) for c in chosen]
    ax.set_xticks(range(len(chosen)))
    ax.set_xticklabels(names, rotation=90, fontsize=7)
    ax.set_yticks(range(len(chosen)))
    ax.set_yticklabels(names, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.colorbar(image, ax=ax, shrink=0.7)
    return figure_html(fig, title)


def render_validate(report):
    s = report["summary"]
    out = ["<h1>Validation report</h1>", warnings_html(report["lineage"])]
    m = report["matching"]
    out.append(f"<p>{m['labelled_records']} labelled records; {m['unlabelled_records']} records "
               f"without a label, {m['unmatched_label_rows']} label rows matching no record"
               f"{' (first: ' + esc(m['unmatched_label_examples'][0]) + ')' if m['unmatched_label_examples'] else ''}"
               f".</p>")
    out.append(table(["records", "top-1", "top-5", "macro precision", "macro recall", "macro F1",
                      "macro AUC", "ECE"],
                     [[s["records"], fmt(s["top1_accuracy"]), fmt(s["top5_accuracy"]),
                       fmt(s["macro_precision"]), fmt(s["macro_recall"]), fmt(s["macro_f1"]),
                       fmt(s["macro_auc"]), fmt(s["ece"])]]))
    out.append("<h2>Confusion</h2>" + confusion_figure(report))
    confused = report["confusion"]["most_confused"][:15]
    if confused:
        out.append(table(["true", "predicted as", "count"],
                         [[esc(short(c["true_label"], c["true"])),
                           esc(short(c["predicted_label"], c["predicted"])), c["count"]]
                          for c in confused], (0, 1)))

    roc = report["roc"]
    fig, ax = plt.subplots(figsize=(5.5, 5))
    if "macro_curve" in roc:
        ax.plot(roc["macro_curve"]["fpr"], roc["macro_curve"]["tpr"], color="black", linewidth=2.5,
                label=f"macro average (AUC {fmt(roc['macro_auc'], 3)})")
    for c in roc["classes_shown"]:
        ax.plot(c["fpr"], c["tpr"], linewidth=1,
                label=f"{short(c['label'], c['index'])} (AUC {c['auc']:.3f})")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":")
    ax.set_xlabel("false-positive rate")
    ax.set_ylabel("true-positive rate")
    ax.set_title("One-vs-rest ROC")
    ax.legend(fontsize=7, loc="lower right")
    out.append("<h2>ROC</h2>" + figure_html(fig, "ROC curves"))
    out.append(f"<p class='note'>{esc(roc['note'])} (this scan: top-{roc['topk']}).</p>")

    calibration = report["calibration"]
    bins = calibration["reliability"]
    fig, ax = plt.subplots(figsize=(5.5, 5))
    filled = [b for b in bins if b["count"] > 0]
    ax.bar([(b["lower"] + b["upper"]) / 2 for b in filled], [b["accuracy"] for b in filled],
           width=1 / len(bins), edgecolor="black", color=REFERENCE, label="accuracy")
    ax.plot([b["mean_confidence"] for b in filled], [b["accuracy"] for b in filled], "o",
            color=CURRENT, label="(mean confidence, accuracy)")
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="perfect calibration")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("top-1 confidence")
    ax.set_ylabel("accuracy")
    ax.set_title(f"Reliability diagram (ECE {fmt(calibration['ece'], 4)})")
    ax.legend(fontsize=8, loc="upper left")
    out.append("<h2>Calibration</h2>" + figure_html(fig, "reliability diagram"))

    if report["slices"]:
        keys = ["top1_accuracy", "top5_accuracy", "macro_f1", "macro_auc", "ece"]
        rows = []
        for sl in report["slices"]:
            row = [esc(sl["column"]), esc(sl["value"]), sl["metrics"]["records"]]
            for k in keys:
                gap = sl["gap_to_overall"][k]
                row.append(f"{fmt(sl['metrics'][k])} ({'' if gap is None or gap < 0 else '+'}"
                           f"{fmt(gap, 3)})")
            rows.append(row)
        out.append("<h2>Slices</h2><p class='note'>Each figure with its gap to the overall one "
                   "in brackets.</p>")
        out.append(table(["column", "value", "records", "top-1", "top-5", "macro F1",
                          "macro AUC", "ECE"], rows, (0, 1)))

    worst = sorted((c for c in report["per_class"] if c["support"] > 0),
                   key=lambda c: (c["f1"], -c["support"]))[:25]
    out.append("<h2>Classes with the lowest F1</h2>")
    out.append(table(["class", "support", "predicted", "precision", "recall", "F1", "AUC"],
                     [[esc(short(c["label"], c["index"])), c["support"], c["predicted"],
                       fmt(c["precision"]), fmt(c["recall"]), fmt(c["f1"]), fmt(c["auc"])]
                      for c in worst], (0,)))
    out.append(lineage_html(report["lineage"]))
    return "Validation report", "".join(out)


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ("drift", "validate"):
        sys.exit("usage: render_report.py drift|validate REPORT.json OUT.html")
    kind, source, target = sys.argv[1:]
    with open(source, encoding="utf-8") as f:
        report = json.load(f)
    title, body = (render_drift if kind == "drift" else render_validate)(report)
    page = (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{esc(title)}</title>"
            f"<style>{STYLE}</style></head><body>{body}</body></html>\n")
    with open(target + ".tmp", "w", encoding="utf-8") as f:
        f.write(page)
    os.replace(target + ".tmp", target)


if __name__ == "__main__":
    main()
