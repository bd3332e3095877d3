"""fovea_report on real predictions: ResNet-50 (ImageNet weights) on the 1300 photos of
imagenet/val. (a) validate's top-1 with labels.txt equals an independent count of
resnet50_infer's top-1 against labels.txt; (b) drift's false-alarm rate over 100 random splits
into two disjoint halves, and its detection rate when the photos of 25, 50, 100 or 200 classes
are dropped from one half (20 random draws each). Prints the rates.

    test_report_real_val.py FOVEA_REPORT RESNET50_INFER IMAGENET_DIR CACHE_DIR WORK_DIR

The predictions (resnet50_infer --json --topk 5, a minute or two) are cached in
CACHE_DIR/val_top5.jsonl; $FOVEA_RESNET50_INFER names another resnet50_infer. Exit 77 (skipped)
without the weights.
"""
import json
import os
import random
import subprocess
import sys
import time

from report_harness import Check, run

binary, infer, imagenet, cache, work = sys.argv[1:6]
infer = os.environ.get("FOVEA_RESNET50_INFER", infer)
val = os.path.join(imagenet, "val")
predictions = os.path.join(cache, "val_top5.jsonl")
os.makedirs(work, exist_ok=True)
if not os.path.exists(predictions):
    weights = os.path.join(os.environ.get("FOVEA_CACHE", os.path.expanduser("~/.cache/fovea")),
                           "resnet50_v1.safetensors")
    if not os.path.exists(weights) or not os.access(infer, os.X_OK):
        print(f"test_report_real_val: needs {weights} and {infer}; skipped")
        raise SystemExit(77)
    os.makedirs(cache, exist_ok=True)
    photos = sorted(os.path.join(val, f) for f in os.listdir(val) if f.endswith(".JPEG"))
    with open(predictions + ".tmp", "w") as out:
        subprocess.run([infer, "--json", "--topk", "5", *photos], stdout=out, check=True)
    os.replace(predictions + ".tmp", predictions)

check = Check()
lines = [line for line in open(predictions) if line.strip()]
truth = {}
for line in open(os.path.join(val, "labels.txt")):
    name, label = line.split(",")
    truth[name.strip()] = int(label)
check(len(lines) == 1300, f"{len(lines)} predictions cached (1300 expected)")

# (a) top-1, counted here from the raw lines.
correct = sum(json.loads(l)["topk"][0]["index"] == truth[os.path.basename(json.loads(l)["file"])]
              for l in lines)
status, out, err = run(binary, "validate", "--scan", predictions, "--labels",
                       os.path.join(val, "labels.txt"), "--class-names",
                       os.path.join(imagenet, "synset_words.txt"), "--out",
                       os.path.join(work, "validate"))
report = json.load(open(os.path.join(work, "validate", "validate.json")))
top1 = report["summary"]["top1_accuracy"]
check(status == 0 and report["matching"]["labelled_records"] == 1300 and
      abs(top1 - correct / 1300) < 1e-12,
      f"validate: top-1 {top1:.4f} = {correct}/1300 counted directly; top-5 "
      f"{report['summary']['top5_accuracy']:.4f}, macro AUC {report['summary']['macro_auc']:.4f}, "
      f"ECE {report['summary']['ece']:.4f}")
print(out.strip())


def drift_once(reference, current, name):
    a = os.path.join(work, name + "_a.jsonl")
    b = os.path.join(work, name + "_b.jsonl")
    open(a, "w").writelines(reference)
    open(b, "w").writelines(current)
    status, _, err = run(binary, "drift", "--reference", a, "--current", b, "--out",
                         os.path.join(work, name), "--no-html")
    assert status in (0, 1), err
    return status == 1


# (b) false alarms: 100 random splits into two disjoint halves of 650.
rng = random.Random(2024)
start = time.time()
alarms = 0
for split in range(100):
    order = lines[:]
    rng.shuffle(order)
    alarms += drift_once(order[:650], order[650:], "split")
rate = alarms / 100
print(f"drift false-alarm rate: {alarms}/100 = {rate:.2f} (nominal 0.01), {time.time() - start:.1f} s")
check(rate <= 0.05, f"false-alarm rate {rate:.2f} <= 0.05")

# Detection: a half loses the photos of K classes (by true label).
classes = sorted(set(truth.values()))
rates = {}
for dropped in (25, 50, 100, 200):
    detected = 0
    for draw in range(20):
        order = lines[:]
        rng.shuffle(order)
        gone = set(rng.sample(classes, dropped))
        current = [l for l in order[650:]
                   if truth[os.path.basename(json.loads(l)["file"])] not in gone]
        detected += drift_once(order[:650], current, "dropped")
    rates[dropped] = detected / 20
    print(f"drift detection, {dropped} classes dropped from one half: {detected}/20 = "
          f"{rates[dropped]:.2f}")
check(rates[200] >= rates[25], f"detection grows with the classes dropped: {rates}")
check.close("test_report_real_val")
