#!/usr/bin/python3
"""Writes one random-init torchvision model three ways, with the same weights, for compare.sh:

    export_models.py --model resnet50 --out-dir DIR --batches 1,8

  DIR/resnet50.safetensors     fovea (weights_tools/export_torchvision.py's format)
  DIR/resnet50.pt              the torch state_dict, for torch_bench.py
  DIR/resnet50_b1.onnx, …      torch.onnx.export at opset 13, one file per fixed batch size

Batch norms are randomized as export_torchvision.py does, so no engine can skip one and
activations stay at unit scale (no denormals in any engine).
"""

import argparse
import json
import os
import sys

import torch
import torchvision

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "weights_tools"))
from export_torchvision import FORMAT_VERSION, randomize_batchnorm  # noqa: E402
from safetensors_io import save_file  # noqa: E402
from torchvision_models import build_model, preprocessing_for  # noqa: E402

OPSET = 13


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--batches", default="1,8", help="comma-separated fixed ONNX batch sizes")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    os.makedirs(args.out_dir, exist_ok=True)
    torch.manual_seed(args.seed)
    model = build_model(args.model, 1000)
    randomize_batchnorm(model)
    model.eval()
    stem = os.path.join(args.out_dir, args.model)

    state = {k: v for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    metadata = {
        "architecture": args.model,
        "num_classes": "1000",
        "preprocessing": json.dumps(preprocessing_for(args.model)),
        "format_version": FORMAT_VERSION,
        "source": f"torchvision {torchvision.__version__}",
    }
    save_file({k: v.detach().float() for k, v in state.items()}, stem + ".safetensors", metadata)
    torch.save(model.state_dict(), stem + ".pt")
    for batch in (int(b) for b in args.batches.split(",")):
        x = torch.randn(batch, 3, args.size, args.size)
        torch.onnx.export(model, x, f"{stem}_b{batch}.onnx", opset_version=OPSET,
                          input_names=["image"], output_names=["logits"])
    print(f"wrote {stem}.safetensors, {stem}.pt and ONNX files for batches {args.batches}")


if __name__ == "__main__":
    main()
