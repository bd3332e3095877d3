"""The HTML pages of fovea_report render in headless Chromium into something that is not blank:
a screenshot of each page has many distinct colours and is not all white. Exit 77 (skipped)
when chromium is absent.

    test_report_html.py FOVEA_REPORT WORK_DIR
"""
import os
import shutil
import subprocess
import sys

import matplotlib.image
import numpy as np

from report_harness import Check, records, run, synthetic, write_jsonl

binary, work = sys.argv[1:3]
chromium = shutil.which("chromium") or shutil.which("chromium-browser")
if chromium is None:
    print("test_report_html: chromium is not installed, skipped")
    raise SystemExit(77)
check = Check()
rng = np.random.default_rng(5)
y, probs, sites = synthetic(rng, 600, 40, slices={"site": (["a", "b"], [0.0, 0.8])})
rows = records(probs, 5, labels=y)
scan = write_jsonl(os.path.join(work, "scan.jsonl"), rows)
labels = os.path.join(work, "labels.csv")
with open(labels, "w") as f:
    f.write("path,label,site\n")
    f.writelines(f"{r['path']},{y[i]},{sites['site'][i]}\n" for i, r in enumerate(rows))
_, other, _ = synthetic(rng, 600, 40, noise=2.0)
current = write_jsonl(os.path.join(work, "current.jsonl"), records(other, 5))

pages = []
status, _, err = run(binary, "validate", "--scan", scan, "--labels", labels, "--out",
                     os.path.join(work, "validate"))
check(status == 0 and "validate.html" in err, f"validate writes its page (exit {status})")
pages.append(os.path.join(work, "validate", "validate.html"))
status, _, err = run(binary, "drift", "--reference", scan, "--current", current, "--out",
                     os.path.join(work, "drift"))
check(status == 1 and "drift.html" in err, f"drift writes its page (exit {status})")
pages.append(os.path.join(work, "drift", "drift.html"))

for page in pages:
    text = open(page, encoding="utf-8").read()
    check("data:image/png;base64," in text and "http" not in text.replace("http-equiv", ""),
          f"{os.path.basename(page)}: charts inlined, nothing fetched")
    shot = page + ".png"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    f"--screenshot={shot}", "--window-size=1200,2000", "file://" + page],
                   capture_output=True, timeout=120, cwd=work)
    if not os.path.exists(shot):
        check(False, f"{os.path.basename(page)}: chromium wrote a screenshot")
        continue
    pixels = matplotlib.image.imread(shot)[:, :, :3]
    colours = len(np.unique((pixels * 255).astype(np.uint8).reshape(-1, 3), axis=0))
    white = np.mean(pixels.min(axis=2) > 0.98)
    check(colours > 50 and white < 0.97,
          f"{os.path.basename(page)}: screenshot has {colours} colours, {white:.0%} white")
check.close("test_report_html")
