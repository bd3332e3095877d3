#!/usr/bin/python3
"""End to end: a torchvision CNN (random init, seeded) exported by torch.onnx.export, imported
with weights_tools/import_onnx.py, run by onnx_run, and compared with torch's logits.

    run_torch_cnn.py --runner build/tests/onnx/onnx_run --model resnet18 --size 64 --work DIR

Passes when max |fovea - torch| / max |torch| <= 1e-4. Batch-norm statistics are randomized
first so that a skipped or miswired batch norm shows. Exit status 77 (CTest's skip) without
torch and torchvision.
"""

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "weights_tools"))

TOLERANCE = 1e-4


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runner", required=True)
    parser.add_argument("--model", default="resnet18")
    parser.add_argument("--size", type=int, default=64, help="input height and width")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--opset", type=int, default=13)
    parser.add_argument("--work", required=True)
    args = parser.parse_args()
    try:
        import numpy as np
        import torch
        import torchvision
    except ImportError as e:
        print(f"SKIPPED: {sys.executable} cannot import torch, torchvision and numpy ({e})")
        return 77
    from export_torchvision import randomize_batchnorm
    from import_onnx import import_file

    os.makedirs(args.work, exist_ok=True)
    torch.manual_seed(0)
    model = getattr(torchvision.models, args.model)(weights=None, num_classes=10)
    randomize_batchnorm(model)
    model.eval()
    x = torch.randn(args.batch, 3, args.size, args.size)
    with torch.no_grad():
        want = model(x).numpy().astype(np.float64)

    stem = os.path.join(args.work, f"{args.model}_{args.size}")
    torch.onnx.export(
        model, x, stem + ".onnx", opset_version=args.opset, input_names=["image"],
        output_names=["logits"], dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
    )
    import_file(stem + ".onnx", stem + ".safetensors")
    np.save(stem + "_input.npy", x.numpy())
    out_dir = stem + "_out"
    os.makedirs(out_dir, exist_ok=True)
    proc = subprocess.run(
        [args.runner, stem + ".safetensors", out_dir, stem + "_input.npy"],
        capture_output=True, text=True,
    )
    if proc.returncode != 0:
        print(proc.stderr)
        print(f"FAILED: onnx_run exited with {proc.returncode}")
        return 1
    got = np.load(os.path.join(out_dir, "output_0.npy")).astype(np.float64)
    if got.shape != want.shape:
        print(f"FAILED: logits shape {got.shape}, torch gives {want.shape}")
        return 1
    rel = float(np.max(np.abs(got - want)) / np.max(np.abs(want)))
    print(f"{args.model} {args.batch}x3x{args.size}x{args.size} opset {args.opset}: "
          f"max relative error {rel:.3g} (tolerance {TOLERANCE})")
    return 0 if rel <= TOLERANCE else 1


if __name__ == "__main__":
    sys.exit(main())
