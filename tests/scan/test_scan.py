#!/usr/bin/env python3
"""fovea_scan end to end, on a small classifier (test_classifier_model: a 10-class ResNet-18 on
32x32 crops) and photos from ../shared/data/imagenet/val plus corrupt files:

- every good image gets exactly one record, sorted by path, with the fields docs/operations.md
  lists; entropy and margin agree with the record's own probabilities; every bad file is in
  errors.jsonl with its reason, and the exit status is 1;
- a scan killed with SIGKILL halfway and run again with --resume gives byte for byte the
  output of an uninterrupted scan, and leaves no journal behind;
- shards 0 and 1 of 2 (by option, by JOB_COMPLETION_INDEX, by SLURM_ARRAY_TASK_ID) are disjoint
  and together equal the single-shard scan; two copies of one shard at once give that shard's
  output intact;
- the CSV form carries the same records; a manifest on stdin scans the same images;
- the review queue holds the K most uncertain images by each measure, computed here from the
  probabilities, as Label Studio tasks that fit the labeling config written beside them;
- --resume of a finished shard does nothing; usage errors exit 2.

    test_scan.py FOVEA_SCAN TEST_CLASSIFIER_MODEL WORK_DIR VAL_DIR
"""
import csv
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET

from scan_harness import check, finish, skip_unless, write_bad_files

scan_bin, make_model, work, val_dir = sys.argv[1:5]
skip_unless(os.path.isdir(val_dir), f"no photos at {val_dir}")

shutil.rmtree(work, ignore_errors=True)
os.makedirs(work)
model = os.path.join(work, "model.safetensors")
subprocess.run([make_model, model, "7"], check=True)

# The inputs: 240 photos in two folders, and bad files of every kind beside them.
images = os.path.join(work, "images")
photos = sorted(f for f in os.listdir(val_dir) if f.endswith(".JPEG"))[:240]
for i, name in enumerate(photos):
    folder = os.path.join(images, "a" if i % 2 else "b/c")
    os.makedirs(folder, exist_ok=True)
    os.symlink(os.path.join(val_dir, name), os.path.join(folder, name))
with open(os.path.join(val_dir, photos[0]), "rb") as f:
    jpeg = f.read()
bad_paths = write_bad_files(os.path.join(images, "bad"), jpeg)
good_count = len(photos)


def scan(out, *extra, env=None, stdin=None):
    cmd = [scan_bin, "--model", model, "--out", out, "--threads", "1", *extra]
    return subprocess.run(cmd, capture_output=True, text=True, env=env, input=stdin)


def read_lines(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


# 1. One whole scan: the reference for everything below.
full = os.path.join(work, "full")
run = scan(full, "--topk", "10", images)
check(run.returncode == 1, f"a scan with bad files exits 1 (got {run.returncode}: {run.stderr[-300:]})")
records = read_lines(os.path.join(full, "predictions.jsonl"))
paths = [r["path"] for r in records]
check(len(records) == good_count, f"one record per good image ({len(records)} of {good_count})")
check(paths == sorted(paths) and len(set(paths)) == len(paths), "records sorted by path, unique")
fields = ["path", "sha256", "topk", "entropy", "margin", "model", "preprocessing"]
check(all(list(r.keys()) == fields for r in records), "every record has the documented fields")
check(all(set(r["model"]) == {"name", "version", "sha256"} for r in records),
      "every record names the model, its version and file hash")
errors = read_lines(os.path.join(full, "errors.jsonl"))
check([e["path"] for e in errors] == bad_paths, "every bad file, and only those, in errors.jsonl")
check(all(e["error"].startswith(e["path"] + ": ") for e in errors),
      "each error names its file and the reason")
worst = 0.0
for r in records:
    p = [t["probability"] for t in r["topk"]]
    entropy = -sum(x * math.log(x) for x in p if x > 0)
    worst = max(worst, abs(entropy - r["entropy"]), abs((p[0] - p[1]) - r["margin"]))
    if p != sorted(p, reverse=True) or abs(sum(p) - 1) > 1e-4:
        worst = float("inf")
check(worst < 1e-4, f"entropy and margin agree with the probabilities (worst gap {worst:.2e})")
success = json.load(open(os.path.join(full, "_SUCCESS")))
check(success["classified"] == good_count and success["failed"] == len(bad_paths)
      and success["images"] == good_count + len(bad_paths), "_SUCCESS counts the shard's images")
check(len(success["manifest_sha256"]) == 64 and success["command_line"][0] == scan_bin
      and success["fovea_version"], "_SUCCESS records the manifest hash, command line, version")
check(not any(".journal-" in f or ".tmp-" in f for f in os.listdir(full)),
      "no journal or temporary file is left")

# 2. Killed halfway, then resumed.
killed = os.path.join(work, "killed")
os.makedirs(killed)
proc = subprocess.Popen([scan_bin, "--model", model, "--out", killed, "--threads", "1", "--batch",
                         "1", "--topk", "10", images],
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
journal_lines = 0
deadline = time.time() + 60
while time.time() < deadline and proc.poll() is None:
    journals = [f for f in os.listdir(killed) if ".journal-" in f]
    if journals:
        journal_lines = read_bytes(os.path.join(killed, journals[0])).count(b"\n") - 1
        if journal_lines >= good_count // 2:
            break
    time.sleep(0.005)
proc.send_signal(signal.SIGKILL)
proc.wait()
check(0 < journal_lines < good_count and not os.path.exists(os.path.join(killed, "_SUCCESS")),
      f"the scan was killed halfway ({journal_lines} records written)")
run = scan(killed, "--topk", "10", "--resume", images)
check(f"{journal_lines}" in run.stderr or "kept from before" in run.stderr,
      "the resumed run keeps the killed run's records")
check(read_bytes(os.path.join(killed, "predictions.jsonl"))
      == read_bytes(os.path.join(full, "predictions.jsonl")),
      "the resumed output equals the uninterrupted scan's, byte for byte")
check(read_bytes(os.path.join(killed, "errors.jsonl")) == read_bytes(os.path.join(full, "errors.jsonl")),
      "the resumed errors equal the uninterrupted scan's")
check(not any(".journal-" in f for f in os.listdir(killed)), "resume leaves no journal behind")
again = scan(killed, "--topk", "10", "--resume", images)
check("already complete" in again.stderr and again.returncode == 1,
      "--resume of a finished shard does nothing and keeps its exit status")

# 3. Shards, chosen three ways.
shard_runs = {
    "option": [scan(os.path.join(work, "opt"), "--topk", "10", "--shard-index", str(i),
                    "--shard-count", "2", images) for i in range(2)],
    "kubernetes": [scan(os.path.join(work, "k8s"), "--topk", "10", "--shard-count", "2", images,
                        env={**os.environ, "JOB_COMPLETION_INDEX": str(i)}) for i in range(2)],
    "slurm": [scan(os.path.join(work, "slurm"), "--topk", "10", images,
                   env={**os.environ, "SLURM_ARRAY_TASK_ID": str(i + 1),
                        "SLURM_ARRAY_TASK_MIN": "1", "SLURM_ARRAY_TASK_COUNT": "2"})
              for i in range(2)],
}
for how, runs in shard_runs.items():
    out = os.path.join(work, {"option": "opt", "kubernetes": "k8s", "slurm": "slurm"}[how])
    parts = [read_lines(os.path.join(out, f"part-{i}-of-2.jsonl")) for i in range(2)]
    ps = [{r["path"] for r in part} for part in parts]
    check(all(os.path.exists(os.path.join(out, f"_SUCCESS-{i}-of-2")) for i in range(2))
          and all(os.path.exists(os.path.join(out, f"errors-{i}-of-2.jsonl")) for i in range(2)),
          f"shards by {how}: each writes its part, errors and _SUCCESS")
    check(not (ps[0] & ps[1]) and len(ps[0]) > 0 and len(ps[1]) > 0, f"shards by {how} are disjoint")
    merged = sorted(parts[0] + parts[1], key=lambda r: r["path"])
    check(merged == records, f"shards by {how}, taken together, equal the single-shard scan")

# Two copies of shard 1 at once, as a retried pod beside the original.
twice = os.path.join(work, "twice")
os.makedirs(twice)
copies = [subprocess.Popen([scan_bin, "--model", model, "--out", twice, "--threads", "1",
                            "--topk", "10", "--shard-index", "1", "--shard-count", "2", images],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
codes = [c.wait() for c in copies]
check(read_bytes(os.path.join(twice, "part-1-of-2.jsonl"))
      == read_bytes(os.path.join(work, "opt", "part-1-of-2.jsonl")),
      f"two copies of one shard at once leave its output intact (exit {codes})")

# 4. CSV, and a manifest on stdin.
as_csv = os.path.join(work, "csv")
scan(as_csv, "--topk", "10", "--format", "csv", images)
with open(os.path.join(as_csv, "predictions.csv"), newline="") as f:
    rows = list(csv.DictReader(f))
same = len(rows) == len(records) and all(
    row["path"] == r["path"] and row["sha256"] == r["sha256"]
    and int(row["top1_index"]) == r["topk"][0]["index"] and row["top1_label"] == r["topk"][0]["label"]
    and float(row["top10_probability"]) == r["topk"][9]["probability"]
    and float(row["entropy"]) == r["entropy"] and row["model_sha256"] == r["model"]["sha256"]
    and json.loads(row["preprocessing"]) == r["preprocessing"]
    for row, r in zip(rows, records))
check(same, "the CSV form holds the same records")
manifest_out = os.path.join(work, "manifest")
listed = "\n".join(paths + bad_paths) + "\n"
run = scan(manifest_out, "--topk", "10", "--manifest", "-", stdin=listed)
check(read_lines(os.path.join(manifest_out, "predictions.jsonl")) == records,
      "a manifest on stdin scans the same images")

# 5. The review queue, by each measure.
K = 12
labels_seen = set()
for measure in ["least-confidence", "margin", "entropy"]:
    out = os.path.join(work, "review-" + measure)
    scan(out, "--topk", "10", "--review", str(K), "--uncertainty", measure, images)
    tasks = json.load(open(os.path.join(out, "review.json")))

    def score(r):
        p = sorted((t["probability"] for t in r["topk"]), reverse=True)
        if measure == "least-confidence":
            return 1 - p[0]
        if measure == "margin":
            return 1 - (p[0] - p[1])
        return -sum(x * math.log(x) for x in p if x > 0)

    scores = {r["path"]: score(r) for r in records}
    ranked = sorted(scores, key=lambda p: (-scores[p], p))
    got = [t["data"]["path"] for t in tasks]
    # The scan ranks by its own six-digit scores; a near tie may swap places.
    expected_set = set(ranked[:K])
    close = all(abs(scores[a] - scores[b]) < 1e-5 or scores[a] >= scores[b]
                for a, b in zip(got, got[1:]))
    check(len(tasks) == K and (set(got) == expected_set or all(
        scores[p] >= scores[ranked[K - 1]] - 1e-5 for p in got)) and close,
          f"review queue by {measure}: the {K} most uncertain images, most uncertain first")
    config = ET.parse(os.path.join(out, "review_config.xml")).getroot()
    image_tag = config.find("Image")
    choices_tag = config.find("Choices")
    choices = {c.get("value") for c in choices_tag.findall("Choice")}
    valid = image_tag is not None and image_tag.get("value") == "$image"
    for t in tasks:
        valid &= set(t) == {"data", "predictions"} and isinstance(t["data"]["image"], str)
        valid &= t["data"]["image"].startswith("/data/local-files/?d=")
        for p in t["predictions"]:
            valid &= isinstance(p["model_version"], str) and isinstance(p["score"], float)
            for region in p["result"]:
                valid &= region["from_name"] == choices_tag.get("name")
                valid &= region["to_name"] == image_tag.get("name") == choices_tag.get("toName")
                valid &= region["type"] == "choices"
                valid &= all(c in choices for c in region["value"]["choices"])
                labels_seen.update(region["value"]["choices"])
    check(valid, f"review queue by {measure}: Label Studio tasks that fit review_config.xml")

# 6. Usage errors.
for args, expect in [
    ([images], "--model is required"),
    (["--model", model, "--out", work + "/u", "--format", "xml", images], "--format must be"),
    (["--model", model, "--out", work + "/u", "--shard-index", "2", "--shard-count", "2", images],
     "the shard index must be in [0, 2)"),
    (["--model", model, "--out", work + "/u", "/no/such/dir"], "no such file or directory"),
    (["--model", model, "--out", work + "/u"], "nothing to scan"),
]:
    run = subprocess.run([scan_bin, *args], capture_output=True, text=True)
    check(run.returncode == 2 and expect in run.stderr, f"usage error: {expect}")
run = subprocess.run([scan_bin, "--model", model, "--out", work + "/u", images],
                     capture_output=True, text=True, env={**os.environ, "JOB_COMPLETION_INDEX": "3"})
check(run.returncode == 2 and "--shard-count" in run.stderr,
      "JOB_COMPLETION_INDEX without --shard-count is a usage error")
run = subprocess.run([scan_bin, "--model", work + "/missing.safetensors", "--out", work + "/u", images],
                     capture_output=True, text=True)
check(run.returncode == 1 and "missing.safetensors" in run.stderr, "a missing model exits 1, named")

finish()
