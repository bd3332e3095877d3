#!/usr/bin/env python3
"""fovea_scan with the pretrained ResNet-50 over the 1,300 photos of imagenet/val plus corrupt
files: every photo classified, every bad file in errors.jsonl, the top-1 of every photo equal
to resnet50_infer's, and fovea_report validate's top-1 and top-5 equal to those of the accuracy
test (tests/accuracy, the same --resize 0 --crop 224). Skipped (77) without the weights.

    test_scan_resnet50_val.py FOVEA_SCAN RESNET50_INFER ACCURACY FOVEA_REPORT WEIGHTS VAL_DIR WORK
"""
import json
import os
import re
import shutil
import subprocess
import sys

from scan_harness import check, finish, skip_unless, write_bad_files

scan_bin, infer_bin, accuracy_bin, report_bin, weights, val_dir, work = sys.argv[1:8]
skip_unless(os.path.exists(weights) and os.path.isdir(val_dir),
            f"needs {weights} (weights_tools/fetch_resnet50.sh) and {val_dir}")
shutil.rmtree(work, ignore_errors=True)
photos = sorted(os.path.join(val_dir, f) for f in os.listdir(val_dir) if f.endswith(".JPEG"))
bad_dir = os.path.join(work, "bad")
bad = write_bad_files(bad_dir, open(photos[0], "rb").read())
recipe = ["--resize", "0", "--crop", "224"]

out = os.path.join(work, "scan")
run = subprocess.run([scan_bin, "--model", weights, "--out", out, "--topk", "5", *recipe,
                      val_dir, bad_dir], capture_output=True, text=True)
print(run.stderr.strip().splitlines()[-2] if run.stderr.strip() else "")
check(run.returncode == 1, f"the scan exits 1 for its bad files (got {run.returncode})")
records = [json.loads(line) for line in open(os.path.join(out, "predictions.jsonl"))]
errors = [json.loads(line) for line in open(os.path.join(out, "errors.jsonl"))]
check([r["path"] for r in records] == photos, f"every photo classified ({len(records)})")
check([e["path"] for e in errors] == bad, f"every bad file in errors.jsonl ({len(errors)})")

infer = subprocess.run([infer_bin, "--weights", weights, "--json", "--topk", "1", *recipe, *photos],
                       capture_output=True, text=True)
theirs = {}
for line in infer.stdout.splitlines():
    r = json.loads(line)
    theirs[r["file"]] = r["topk"][0]["index"]
differ = [r["path"] for r in records if theirs.get(r["path"]) != r["topk"][0]["index"]]
check(len(theirs) == len(photos) and not differ,
      f"top-1 equals resnet50_infer's on every photo ({len(differ)} differ)")

acc = subprocess.run([accuracy_bin, "--weights", weights, "--labels",
                      os.path.join(val_dir, "labels.txt"), *recipe],
                     capture_output=True, text=True)
m = re.search(r"top-1 [0-9.]+ % \((\d+)/(\d+)\)\s+top-5 [0-9.]+ % \((\d+)/(\d+)\)", acc.stdout)
check(m is not None, "the accuracy program prints its top-1 and top-5")
report = os.path.join(work, "report")
subprocess.run([report_bin, "validate", "--scan", out, "--labels",
                os.path.join(val_dir, "labels.txt"), "--out", report, "--no-html"],
               capture_output=True, text=True)
summary = json.load(open(os.path.join(report, "validate.json")))["summary"]
if m:
    top1, n, top5 = int(m.group(1)), int(m.group(2)), int(m.group(3))
    print(f"accuracy: top-1 {top1}/{n}, top-5 {top5}/{n}; fovea_report validate: top-1 "
          f"{summary['top1_accuracy']:.4f}, top-5 {summary['top5_accuracy']:.4f}")
    check(summary["records"] == n and round(summary["top1_accuracy"] * n) == top1
          and round(summary["top5_accuracy"] * n) == top5,
          "fovea_report validate gives the accuracy test's top-1 and top-5")
finish()
