#!/usr/bin/env python3
"""The Kubernetes Indexed Job and the Slurm array script of docs/deploy run a scan as they say:
each pod's container command (from the manifest, paths mapped to this machine) with
JOB_COMPLETION_INDEX set, and the Slurm script with the array's variables set, once per shard;
the shards' records together equal a single-shard scan of the same images.

    test_scan_deploy.py FOVEA_SCAN TEST_CLASSIFIER_MODEL DEPLOY_DIR WORK_DIR VAL_DIR
"""
import json
import os
import shutil
import subprocess
import sys

import yaml
from scan_harness import check, finish, skip_unless

scan_bin, make_model, deploy, work, val_dir = sys.argv[1:6]
skip_unless(os.path.isdir(val_dir), f"no photos at {val_dir}")
shutil.rmtree(work, ignore_errors=True)
images = os.path.join(work, "images")
os.makedirs(images)
for name in sorted(f for f in os.listdir(val_dir) if f.endswith(".JPEG"))[:40]:
    os.symlink(os.path.join(val_dir, name), os.path.join(images, name))
model = os.path.join(work, "model.safetensors")
subprocess.run([make_model, model, "3"], check=True)


def records(out):
    found = []
    for name in sorted(os.listdir(out)):
        if name.endswith(".jsonl") and not name.startswith("errors"):
            found += [json.loads(line) for line in open(os.path.join(out, name))]
    return sorted(found, key=lambda r: r["path"])


single = os.path.join(work, "single")
subprocess.run([scan_bin, "--model", model, "--out", single, "--threads", "1", "--review", "200",
                images], check=True, capture_output=True)
expected = records(single)

# Kubernetes: the pod template's command, with the volumes' mount paths mapped here.
job = yaml.safe_load(open(os.path.join(deploy, "scan-indexed-job.yaml")))
spec = job["spec"]
container = spec["template"]["spec"]["containers"][0]
check(spec["completionMode"] == "Indexed", "the Job is Indexed")
mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
k8s_out = os.path.join(work, "k8s")
mapped = {"/images": images, "/models": os.path.dirname(model), "/scans": k8s_out}


def map_path(arg):
    for mount, here in mapped.items():
        if arg == mount or arg.startswith(mount + "/"):
            return here + arg[len(mount):]
    return arg


args = [map_path(a) for a in container["args"]]
args[args.index("--model") + 1] = model
args[args.index("--threads") + 1] = "1"
count = int(args[args.index("--shard-count") + 1])
check(count == spec["completions"], f"--shard-count equals the Job's completions ({count})")
codes = []
for index in range(spec["completions"]):
    env = {**os.environ, "JOB_COMPLETION_INDEX": str(index)}
    codes.append(subprocess.run([scan_bin, *args], env=env, capture_output=True).returncode)
out_dir = map_path(container["args"][container["args"].index("--out") + 1])
check(codes == [0] * count, f"every pod succeeds ({codes})")
check(records(out_dir) == expected, "the pods' parts together equal a single-shard scan")
check(all(os.path.exists(os.path.join(out_dir, f"_SUCCESS-{i}-of-{count}")) for i in range(count)),
      "every pod leaves its _SUCCESS marker")

# Slurm: the array script as sbatch would run each task.
script = os.path.join(deploy, "scan-array.slurm")
array = next(line.split("=")[1] for line in open(script) if line.startswith("#SBATCH --array="))
first, last = (int(x) for x in array.split("-"))
slurm_out = os.path.join(work, "slurm")
codes = []
for task in range(first, last + 1):
    env = {**os.environ, "FOVEA_SCAN": scan_bin, "SLURM_ARRAY_TASK_ID": str(task),
           "SLURM_ARRAY_TASK_MIN": str(first), "SLURM_ARRAY_TASK_COUNT": str(last - first + 1),
           "SLURM_CPUS_PER_TASK": "1"}
    codes.append(subprocess.run(["bash", script, images, slurm_out, model], env=env,
                                capture_output=True).returncode)
check(codes == [0] * (last - first + 1), f"every array task succeeds ({codes})")
check(records(slurm_out) == expected, "the tasks' parts together equal a single-shard scan")

finish()
