#!/usr/bin/env python3
"""A mutation fuzzer for import_tfjs.py's readers: model.json, the weightsManifest, the shards.

    fuzz_import_tfjs.py [--seconds N] [--runs N] [--seed S] [--findings DIR]

libFuzzer cannot drive Python, and Debian packages no Python fuzzer, so this one mutates a
small valid TF.js model (the unit tests' fixture) at random: model.json's bytes, its JSON values
(swapped for other types, huge or negative numbers, deleted keys), and the shards (truncated,
extended, swapped). Each mutant goes through what import_tfjs runs: load_model_json,
topology_layers, read_manifest_tensors, convert_layers, and the ResNet-50 checks. The importer
may refuse a mutant only with TfjsImportError; any other exception is a finding, written to
DIR/finding-<n>/ with the traceback (one per distinct exception and line), and the exit status
is 1. Prints executions and the number of distinct refusal messages (a rough measure of the
paths reached).
"""

import argparse
import copy
import json
import os
import random
import shutil
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

try:
    import numpy as np
except ImportError:
    print("SKIP: this python has no numpy (apt-get install python3-numpy)")
    sys.exit(77)

import import_tfjs  # noqa: E402
import tfjs_fixtures as fx  # noqa: E402
from test_import_tfjs import small_model_layers, small_model_weights  # noqa: E402

HOSTILE_VALUES = [None, True, -1, 0, 2**31, 2**63, 10**30, -2**63, 1.5, float("nan"), "", "x",
                  "float32", "int8", [], [-1], [2**40, 2**40], [[1]], {}, {"a": 1}]


def mutate_value(rng, value):
    """A copy of a JSON value with one random change somewhere inside."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(list(value))
        out = dict(value)
        if rng.random() < 0.15:
            del out[key]
        else:
            out[key] = mutate_value(rng, value[key])
        return out
    if isinstance(value, list) and value and rng.random() < 0.8:
        out = list(value)
        i = rng.randrange(len(out))
        choice = rng.random()
        if choice < 0.1:
            del out[i]
        elif choice < 0.2:
            out.append(copy.deepcopy(out[i]))
        else:
            out[i] = mutate_value(rng, out[i])
        return out
    if isinstance(value, int) and not isinstance(value, bool) and rng.random() < 0.5:
        return value + rng.choice([-1, 1, -value, value, 2**32])
    return copy.deepcopy(rng.choice(HOSTILE_VALUES))


def mutate_bytes(rng, data):
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        op = rng.random()
        if not data or op < 0.3:
            data.insert(rng.randint(0, len(data)), rng.randrange(256))
        elif op < 0.6:
            data[rng.randrange(len(data))] = rng.randrange(256)
        elif op < 0.8:
            del data[rng.randrange(len(data)):][:rng.randint(1, 8)]
        else:
            data = data[:rng.randrange(len(data) + 1)]
    return bytes(data)


def run_importer(folder):
    model = import_tfjs.load_model_json(folder)
    layers = import_tfjs.topology_layers(model)
    tensors = import_tfjs.read_manifest_tensors(folder, model)
    import_tfjs.convert_layers(layers, tensors, lambda name: name)
    import_tfjs.check_resnet50_v1_config(layers)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600)
    parser.add_argument("--runs", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--findings", default="build-fuzz/findings/tfjs")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    base = tempfile.mkdtemp(prefix="fuzz_tfjs_")
    pristine = os.path.join(base, "pristine")
    os.makedirs(pristine)
    shards = fx.write_model(pristine, small_model_layers(), small_model_weights(), shard_bytes=200)
    with open(os.path.join(pristine, "model.json"), encoding="utf-8") as f:
        model_json = json.load(f)
    work = os.path.join(base, "work")
    runs = 0
    refusals, findings = set(), {}
    start = time.monotonic()
    while runs < args.runs and time.monotonic() - start < args.seconds:
        runs += 1
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(pristine, work)
        kind = rng.random()
        if kind < 0.5:
            text = json.dumps(mutate_value(rng, model_json))
        elif kind < 0.75:
            text = mutate_bytes(rng, json.dumps(model_json).encode()).decode("utf-8", "replace")
        else:
            text = json.dumps(model_json)
            shard = os.path.join(work, rng.choice(shards))
            with open(shard, "rb") as f:
                data = f.read()
            with open(shard, "wb") as f:
                f.write(mutate_bytes(rng, data))
        with open(os.path.join(work, "model.json"), "w", encoding="utf-8") as f:
            f.write(text)
        try:
            with np.errstate(all="ignore"):
                run_importer(work)
        except import_tfjs.TfjsImportError as e:
            refusals.add(str(e).split(":")[0][:60])
        except Exception as e:  # noqa: BLE001 - any other exception is what we look for
            frame = traceback.extract_tb(e.__traceback__)[-1]
            signature = (type(e).__name__, os.path.basename(frame.filename), frame.lineno)
            if signature in findings:
                continue
            findings[signature] = where = os.path.join(args.findings, f"finding-{len(findings)}")
            shutil.copytree(work, where, dirs_exist_ok=True)
            with open(os.path.join(where, "traceback.txt"), "w", encoding="utf-8") as f:
                f.write(traceback.format_exc())
            print(f"fuzz_import_tfjs: {signature[0]} at {signature[1]}:{signature[2]} ({where}): "
                  f"{e}", file=sys.stderr)
    shutil.rmtree(base, ignore_errors=True)
    elapsed = time.monotonic() - start
    print(f"fuzz_import_tfjs: {runs} runs in {elapsed:.0f} s ({runs / elapsed:.0f}/s), "
          f"{len(refusals)} distinct refusals, {len(findings)} distinct findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
