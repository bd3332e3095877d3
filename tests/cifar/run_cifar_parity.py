#!/usr/bin/python3
"""Parity of fovea's resnet20_cifar with akamaster's torch model on real CIFAR-10 test images.

Imports ../shared/data/cifar10-resnets/resnet20-12fca82f.th with weights_tools/import_pytorch.py,
runs the first test image of four classes through examples/classify (fovea) and through the
torch definition (weights_tools/cifar_resnet_torch.py, in float64, with the checkpoint's own
tensors), and requires max|Δlogit| / max|logit| <= 1e-4. Exits 77 (skipped) when torch or the
data is absent.

    run_cifar_parity.py --classify build/examples/classify/classify [--data ../shared/data]
"""

import argparse
import io
import os
import subprocess
import sys
import tarfile
import tempfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "weights_tools"))

SKIP = 77
RELATIVE_TOLERANCE = 1e-4
CLASSES = ("airplane", "cat", "ship", "truck")  # class indices 0, 3, 8, 9
MEAN = (0.485, 0.456, 0.406)
STD = (0.229, 0.224, 0.225)


def first_image_of(archive, class_name):
    members = sorted(m.name for m in archive.getmembers()
                     if m.isfile() and m.name.startswith(f"test/{class_name}/"))
    return members[0], archive.extractfile(members[0]).read()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--classify", required=True)
    parser.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "data"))
    args = parser.parse_args()
    try:
        import numpy as np
        import torch
        from PIL import Image
    except ImportError as e:
        print(f"skipped: {sys.executable} lacks {e.name}")
        return SKIP
    import cifar_resnet_torch
    import import_pytorch

    checkpoint = os.path.join(args.data, "cifar10-resnets", "resnet20-12fca82f.th")
    images_tar = os.path.join(args.data, "cifar10", "cifar10-jpg-test.tar.gz")
    for path in (checkpoint, images_tar):
        if not os.path.isfile(path):
            print(f"skipped: {path} is absent")
            return SKIP

    with tarfile.open(images_tar) as archive:
        named = [first_image_of(archive, c) for c in CLASSES]
    pixels = np.stack([np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.float32)
                       for _, data in named])
    x = ((pixels / np.float32(255) - np.float32(MEAN)) / np.float32(STD)).transpose(0, 3, 1, 2)
    x = np.ascontiguousarray(x, dtype=np.float32)

    with tempfile.TemporaryDirectory() as tmp:
        weights = os.path.join(tmp, "resnet20_cifar.safetensors")
        if import_pytorch.main(["--checkpoint", checkpoint, "--arch", "resnet20_cifar",
                                "--out", weights]) != 0:
            return 1
        np.save(os.path.join(tmp, "x.npy"), x)
        run = subprocess.run([args.classify, "--weights", weights, "--input-npy",
                              os.path.join(tmp, "x.npy"), "--dump-logits",
                              os.path.join(tmp, "y.npy")], capture_output=True, text=True)
        if run.returncode != 0:
            print(f"classify failed ({run.returncode}): {run.stderr.strip()}")
            return 1
        fovea_logits = np.load(os.path.join(tmp, "y.npy")).astype(np.float64)

    model = cifar_resnet_torch.build_model("resnet20_cifar", 10).double().eval()
    model.load_state_dict(import_pytorch.read_state_dict(checkpoint, trust=False))
    with torch.no_grad():
        reference = model(torch.from_numpy(x).double()).numpy()

    error = np.abs(fovea_logits - reference).max()
    scale = np.abs(reference).max()
    print(f"max|Δlogit| {error:.3e}, max|logit| {scale:.3f}, relative {error / scale:.3e} "
          f"(limit {RELATIVE_TOLERANCE:g})")
    failures = []
    for (name, _), ref_row, fovea_row, true_class in zip(named, reference, fovea_logits,
                                                         (0, 3, 8, 9)):
        print(f"  {name}: true {true_class}, torch argmax {ref_row.argmax()}, "
              f"fovea argmax {fovea_row.argmax()}")
        if ref_row.argmax() != fovea_row.argmax():
            failures.append(f"{name}: fovea's top class differs from torch's")
    if np.abs(reference - reference[0]).max() < 1e-3 * scale:
        failures.append("the torch logits do not depend on the image: the check would be empty")
    if not error <= RELATIVE_TOLERANCE * scale:
        failures.append(f"relative logit error {error / scale:.3e} > {RELATIVE_TOLERANCE:g}")
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
