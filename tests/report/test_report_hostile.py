"""Hostile and broken inputs to fovea_report: each gives its exit status (validate 1, drift 2)
and a message naming the file and line, expected against got; none crashes. Also a renderer
that cannot run: the JSON is still written and the failure is said.

    test_report_hostile.py FOVEA_REPORT WORK_DIR
"""
import json
import os
import sys

import numpy as np

from report_harness import Check, records, run, synthetic, write_jsonl

binary, work = sys.argv[1:3]
check = Check()
rng = np.random.default_rng(3)
y, probs, _ = synthetic(rng, 200, 10)
good_rows = records(probs, 5, labels=y)
good = write_jsonl(os.path.join(work, "good.jsonl"), good_rows)
labels = os.path.join(work, "labels.csv")
with open(labels, "w") as f:
    f.writelines(f"{r['path']},{y[i]}\n" for i, r in enumerate(good_rows))

line = json.dumps(good_rows[0])
bad_scans = {
    "not JSON": ("{\"path\": \"a\", \"topk\": [", "invalid JSON at byte"),
    "no topk": (json.dumps({"path": "a.jpg"}), "missing field 'topk'"),
    "no path": (json.dumps({"topk": good_rows[0]["topk"]}), "missing field 'path'"),
    "empty topk": (json.dumps({"path": "a", "topk": []}), "expected a non-empty array"),
    "probability 1.5": (line.replace(str(good_rows[0]["topk"][0]["probability"]), "1.5"),
                        "expected a probability in [0, 1], got 1.5"),
    "negative index": (json.dumps({"path": "a", "topk": [{"index": -3, "probability": 0.5}]}),
                       "topk[0].index': expected a class index"),
    "rising topk": (json.dumps({"path": "a", "topk": [{"index": 1, "probability": 0.2},
                                                      {"index": 2, "probability": 0.5}]}),
                    "descending order"),
    "an array": ("[1, 2]", "expected a JSON object, got an array"),
    "string entropy": (json.dumps({"path": "a", "topk": good_rows[0]["topk"], "entropy": "x"}),
                       "field 'entropy'"),
}
for name, (bad_line, expected) in bad_scans.items():
    path = write_jsonl(os.path.join(work, name.replace(" ", "_") + ".jsonl"),
                       good_rows[:2] + [bad_line] + good_rows[2:4])
    status, _, err = run(binary, "validate", "--scan", path, "--labels", labels, "--out",
                         os.path.join(work, "out"), "--no-html")
    check(status == 1 and f"{path}:3" in err and expected in err,
          f"validate, {name}: exit {status}, names {os.path.basename(path)}:3, says '{expected}'")
    status, _, err = run(binary, "drift", "--reference", good, "--current", path, "--out",
                         os.path.join(work, "out"), "--no-html")
    check(status == 2 and f"{path}:3" in err, f"drift, {name}: exit {status}, names the line")

empty = write_jsonl(os.path.join(work, "empty.jsonl"), [])
status, _, err = run(binary, "validate", "--scan", empty, "--labels", labels, "--out", work)
check(status == 1 and "no predictions" in err, f"validate, empty scan: exit {status}")
status, _, err = run(binary, "drift", "--reference", empty, "--current", good, "--out", work)
check(status == 2 and "expected predictions in both scans" in err, f"drift, empty scan: exit {status}")
errors_only = write_jsonl(os.path.join(work, "errors_only.jsonl"), ['{"path": "a", "error": "x"}'])
status, _, err = run(binary, "validate", "--scan", errors_only, "--labels", labels, "--out", work)
check(status == 1 and "1 error lines skipped" in err, "validate, only error lines: counted")
status, _, err = run(binary, "drift", "--reference", work, "--current", good, "--out", work)
check(status == 2 and "is it a scan directory" in err, "drift, a directory that is no scan: exit 2")

bad_labels = {
    "unknown label": (f"{good_rows[0]['path']},3\n{good_rows[1]['path']},zebra\n",
                      ":2: label 'zebra': expected a class index or a class name"),
    "wrong field count": (f"{good_rows[0]['path']},3,x\n{good_rows[1]['path']},4\n",
                          ":2: expected 3 fields like the first row, got 2"),
    "one column": (f"{good_rows[0]['path']}\n", ":1: expected path,label"),
    "open quote": (f"{good_rows[0]['path']},3\n\"{good_rows[1]['path']},4\n",
                   ":2: a quoted field is not closed"),
    "labelled twice": (f"{good_rows[0]['path']},3\n{good_rows[0]['path']},4\n",
                       "labelled already"),
    "no rows": ("", "no label rows"),
    "nothing matches": ("elsewhere/a.jpg,1\nelsewhere/b.jpg,2\n", "no record has a label"),
}
for name, (text, expected) in bad_labels.items():
    path = os.path.join(work, name.replace(" ", "_") + ".csv")
    open(path, "w").write(text)
    status, _, err = run(binary, "validate", "--scan", good, "--labels", path, "--out",
                         os.path.join(work, "out"), "--no-html")
    check(status == 1 and path in err and expected in err,
          f"labels, {name}: exit {status}, says '{expected}'")
status, _, err = run(binary, "validate", "--scan", good, "--labels", labels, "--labels-from-folders",
                     "--out", work)
check(status == 2 and "exactly one of" in err, "validate, both label sources: exit 2")
status, _, err = run(binary, "validate", "--scan", good, "--labels",
                     os.path.join(work, "absent.csv"), "--out", work)
check(status == 1 and "absent.csv" in err, "validate, a missing label file: exit 1, named")

# Folder names that are no class: the record is named.
odd = write_jsonl(os.path.join(work, "odd.jsonl"),
                  [dict(good_rows[0], path="/data/not_a_class/x.jpg")])
status, _, err = run(binary, "validate", "--scan", odd, "--labels-from-folders", "--out", work)
check(status == 1 and "odd.jsonl:1: folder 'not_a_class'" in err, "folders, unknown folder: named")

# A renderer that cannot run: the JSON stands, the failure is said, the status is the report's.
out = os.path.join(work, "no_renderer")
status, _, err = run(binary, "validate", "--scan", good, "--labels", labels, "--out", out,
                     env={"FOVEA_PYTHON": "/nonexistent/python3"})
check(status == 0 and os.path.exists(os.path.join(out, "validate.json")) and
      "the HTML page was not written" in err, "no Python: JSON written, failure said, exit 0")
status, _, err = run(binary, "validate", "--scan", good, "--labels", labels, "--out", out,
                     env={"FOVEA_REPORT_RENDERER": os.path.join(work, "absent.py")})
check(status == 0 and "renderer" in err and "missing" in err, "no renderer script: said")
check.close("test_report_hostile")
