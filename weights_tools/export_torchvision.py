#!/usr/bin/python3
"""Exports a torchvision classifier's weights to a fovea safetensors file.

    export_torchvision.py --model resnet18 --random-init --seed 1 --out r18.safetensors
    export_torchvision.py --model resnet50 --checkpoint resnet50-0676ba61.pth --out r50.safetensors

Every state_dict tensor is written as F32 under its torchvision name (num_batches_tracked is
dropped), with metadata: architecture, num_classes, preprocessing (a JSON string),
format_version "1" and source "torchvision <version>". See README.md.

There is no internet here, so pretrained weights cannot be downloaded: pass a local --checkpoint,
or --random-init for a reproducible random network.
"""

import argparse
import json
import os
import pickle
import sys

import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import save_file  # noqa: E402
from torchvision_models import (  # noqa: E402
    ARCHITECTURES,
    build_model,
    check_architecture,
    classifier_weight_key,
    preprocessing_for,
)

FORMAT_VERSION = "1"


def randomize_batchnorm(model):
    """Gives every batch norm non-trivial statistics and affine terms, with activations that
    stay at unit scale through the whole network.

    A fresh BatchNorm is the identity in eval mode (mean 0, var 1, weight 1, bias 0), and
    torchvision zero-initialises some of them, so a parity test would not notice a batch norm
    that is skipped or wired wrongly. Random statistics alone are no better: in MobileNetV2 and
    EfficientNet the activations then shrink to ~1e-12 by the head, the logits are just the
    classifier's bias and every input gives the same answer. So the affine terms are drawn at
    random, and the running statistics are measured on a random batch (train-mode batch norms,
    everything else in eval mode), then the classifier is redrawn at a scale that makes the
    logits depend on the image. Draws come from torch's global RNG, after the model's.
    """
    norms = [m for m in model.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    with torch.no_grad():
        for norm in norms:
            norm.weight.uniform_(0.5, 1.5)
            norm.bias.normal_(0.0, 0.1)
            norm.reset_running_stats()
            norm.momentum = None  # cumulative average: running stats = this batch's stats
        model.eval()
        for norm in norms:
            norm.train()
        model(torch.randn(4, 3, 112, 112))
        model.eval()
        for norm in norms:
            norm.momentum = 0.1
        classifier = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
        classifier.weight.normal_(0.0, classifier.in_features ** -0.5)


def read_checkpoint(path, trust):
    """The state_dict inside a .pth file: a bare state_dict or a dict with 'state_dict'/'model'."""
    if not os.path.isfile(path):
        raise SystemExit(f"error: checkpoint '{path}' does not exist")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=not trust)
    except pickle.UnpicklingError as e:
        raise SystemExit(
            f"error: checkpoint '{path}' holds Python objects besides tensors ({e}).\n"
            "Re-save only the weights (torch.save(model.state_dict(), path)), or pass "
            "--trust-checkpoint to unpickle it in full (only for files you trust)."
        ) from None
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
            break
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise SystemExit(
            f"error: checkpoint '{path}' is not a state_dict (a dict of tensors), nor a dict "
            "holding one under 'state_dict' or 'model'"
        )
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in obj.items()}


def load_checkpoint_into(model, state, path):
    result = model.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    problems = []
    if missing:
        problems.append(f"missing {len(missing)} tensors, e.g. {missing[:5]}")
    if result.unexpected_keys:
        problems.append(
            f"{len(result.unexpected_keys)} unexpected tensors, e.g. {result.unexpected_keys[:5]}"
        )
    if problems:
        raise SystemExit(
            f"error: checkpoint '{path}' does not fit the model: " + "; ".join(problems)
        )


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="one of: " + ", ".join(ARCHITECTURES))
    parser.add_argument("--out", required=True, help="the .safetensors file to write")
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--checkpoint", help="a local .pth state_dict to export")
    source.add_argument("--random-init", action="store_true",
                        help="export a seeded random network (batch norms randomized too)")
    parser.add_argument("--seed", type=int, default=0, help="seed for --random-init (default 0)")
    parser.add_argument("--num-classes", type=int,
                        help="classifier outputs (default: 1000, or read from --checkpoint)")
    parser.add_argument("--resize", type=int, help="override the preprocessing resize size")
    parser.add_argument("--crop", type=int, help="override the preprocessing crop size")
    parser.add_argument("--trust-checkpoint", action="store_true",
                        help="unpickle --checkpoint in full, not only its tensors")
    args = parser.parse_args(argv)
    if not args.checkpoint and not args.random_init:
        parser.error(
            "pretrained weights cannot be downloaded here (no internet). Pass --checkpoint "
            "PATH with a local .pth state_dict, or --random-init [--seed S] for random weights."
        )
    if args.num_classes is not None and args.num_classes < 1:
        parser.error(f"--num-classes must be positive, got {args.num_classes}")
    return args


def main(argv=None):
    args = parse_args(argv)
    check_architecture(args.model)
    if args.checkpoint:
        state = read_checkpoint(args.checkpoint, args.trust_checkpoint)
        num_classes = args.num_classes
        if num_classes is None:
            key = classifier_weight_key(build_model(args.model, 1000))
            if key not in state:
                raise SystemExit(f"error: checkpoint '{args.checkpoint}' has no '{key}' tensor")
            num_classes = int(state[key].shape[0])
        model = build_model(args.model, num_classes)
        load_checkpoint_into(model, state, args.checkpoint)
        origin = f"checkpoint {os.path.basename(args.checkpoint)}"
    else:
        num_classes = 1000 if args.num_classes is None else args.num_classes
        torch.manual_seed(args.seed)
        model = build_model(args.model, num_classes)
        randomize_batchnorm(model)
        origin = f"random init, seed {args.seed}"

    preprocessing = preprocessing_for(args.model)
    if args.resize is not None:
        preprocessing["resize"] = args.resize
    if args.crop is not None:
        preprocessing["crop"] = args.crop
    tensors = {
        name: t.detach().float()
        for name, t in model.state_dict().items()
        if not name.endswith("num_batches_tracked")
    }
    metadata = {
        "architecture": args.model,
        "num_classes": str(num_classes),
        "preprocessing": json.dumps(preprocessing),
        "format_version": FORMAT_VERSION,
        "source": f"torchvision {torchvision.__version__}",
    }
    out_dir = os.path.dirname(os.path.abspath(args.out))
    os.makedirs(out_dir, exist_ok=True)
    save_file(tensors, args.out, metadata)
    size_mb = os.path.getsize(args.out) / 1e6
    print(f"wrote {args.out}: {args.model} ({origin}), {num_classes} classes, "
          f"{len(tensors)} tensors, {size_mb:.1f} MB")


if __name__ == "__main__":
    main()
