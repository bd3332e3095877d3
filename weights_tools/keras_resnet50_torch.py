#!/usr/bin/env python3
"""Runs a TF.js/Keras layers model (such as Keras ResNet50) in PyTorch, straight from model.json.

This is the reference that fovea's imported ResNet-50 is checked against, so it shares nothing
with import_tfjs.py: it reads the shards itself, keeps Keras layer names, walks the Keras graph as
model.json wires it, and converts Keras layouts (NHWC activations, HWIO kernels, [in, out] dense
kernels) inside each torch call. It returns the output layer's pre-activation values (logits):
Keras ResNet50 ends in Dense(softmax), and fovea compares logits.

Usage:
  keras_resnet50_torch.py --model-dir DIR --input X.npy --out Y.npy   # NCHW BGR-mean-subtracted
  keras_resnet50_torch.py --model-dir DIR --image photo.jpg [--labels synset_words.txt]
"""

import argparse
import json
import math
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def _read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def load_keras_model(model_dir):
    """Returns (model.json dict, {layer name: {weight key: float32 torch tensor}})."""
    with open(os.path.join(model_dir, "model.json"), "r", encoding="utf-8") as f:
        model = json.load(f)
    weights = {}
    for group in model["weightsManifest"]:
        data = b"".join(_read_bytes(os.path.join(model_dir, p)) for p in group["paths"])
        offset = 0
        for spec in group["weights"]:
            assert spec["dtype"] == "float32", spec
            count = math.prod(spec["shape"])
            array = np.frombuffer(data, dtype="<f4", count=count, offset=offset)
            offset += 4 * count
            layer, _, key = spec["name"].rpartition("/")
            tensor = torch.from_numpy(array.reshape(spec["shape"]).copy())
            weights.setdefault(layer, {})[key] = tensor
        assert offset == len(data), f"shards hold {len(data)} bytes, manifest uses {offset}"
    return model, weights


def _tf_same_padding(size, kernel, stride):
    """TensorFlow's 'same' padding (before, after): the extra pixel goes after."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def _pad_2d(x, config, kernel, strides, value=0.0):
    """Pads NCHW x for a Keras 'valid' or 'same' window op."""
    if config["padding"] == "valid":
        return x
    top, bottom = _tf_same_padding(x.shape[2], kernel[0], strides[0])
    left, right = _tf_same_padding(x.shape[3], kernel[1], strides[1])
    return F.pad(x, (left, right, top, bottom), value=value)


def _activation(name, x):
    if name == "relu":
        return torch.relu(x)
    if name == "softmax":
        return torch.softmax(x, dim=1)
    if name == "linear":
        return x
    raise ValueError(f"unsupported Keras activation {name!r}")


def _run_layer(layer, inputs, weights, keep_logits):
    """One Keras layer on NCHW (or [N, C]) torch tensors."""
    cls, config = layer["class_name"], layer["config"]
    x = inputs[0]
    if cls == "ZeroPadding2D":
        (top, bottom), (left, right) = config["padding"]
        return F.pad(x, (left, right, top, bottom))
    if cls == "Conv2D":
        assert config["dilation_rate"] == [1, 1], layer["name"]
        kernel = weights["kernel"].permute(3, 2, 0, 1)  # HWIO → OIHW
        x = _pad_2d(x, config, config["kernel_size"], config["strides"])
        y = F.conv2d(x, kernel, weights.get("bias"), stride=config["strides"])
        return _activation(config["activation"], y)
    if cls == "BatchNormalization":
        return F.batch_norm(x, weights["moving_mean"], weights["moving_variance"],
                            weights["gamma"], weights["beta"], training=False,
                            eps=config["epsilon"])
    if cls == "Activation":
        return _activation(config["activation"], x)
    if cls == "Add":
        return sum(inputs[1:], inputs[0])
    if cls == "MaxPooling2D":
        x = _pad_2d(x, config, config["pool_size"], config["strides"], value=-math.inf)
        return F.max_pool2d(x, config["pool_size"], config["strides"])
    if cls == "GlobalAveragePooling2D":
        return x.mean(dim=(2, 3))
    if cls == "Dense":
        y = F.linear(x, weights["kernel"].t(), weights.get("bias"))
        return y if keep_logits else _activation(config["activation"], y)
    raise ValueError(f"layer '{layer['name']}': unsupported class {cls}")


def keras_forward(model, weights, x_nchw):
    """Runs the Keras graph on an NCHW float32 tensor; returns the output layer's logits."""
    config = model["modelTopology"]["model_config"]["config"]
    (output_name, _, _), = config["output_layers"]
    (input_name, _, _), = config["input_layers"]
    values = {input_name: x_nchw}
    for layer in config["layers"]:
        if layer["class_name"] == "InputLayer":
            continue
        (node,) = layer["inbound_nodes"]  # no shared layers in keras.applications models
        inputs = [values[source] for source, _, _, _ in node]
        keep_logits = layer["name"] == output_name
        values[layer["name"]] = _run_layer(layer, inputs, weights.get(layer["name"], {}),
                                           keep_logits)
    return values[output_name]


def preprocess_image(path, resize=256, crop=224):
    """Keras "caffe" preprocessing: shorter side to 256 (bilinear), center crop, BGR − mean."""
    from PIL import Image

    image = Image.open(path).convert("RGB")
    w, h = image.size
    scale = resize / min(w, h)
    image = image.resize((round(w * scale), round(h * scale)), Image.BILINEAR)
    w, h = image.size
    left, top = (w - crop) // 2, (h - crop) // 2
    image = image.crop((left, top, left + crop, top + crop))
    bgr = np.asarray(image, dtype=np.float32)[:, :, ::-1] - np.float32(CAFFE_MEAN_BGR)
    return np.ascontiguousarray(bgr.transpose(2, 0, 1)[None])  # NCHW


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="folder holding model.json + shards")
    parser.add_argument("--input", help="NCHW float32 .npy, BGR with the caffe mean subtracted")
    parser.add_argument("--out", help="where to write the logits .npy (with --input)")
    parser.add_argument("--image", help="classify this photo and print the top 5")
    parser.add_argument("--labels", help="synset_words.txt, to name the top 5")
    args = parser.parse_args(argv)
    if bool(args.input) == bool(args.image) or bool(args.input) != bool(args.out):
        parser.error("give either --input X.npy --out Y.npy, or --image FILE")
    model, weights = load_keras_model(args.model_dir)
    x = np.load(args.input) if args.input else preprocess_image(args.image)
    if x.dtype != np.float32 or x.ndim != 4:
        parser.error(f"input must be float32 NCHW, got {x.dtype} with shape {x.shape}")
    with torch.no_grad():
        logits = keras_forward(model, weights, torch.from_numpy(x)).numpy()
    if args.out:
        np.save(args.out, logits)
        return 0
    labels = None
    if args.labels:
        with open(args.labels, "r", encoding="utf-8") as f:
            labels = f.read().splitlines()
    probs = torch.softmax(torch.from_numpy(logits), dim=1)[0]
    for p, i in zip(*torch.topk(probs, 5)):
        name = labels[i] if labels else ""
        print(f"{int(i):4d} {float(p):.4f} {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
