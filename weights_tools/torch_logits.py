#!/usr/bin/python3
"""Runs the torchvision model on weights from a fovea safetensors file and saves its logits.

    torch_logits.py --weights r18.safetensors --input x.npy --out logits.npy

The input is the network's input, already preprocessed: (N, 3, H, W) or (3, H, W) float, NCHW.
The output is (N, num_classes) float32 logits (or float64 with --dtype float64), from eval mode.
The model is rebuilt from the file's "architecture" and "num_classes" metadata; --model, if
given, must agree with it. This is the oracle the model-level parity tests compare fovea with.
"""

import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import SafetensorsError, load_file  # noqa: E402
from torchvision_models import ARCHITECTURES, build_model  # noqa: E402


def load_model(weights_path, model_name=None):
    """The eval-mode torchvision model whose weights fovea's file holds."""
    try:
        tensors, metadata = load_file(weights_path)
    except (OSError, SafetensorsError) as e:
        raise SystemExit(f"error: cannot read weights '{weights_path}': {e}") from None
    architecture = metadata.get("architecture")
    if architecture is None:
        raise SystemExit(f"error: '{weights_path}' has no 'architecture' metadata")
    if model_name is not None and model_name != architecture:
        raise SystemExit(
            f"error: --model {model_name} but '{weights_path}' holds a {architecture}"
        )
    try:
        num_classes = int(metadata.get("num_classes", "1000"))
    except ValueError:
        raise SystemExit(f"error: '{weights_path}' has num_classes "
                         f"'{metadata['num_classes']}', not an integer") from None

    model = build_model(architecture, num_classes)
    state = {name: torch.from_numpy(array) for name, array in tensors.items()}
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise SystemExit(
            f"error: '{weights_path}' does not fit torchvision's {architecture}: "
            f"missing {missing[:5]}, unexpected {result.unexpected_keys[:5]}"
        )
    return model.eval()


def main(argv=None):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--weights", required=True, help="a file written by export_torchvision.py")
    parser.add_argument("--input", required=True, help=".npy input, (N, 3, H, W) or (3, H, W)")
    parser.add_argument("--out", required=True, help=".npy file for the (N, classes) logits")
    parser.add_argument("--model", choices=ARCHITECTURES,
                        help="expected architecture (default: the file's metadata)")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32",
                        help="precision torch computes in (default float32)")
    args = parser.parse_args(argv)

    try:
        x = np.load(args.input, allow_pickle=False)
    except (OSError, ValueError) as e:
        raise SystemExit(f"error: cannot read input '{args.input}': {e}") from None
    if x.ndim == 3:
        x = x[np.newaxis]
    if x.ndim != 4 or x.shape[1] != 3 or not np.issubdtype(x.dtype, np.floating):
        raise SystemExit(
            f"error: input '{args.input}' must be a float (N, 3, H, W) or (3, H, W) array, "
            f"got {x.dtype} {x.shape}"
        )

    dtype = getattr(torch, args.dtype)
    model = load_model(args.weights, args.model).to(dtype)
    with torch.no_grad():
        logits = model(torch.from_numpy(np.ascontiguousarray(x)).to(dtype))
    logits = logits.numpy()
    np.save(args.out, logits)
    top = np.argsort(-logits, axis=1)[:, :5]
    print(f"wrote {args.out}: logits {logits.shape} {logits.dtype}; top-5 of image 0: "
          f"{top[0].tolist()}")


if __name__ == "__main__":
    main()
