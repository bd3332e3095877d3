#!/usr/bin/env python3
"""Model parity with torchvision: export a randomly initialised torchvision model to a fovea
weights file, run the same NCHW batch through torchvision and through fovea's `classify`, and
require max|logit difference| / max|logit| <= the tolerance.

FOVEA_RUN_PREFIX, when set, is put before the classify command: an emulator such as
"qemu-aarch64 -L /usr/aarch64-linux-gnu" for a cross-built classify (scripts/test.sh --target).

Exit codes: 0 pass, 1 fail, 77 skipped (torch or torchvision missing)."""
import argparse
import os
import pathlib
import shlex
import subprocess
import sys
import tempfile

SKIP = 77


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True)
    parser.add_argument("--classify", required=True, help="path to the classify executable")
    parser.add_argument("--shape", default="2,3,112,144", help="input N,C,H,W (non-square)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--tolerance", type=float, default=1e-4)
    args = parser.parse_args()

    try:
        import numpy as np
        import torch  # noqa: F401  (the export and logits scripts need it)
        import torchvision  # noqa: F401
    except ImportError as e:
        print(f"SKIP: {e}; install python3-torch python3-torchvision")
        return SKIP

    tools = pathlib.Path(__file__).resolve().parents[2] / "weights_tools"
    with tempfile.TemporaryDirectory(prefix=f"parity_{args.model}_") as tmp:
        tmp = pathlib.Path(tmp)
        weights, x_path = tmp / "model.safetensors", tmp / "x.npy"
        want_path, got_path = tmp / "torch_logits.npy", tmp / "fovea_logits.npy"
        shape = tuple(int(d) for d in args.shape.split(","))
        rng = np.random.default_rng(args.seed)
        np.save(x_path, rng.standard_normal(shape).astype(np.float32))

        def run(cmd):
            print("+", " ".join(str(c) for c in cmd), flush=True)
            subprocess.run([str(c) for c in cmd], check=True)

        run([sys.executable, tools / "export_torchvision.py", "--model", args.model,
             "--random-init", "--seed", args.seed, "--out", weights])
        run([sys.executable, tools / "torch_logits.py", "--model", args.model,
             "--weights", weights, "--input", x_path, "--out", want_path])
        prefix = shlex.split(os.environ.get("FOVEA_RUN_PREFIX", ""))
        run(prefix + [args.classify, "--weights", weights, "--input-npy", x_path,
             "--dump-logits", got_path])

        want, got = np.load(want_path).astype(np.float64), np.load(got_path).astype(np.float64)
        if want.shape != got.shape:
            print(f"FAIL {args.model}: logits shape {got.shape}, torchvision gives {want.shape}")
            return 1
        # A network whose logits ignore the image (all bias) would pass any comparison.
        spread = float(np.abs(want[0] - want[-1]).max() / np.abs(want).max())
        if shape[0] > 1 and spread < 1e-2:
            print(f"FAIL {args.model}: torchvision's logits barely depend on the input "
                  f"(relative spread {spread:.1e}); the comparison would prove nothing")
            return 1
        rel = float(np.abs(got - want).max() / np.abs(want).max())
        verdict = "PASS" if rel <= args.tolerance else "FAIL"
        print(f"{verdict} {args.model} input={shape} max_rel_logit_error={rel:.3e} "
              f"(tolerance {args.tolerance:g}, max|logit|={np.abs(want).max():.3f})")
        return 0 if rel <= args.tolerance else 1


if __name__ == "__main__":
    sys.exit(main())
