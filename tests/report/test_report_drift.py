"""fovea_report drift on synthetic scans: two halves of one distribution raise no alarm in most
of 20 repeats, a shifted class mix and a lower confidence do (exit 1), usage errors exit 2, and
a sharded scan directory with a missing shard and marker is read with warnings.

    test_report_drift.py FOVEA_REPORT WORK_DIR
"""
import json
import os
import sys

import numpy as np

from report_harness import Check, records, run, synthetic, write_jsonl

binary, work = sys.argv[1:3]
check = Check()
# ImageNet's regime: 1000 classes, a Zipf(1) class law and ~1300 predictions a side, so most
# classes are seen 0-3 times; and below, a 60-class model whose classes are all seen often.
classes, n = 1000, 1300
zipf = 1 / np.arange(1, classes + 1)


def drift(reference, current, name, *extra):
    out = os.path.join(work, name)
    status, stdout, stderr = run(binary, "drift", "--reference", reference, "--current", current,
                                 "--out", out, "--no-html", *extra)
    report = json.load(open(os.path.join(out, "drift.json"))) if status in (0, 1) else None
    return status, report, stderr


alarms = 0
for repeat in range(20):
    rng = np.random.default_rng(100 + repeat)
    y, probs, _ = synthetic(rng, 2 * n, classes, zipf)
    rows = records(probs, 5)
    a = write_jsonl(os.path.join(work, f"same_{repeat}_a.jsonl"), rows[:n])
    b = write_jsonl(os.path.join(work, f"same_{repeat}_b.jsonl"), rows[n:])
    status, report, stderr = drift(a, b, f"same_{repeat}")
    check(status in (0, 1) and report["decision"]["drift"] == (status == 1),
          f"repeat {repeat}: exit {status} agrees with the JSON's decision")
    alarms += status == 1
check(alarms <= 2, f"two halves of one distribution: {alarms} alarms in 20 repeats (at most 2)")
few_alarms = 0
for repeat in range(20):
    rng = np.random.default_rng(300 + repeat)
    y, probs, _ = synthetic(rng, 2 * n, 60, np.ones(60))
    rows = records(probs, 5)
    a = write_jsonl(os.path.join(work, f"few_{repeat}_a.jsonl"), rows[:n])
    b = write_jsonl(os.path.join(work, f"few_{repeat}_b.jsonl"), rows[n:])
    status, report, stderr = drift(a, b, f"few_{repeat}")
    few_alarms += status == 1
check(few_alarms <= 2, f"60 classes, two halves: {few_alarms} alarms in 20 repeats (at most 2)")
report = json.load(open(os.path.join(work, "same_0", "drift.json")))
decision = report["decision"]
check(decision["tests_run"] == 3 and abs(decision["false_alarm_per_test"] - 0.01 / 3) < 1e-15,
      "the false-alarm rate 0.01 is split over 3 tests (entropy is known)")
check(abs(sum(c["difference"] for c in report["classes"])) < 1e-9 and
      all(abs(x["difference"]) >= abs(y["difference"])
          for x, y in zip(report["classes"], report["classes"][1:])),
      "the class table's differences sum to 0 and fall in size")

# Shifted class mix: 15 of the common classes vanish from the current scan.
rng = np.random.default_rng(7)
shifted = zipf.copy()
shifted[:15] = 0
_, p_ref, _ = synthetic(rng, n, classes, zipf)
_, p_cur, _ = synthetic(rng, n, classes, shifted)
a = write_jsonl(os.path.join(work, "mix_ref.jsonl"), records(p_ref, 5))
b = write_jsonl(os.path.join(work, "mix_cur.jsonl"), records(p_cur, 5))
status, report, _ = drift(a, b, "mix")
check(status == 1 and "class_mix" in report["decision"]["fired"],
      f"a shifted class mix: exit {status}, fired {report and report['decision']['fired']}")

# Same classes, less confident model (more noise): confidence and entropy fire.
_, p_cur, _ = synthetic(rng, n, classes, zipf, noise=2.2)
b = write_jsonl(os.path.join(work, "conf_cur.jsonl"), records(p_cur, 5))
status, report, _ = drift(a, b, "confidence")
check(status == 1 and "confidence" in report["decision"]["fired"] and
      "entropy" in report["decision"]["fired"],
      f"a less confident model: exit {status}, fired {report and report['decision']['fired']}")

# resnet50_infer lines (no entropy): two tests, the entropy test says why it was skipped.
infer_rows = [{"file": r["path"], "topk": r["topk"], "ms": 1.0} for r in records(p_ref, 5)]
c = write_jsonl(os.path.join(work, "infer.jsonl"), infer_rows)
status, report, _ = drift(c, a, "infer")
check(status == 0 and report["decision"]["tests_run"] == 2 and
      "skipped" in report["tests"]["entropy"], "resnet50_infer lines: entropy skipped, 2 tests")

# A sharded directory: parts 0 and 2 of 3, _SUCCESS only for part 0.
shards = os.path.join(work, "sharded")
rows = records(p_ref, 5)
write_jsonl(os.path.join(shards, "part-0-of-3.jsonl"), rows[:400])
write_jsonl(os.path.join(shards, "part-2-of-3.jsonl"), rows[400:] + ['{"path": "x", "error": "bad"}'])
write_jsonl(os.path.join(shards, "errors-0-of-3.jsonl"), ['{"path": "y", "error": "decode"}'])
with open(os.path.join(shards, "_SUCCESS-0-of-3"), "w") as f:
    json.dump({"manifest_sha256": "ef" * 32, "model": {"name": "synthetic", "sha256": "ab" * 32}}, f)
status, report, stderr = drift(shards, a, "sharded")
check(status == 0 and report["reference_predictions"] == n, f"sharded: {n} predictions read")
check("shards incomplete" in stderr and "missing part 1" in stderr,
      "sharded: a missing part file is warned about")
check("no _SUCCESS-I-of-3 for shard 2" in stderr, "sharded: a missing marker is warned about")
lineage = report["lineage"]["reference"]
check(lineage["error_lines_skipped"] == 1 and lineage["errors_file_records"] == 1 and
      lineage["manifest_sha256"] == ["ef" * 32] and len(lineage["warnings"]) == 2,
      "sharded: error lines, errors files, manifest and warnings are in the lineage")

# Usage errors and unreadable inputs: exit 2.
for args, expected in [(["drift", "--reference", a, "--out", work], "--current is required"),
                       (["drift", "--reference", a, "--current", b, "--out", work,
                         "--false-alarm", "2"], "--false-alarm wants a number"),
                       (["drift", "--reference", os.path.join(work, "nothing.jsonl"),
                         "--current", b, "--out", work], "no such file"),
                       (["drift", "--bogus"], "unknown option --bogus"),
                       (["frobnicate"], "unknown command 'frobnicate'"),
                       ([], "no command given")]:
    status, _, stderr = run(binary, *args)
    check(status == 2 and expected in stderr, f"{' '.join(args[:1] + args[-2:])}: exit {status}, "
          f"says '{expected}'")
check.close("test_report_drift")
