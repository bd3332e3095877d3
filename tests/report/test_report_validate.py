"""fovea_report validate against scikit-learn and numpy on a synthetic scan: top-1, top-5, the
confusion matrix, per-class precision/recall/F1/support and AUC, macro AUC, ECE, and every
slice's figures with their gaps; labels by CSV (with and without a header, relative paths,
class names) and by folder.

    test_report_validate.py FOVEA_REPORT WORK_DIR
"""
import json
import os
import sys

import numpy as np
from sklearn.metrics import (accuracy_score, confusion_matrix, precision_recall_fscore_support,
                             roc_auc_score)

from report_harness import Check, ece, records, run, scores_from_records, synthetic, write_jsonl

binary, work = sys.argv[1:3]
check = Check()
rng = np.random.default_rng(11)
classes, n, k = 12, 1500, 5
weights = np.linspace(1, 3, classes)
weights[-1] = 0  # a class never true (it may still be predicted)
sites = ["north", "south", "east"]
y, probs, slice_values = synthetic(rng, n, classes, weights, noise=1.4, signal=2.6,
                                   slices={"site": (sites, [0.0, 0.3, 1.2])})
rows = records(probs, k, labels=y)
scan = write_jsonl(os.path.join(work, "scan", "predictions.jsonl"), rows)
open(os.path.join(work, "scan", "_SUCCESS"), "w").write(json.dumps(
    {"records": n, "manifest_sha256": "cd" * 32, "model": {"name": "synthetic", "sha256": "ab" * 32}}))

# Labels: relative paths (matched by suffix), a header naming the slice column, class names for
# a third of the rows, and two rows for images the scan does not hold.
labels_csv = os.path.join(work, "labels.csv")
with open(labels_csv, "w") as f:
    f.write("path,label,site\n")
    for i, r in enumerate(rows):
        relative = "/".join(r["path"].split("/")[-2:])
        label = f"class {y[i]}" if i % 3 == 0 else str(y[i])
        f.write(f"{relative},{label},{slice_values['site'][i]}\n")
    f.write("missing/one.jpg,3,north\nmissing/two.jpg,4,south\n")

status, out, err = run(binary, "validate", "--scan", os.path.join(work, "scan"), "--labels",
                       labels_csv, "--out", os.path.join(work, "out"), "--no-html")
check(status == 0, f"validate exits 0 (got {status}: {err.strip()[-300:]})")
report = json.load(open(os.path.join(work, "out", "validate.json")))
s = report["summary"]

pred = np.array([r["topk"][0]["index"] for r in rows])
check(report["matching"]["labelled_records"] == n, "every record is labelled through a suffix match")
check(report["matching"]["unmatched_label_rows"] == 2, "the two rows of absent images are reported")
check(report["matching"]["header_row"], "the header row is detected")
check("2 label rows matched no record" in err, "unmatched rows are warned about on stderr")
check(abs(s["top1_accuracy"] - accuracy_score(y, pred)) < 1e-12,
      f"top-1 {s['top1_accuracy']:.6f} = scikit-learn's {accuracy_score(y, pred):.6f}")
top5 = np.mean([y[i] in [e["index"] for e in r["topk"][:5]] for i, r in enumerate(rows)])
check(abs(s["top5_accuracy"] - top5) < 1e-12, f"top-5 {s['top5_accuracy']:.6f} = {top5:.6f}")

all_classes = list(range(classes))
cm = confusion_matrix(y, pred, labels=all_classes)
cells = {(t, p): c for t, p, c in report["confusion"]["cells"]}
dense = np.zeros((classes, classes), int)
for (t, p), c in cells.items():
    dense[t, p] = c
check((dense == cm).all() and all(c > 0 for c in cells.values()),
      "the confusion cells are scikit-learn's confusion matrix's nonzero cells")

present = sorted(set(y))
p_, r_, f_, sup = precision_recall_fscore_support(y, pred, labels=all_classes, zero_division=0)
scores = scores_from_records(rows, classes)
per_class = {c["index"]: c for c in report["per_class"]}
worst = 0.0
for c in all_classes:
    row = per_class.get(c)
    if sup[c] == 0 and (pred == c).sum() == 0:
        check(row is None, f"class {c} (never true nor predicted) has no row")
        continue
    check(row["support"] == sup[c], f"class {c}: support {row['support']} = {sup[c]}")
    if (pred == c).sum() == 0:
        check(row["precision"] is None, f"class {c}: precision null when never predicted")
    else:
        worst = max(worst, abs(row["precision"] - p_[c]))
    if sup[c] == 0:
        check(row["recall"] is None and row["auc"] is None, f"class {c}: recall and AUC null without support")
    else:
        worst = max(worst, abs(row["recall"] - r_[c]), abs(row["f1"] - f_[c]))
        auc = roc_auc_score(y == c, scores[:, c])
        worst = max(worst, abs(row["auc"] - auc))
check(worst < 1e-12, f"per-class precision, recall, F1 and AUC match scikit-learn (worst {worst:.2e})")
mp, mr, mf, _ = precision_recall_fscore_support(y, pred, labels=present, average="macro",
                                                zero_division=0)
check(abs(s["macro_precision"] - mp) + abs(s["macro_recall"] - mr) + abs(s["macro_f1"] - mf) < 1e-12,
      f"macro P/R/F1 {s['macro_precision']:.4f}/{s['macro_recall']:.4f}/{s['macro_f1']:.4f} = "
      f"scikit-learn's {mp:.4f}/{mr:.4f}/{mf:.4f}")
macro_auc = np.mean([roc_auc_score(y == c, scores[:, c]) for c in present])
check(abs(s["macro_auc"] - macro_auc) < 1e-12, f"macro AUC {s['macro_auc']:.6f} = {macro_auc:.6f}")
confidence = np.array([r["topk"][0]["probability"] for r in rows])
e = ece(confidence, pred == y)
check(abs(s["ece"] - e) < 1e-12, f"ECE {s['ece']:.6f} = numpy's {e:.6f}")
counts = [b["count"] for b in report["calibration"]["reliability"]]
check(sum(counts) == n and len(counts) == 15, "15 reliability bins hold every record")
check("exact only above" in report["roc"]["note"], "the JSON says where the ROC curves are exact")

site = np.array(slice_values["site"])
slices = {sl["value"]: sl for sl in report["slices"] if sl["column"] == "site"}
check(sorted(slices) == sorted(sites), f"one slice per site value: {sorted(slices)}")
for value, sl in slices.items():
    m = site == value
    acc = accuracy_score(y[m], pred[m])
    f1 = precision_recall_fscore_support(y[m], pred[m], labels=sorted(set(y[m])), average="macro",
                                         zero_division=0)[2]
    se = ece(confidence[m], pred[m] == y[m])
    fig = sl["metrics"]
    check(fig["records"] == m.sum() and abs(fig["top1_accuracy"] - acc) < 1e-12 and
          abs(fig["macro_f1"] - f1) < 1e-12 and abs(fig["ece"] - se) < 1e-12 and
          abs(sl["gap_to_overall"]["top1_accuracy"] - (acc - s["top1_accuracy"])) < 1e-12,
          f"slice site={value}: n {m.sum()}, top-1 {acc:.4f} (gap {acc - s['top1_accuracy']:+.4f}), "
          f"macro F1 {f1:.4f}, ECE {se:.4f}")
check(slices["east"]["gap_to_overall"]["top1_accuracy"] < -0.05,
      "the noisier site shows a negative top-1 gap")
lineage = report["lineage"]["scan"]
check(lineage["manifest_sha256"] == ["cd" * 32] and lineage["models"][0]["sha256"] == "ab" * 32,
      "the lineage holds the manifest and model hashes")
check(len(lineage["files"][0]["sha256"]) == 64 and report["lineage"]["labels"]["sha256"],
      "the lineage holds the input files' hashes")

# No header, integer labels, extra slice columns named col3, col4; exact paths.
plain = os.path.join(work, "labels_plain.csv")
with open(plain, "w") as f:
    for i, r in enumerate(rows):
        f.write(f"{r['path']}, {y[i]},{slice_values['site'][i]},{'odd' if i % 2 else 'even'}\n")
status, out, err = run(binary, "validate", "--scan", scan, "--labels", plain, "--out",
                       os.path.join(work, "out_plain"), "--no-html")
plain_report = json.load(open(os.path.join(work, "out_plain", "validate.json")))
check(status == 0 and not plain_report["matching"]["header_row"] and
      plain_report["slice_columns"] == ["col3", "col4"] and
      plain_report["summary"]["top1_accuracy"] == s["top1_accuracy"],
      f"no header: slice columns {plain_report['slice_columns']}, same top-1")

# Labels from folders: the synthetic paths hold the true class as their folder.
status, out, err = run(binary, "validate", "--scan", scan, "--labels-from-folders", "--out",
                       os.path.join(work, "out_folders"), "--no-html")
folder_report = json.load(open(os.path.join(work, "out_folders", "validate.json")))
check(status == 0 and folder_report["summary"]["top1_accuracy"] == s["top1_accuracy"],
      "labels from folders give the same top-1")

# Fewer than 5 top-k entries: top-5 is null. And the CSV form of a scan reads the same.
three = write_jsonl(os.path.join(work, "top3.jsonl"), records(probs, 3, labels=y))
status, out, err = run(binary, "validate", "--scan", three, "--labels-from-folders", "--out",
                       os.path.join(work, "out_top3"), "--no-html")
top3 = json.load(open(os.path.join(work, "out_top3", "validate.json")))
check(status == 0 and top3["summary"]["top5_accuracy"] is None and
      top3["summary"]["top1_accuracy"] == s["top1_accuracy"], "top-3 records: top-5 is null")

csv_dir = os.path.join(work, "csv_scan")
os.makedirs(csv_dir, exist_ok=True)
with open(os.path.join(csv_dir, "part-0-of-1.csv"), "w") as f:
    head = ["path", "sha256"] + [f"top{j}_{x}" for j in range(1, k + 1)
                                 for x in ("index", "label", "probability")]
    f.write(",".join(head + ["entropy", "margin", "model_name", "model_version", "model_sha256",
                             "preprocessing"]) + "\r\n")
    for r in rows:
        cells = [r["path"], r["sha256"]]
        for e in r["topk"]:
            cells += [str(e["index"]), f'"{e["label"]}"', repr(e["probability"])]
        cells += [repr(r["entropy"]), repr(r["margin"]), "synthetic", "1", "ab" * 32,
                  '"{""resize"": 256}"']
        f.write(",".join(cells) + "\r\n")
open(os.path.join(csv_dir, "_SUCCESS-0-of-1"), "w").write("{}")
status, out, err = run(binary, "validate", "--scan", csv_dir, "--labels", labels_csv, "--out",
                       os.path.join(work, "out_csv"), "--no-html")
csv_report = json.load(open(os.path.join(work, "out_csv", "validate.json")))
check(status == 0 and csv_report["summary"] == s, "the CSV form of the scan gives the same summary")
check.close("test_report_validate")
