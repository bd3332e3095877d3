#!/usr/bin/env python3
"""Writes bench/shapes/<model>_layers.txt: every conv layer of a torchvision model at 224x224.

One line per layer, in execution order (repeated shapes included; benches dedupe):
    name N C H W K R S stride pad dilation groups
with N = 1 (benches scale the batch themselves), (H, W) the layer's input size, K output
channels, R x S the kernel; stride, pad and dilation are square in these models. Needs
torchvision (Debian: /usr/bin/python3). Usage: gen_conv_shapes.py [OUTPUT_DIR]
"""
import os
import sys

import torch
import torchvision

MODELS = {
    "resnet50": torchvision.models.resnet50,
    "mobilenet_v2": torchvision.models.mobilenet_v2,
    "efficientnet_b0": torchvision.models.efficientnet_b0,
}


def conv_lines(build):
    model = build().eval()
    lines = []

    def record(name):
        def hook(module, inputs, _output):
            n, c, h, w = inputs[0].shape
            k, _, r, s = module.weight.shape
            for attr in ("stride", "padding", "dilation"):
                value = getattr(module, attr)
                assert value[0] == value[1], f"{name}: non-square {attr} {value}"
            lines.append(f"{name} {n} {c} {h} {w} {k} {r} {s} {module.stride[0]} "
                         f"{module.padding[0]} {module.dilation[0]} {module.groups}")
        return hook

    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Conv2d):
            module.register_forward_hook(record(name))
    with torch.no_grad():
        model(torch.zeros(1, 3, 224, 224))
    return lines


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))
    for model_name, build in MODELS.items():
        lines = conv_lines(build)
        path = os.path.join(out_dir, f"{model_name}_layers.txt")
        with open(path, "w") as f:
            f.write(f"# {model_name} conv layers at 224x224 (torchvision "
                    f"{torchvision.__version__}), written by gen_conv_shapes.py\n")
            f.write("# name N C H W K R S stride pad dilation groups\n")
            f.write("\n".join(lines) + "\n")
        print(f"{path}: {len(lines)} layers")


if __name__ == "__main__":
    main()
