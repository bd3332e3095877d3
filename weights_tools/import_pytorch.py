#!/usr/bin/python3
"""Converts a PyTorch checkpoint of a model fovea knows into a fovea safetensors file.

    import_pytorch.py --checkpoint resnet20-12fca82f.th --arch resnet20_cifar --out r20.safetensors
    import_pytorch.py --checkpoint resnet50.pth --arch resnet50 --out r50.safetensors

--arch is one of the CIFAR-10 ResNets of akamaster/pytorch_resnet_cifar10 (resnet20_cifar,
resnet32_cifar, resnet44_cifar, resnet56_cifar, resnet110_cifar) or a torchvision classifier
(resnet18, mobilenet_v2, ...; the same list as export_torchvision.py).

The checkpoint is a state_dict, or a dict holding one under "state_dict" or "model" (other
entries such as "best_prec1" or "epoch" are ignored); "module." prefixes (DataParallel) are
stripped. Every tensor name and shape is checked against the architecture's state_dict, built in
torch (cifar_resnet_torch.py, or torchvision), and every problem is listed before anything is
written. The file gets the metadata architecture, num_classes, preprocessing, format_version and
source.

Unpickling can run arbitrary code, so the checkpoint is read with an unpickler that only builds
tensors, storages, dicts and plain values (--trust-checkpoint lifts that, for files you trust).
torch 1.13's own torch.load(weights_only=True) cannot be used: it rejects the float
"best_prec1" that akamaster's checkpoints hold ("Unsupported operand 71").
"""

import argparse
import json
import os
import pickle
import sys
import types
import zipfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cifar_resnet_torch  # noqa: E402
import torchvision_models  # noqa: E402
from safetensors_io import save_file  # noqa: E402

FORMAT_VERSION = "1"
MAX_PROBLEMS_SHOWN = 20

# akamaster's training transform: ToTensor, then ImageNet's mean and std on the 32x32 image.
CIFAR_PREPROCESSING = {
    "resize": 0,
    "crop": 0,
    "mean": [0.485, 0.456, 0.406],
    "std": [0.229, 0.224, 0.225],
    "scale": 1 / 255,
    "channel_order": "RGB",
    "interpolation": "bilinear",
}
PREPROCESSING_KEYS = set(CIFAR_PREPROCESSING)


class CheckpointError(Exception):
    """A checkpoint or an argument the import cannot use; the message says why."""


class TensorOnlyUnpickler(pickle.Unpickler):
    """An unpickler that refuses every global except what a state_dict is made of."""

    ALLOWED = {
        ("collections", "OrderedDict"),
        ("torch._utils", "_rebuild_tensor"),  # torch < 0.4, e.g. akamaster's files
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch._utils", "_rebuild_parameter"),
        ("torch", "Size"),
        ("torch", "device"),
    }

    def find_class(self, module, name):
        is_storage = module == "torch" and name.endswith("Storage")
        if (module, name) in self.ALLOWED or is_storage:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(
            f"the checkpoint refers to {module}.{name}, which is not part of a state_dict"
        )


# The pickle module torch's readers use: TensorOnlyUnpickler for every pickle in the file.
TENSOR_ONLY_PICKLE = types.SimpleNamespace(
    __name__="tensor_only_pickle",
    Unpickler=TensorOnlyUnpickler,
    load=lambda f, **kwargs: TensorOnlyUnpickler(f, **kwargs).load(),
)


def load_tensors_only(path):
    """torch.load(path) through TensorOnlyUnpickler.

    torch.load(pickle_module=...) would be the public way, but Debian's torch 1.13 replaces any
    pickle_module by pickle unless weights_only is set, so this calls the two readers torch.load
    dispatches to (the zip format of torch >= 1.6 and the legacy one) itself.
    """
    serialization = torch.serialization
    with open(path, "rb") as f:
        is_zip = f.read(4) == b"PK\x03\x04"
        f.seek(0)
        if is_zip:
            with serialization._open_zipfile_reader(f) as archive:
                return serialization._load(archive, "cpu", TENSOR_ONLY_PICKLE, encoding="utf-8")
        return serialization._legacy_load(f, "cpu", TENSOR_ONLY_PICKLE, encoding="utf-8")


def all_architectures():
    return list(cifar_resnet_torch.ARCHITECTURES) + list(torchvision_models.ARCHITECTURES)


def build_torch_model(arch, num_classes):
    if arch in cifar_resnet_torch.ARCHITECTURES:
        return cifar_resnet_torch.build_model(arch, num_classes)
    return torchvision_models.build_model(arch, num_classes)


def default_preprocessing(arch):
    if arch in cifar_resnet_torch.ARCHITECTURES:
        return dict(CIFAR_PREPROCESSING)
    return torchvision_models.preprocessing_for(arch)


def read_state_dict(path, trust):
    """The checkpoint's tensors by name, with "module." prefixes stripped."""
    if not os.path.isfile(path):
        raise CheckpointError(f"checkpoint '{path}' does not exist")
    if os.path.getsize(path) == 0:
        raise CheckpointError(f"checkpoint '{path}' is empty (0 bytes)")
    try:
        if trust:
            obj = torch.load(path, map_location="cpu")
        else:
            obj = load_tensors_only(path)
    except pickle.UnpicklingError as e:
        if "not part of a state_dict" in str(e):
            raise CheckpointError(
                f"checkpoint '{path}': {e}. Re-save only the weights "
                "(torch.save(model.state_dict(), path)), or pass --trust-checkpoint to "
                "unpickle it in full (this runs code from the file: only for files you trust)"
            ) from None
        raise CheckpointError(f"checkpoint '{path}' is corrupt or truncated: {e}") from None
    except (EOFError, RuntimeError, zipfile.BadZipFile, ValueError, OSError) as e:
        reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise CheckpointError(
            f"checkpoint '{path}' is corrupt or truncated (torch.load: {reason})"
        ) from None
    if isinstance(obj, torch.nn.Module):
        obj = obj.state_dict()
    if isinstance(obj, dict):
        for key in ("state_dict", "model"):
            if isinstance(obj.get(key), dict):
                obj = obj[key]
                break
    if not isinstance(obj, dict) or not obj:
        raise CheckpointError(
            f"checkpoint '{path}' is not a state_dict (a dict of tensors), nor a dict holding "
            "one under 'state_dict' or 'model'"
        )
    non_tensors = [k for k, v in obj.items() if not isinstance(v, torch.Tensor)]
    if non_tensors:
        raise CheckpointError(
            f"checkpoint '{path}': the state_dict has {len(non_tensors)} entries that are not "
            f"tensors, e.g. {non_tensors[:3]}"
        )
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in obj.items()}


def check_against(expected, state):
    """Every difference between the checkpoint and the architecture's state_dict, as lines."""
    problems = []
    for name, ref in expected.items():
        if name not in state:
            problems.append(f"missing: {name} {list(ref.shape)}")
            continue
        got = state[name]
        if tuple(got.shape) != tuple(ref.shape):
            problems.append(f"{name}: expected shape {list(ref.shape)}, got {list(got.shape)}")
        elif not got.is_floating_point():
            problems.append(f"{name}: expected a floating-point tensor, got {got.dtype}")
    for name in state:
        if name not in expected and not name.endswith("num_batches_tracked"):
            problems.append(f"unexpected: {name} {list(state[name].shape)}")
    return problems


def parse_preprocessing(text):
    try:
        pre = json.loads(text)
    except json.JSONDecodeError as e:
        raise CheckpointError(f"--preprocessing is not valid JSON: {e}") from None
    if not isinstance(pre, dict):
        raise CheckpointError(f"--preprocessing must be a JSON object, got {type(pre).__name__}")
    if set(pre) != PREPROCESSING_KEYS:
        raise CheckpointError(
            f"--preprocessing must have exactly the keys {sorted(PREPROCESSING_KEYS)}; "
            f"missing {sorted(PREPROCESSING_KEYS - set(pre))}, "
            f"unknown {sorted(set(pre) - PREPROCESSING_KEYS)}"
        )
    for key in ("resize", "crop"):
        if not isinstance(pre[key], int) or isinstance(pre[key], bool) or pre[key] < 0:
            raise CheckpointError(f"--preprocessing \"{key}\" must be an integer >= 0 (0: skip)")
    for key in ("mean", "std"):
        values = pre[key]
        if not (isinstance(values, list) and len(values) == 3
                and all(isinstance(v, (int, float)) for v in values)):
            raise CheckpointError(f"--preprocessing \"{key}\" must be a list of 3 numbers")
    return pre


def parse_args(argv):
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--checkpoint", required=True, help="a .pth/.th file")
    parser.add_argument("--arch", required=True, help="one of: " + ", ".join(all_architectures()))
    parser.add_argument("--out", required=True, help="the .safetensors file to write")
    parser.add_argument("--num-classes", type=int,
                        help="classifier outputs (default: read from the checkpoint)")
    parser.add_argument("--preprocessing",
                        help="the preprocessing recipe as JSON, with all seven keys (default: "
                             "the architecture's; see docs/image_pipeline.md)")
    parser.add_argument("--trust-checkpoint", action="store_true",
                        help="unpickle the checkpoint in full, not only its tensors")
    args = parser.parse_args(argv)
    if args.arch not in all_architectures():
        parser.error(f"unknown --arch '{args.arch}'. Known: {', '.join(all_architectures())}")
    if args.num_classes is not None and args.num_classes < 1:
        parser.error(f"--num-classes must be positive, got {args.num_classes}")
    return args


def convert(args):
    preprocessing = (parse_preprocessing(args.preprocessing) if args.preprocessing
                     else default_preprocessing(args.arch))
    state = read_state_dict(args.checkpoint, args.trust_checkpoint)
    num_classes = args.num_classes
    if num_classes is None:
        key = torchvision_models.classifier_weight_key(build_torch_model(args.arch, 10))
        if key not in state or state[key].dim() != 2:
            raise CheckpointError(
                f"checkpoint '{args.checkpoint}' has no 2-D '{key}' tensor to read the number "
                "of classes from; pass --num-classes"
            )
        num_classes = int(state[key].shape[0])
    expected = {
        name: t for name, t in build_torch_model(args.arch, num_classes).state_dict().items()
        if not name.endswith("num_batches_tracked")
    }
    problems = check_against(expected, state)
    if problems:
        shown = problems[:MAX_PROBLEMS_SHOWN]
        more = len(problems) - len(shown)
        raise CheckpointError(
            f"checkpoint '{args.checkpoint}' does not fit {args.arch} ({num_classes} classes; "
            f"{len(expected)} tensors expected, {len(state)} found), "
            f"{len(problems)} problem(s):\n  "
            + "\n  ".join(shown) + (f"\n  and {more} more" if more else "")
        )
    tensors = {name: state[name].detach().float().contiguous().numpy() for name in expected}
    metadata = {
        "architecture": args.arch,
        "num_classes": str(num_classes),
        "preprocessing": json.dumps(preprocessing),
        "format_version": FORMAT_VERSION,
        "source": f"pytorch checkpoint {os.path.basename(args.checkpoint)}",
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    save_file(tensors, args.out, metadata)
    parameters = sum(t.size for t in tensors.values())
    print(f"wrote {args.out}: {args.arch}, {num_classes} classes, {len(tensors)} tensors, "
          f"{parameters:,} values")


def main(argv=None):
    args = parse_args(argv)
    try:
        convert(args)
    except CheckpointError as e:
        print(f"import_pytorch: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
