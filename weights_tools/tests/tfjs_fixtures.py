"""Small synthetic TF.js layers models for the importer's tests (written to a temp folder)."""

import json
import os

import numpy as np


def conv2d(name, inbound, filters, kernel, strides=1, padding="valid", use_bias=True):
    return {"name": name, "class_name": "Conv2D", "inbound_nodes": [[[inbound, 0, 0, {}]]],
            "config": {"name": name, "filters": filters, "kernel_size": [kernel, kernel],
                       "strides": [strides, strides], "padding": padding,
                       "data_format": "channels_last", "dilation_rate": [1, 1],
                       "activation": "linear", "use_bias": use_bias}}


def layer(name, class_name, inbound, **config):
    inbound = [inbound] if isinstance(inbound, str) else inbound
    return {"name": name, "class_name": class_name,
            "inbound_nodes": [[[source, 0, 0, {}] for source in inbound]] if inbound else [],
            "config": {"name": name, **config}}


def batch_norm(name, inbound, epsilon=1e-3):
    return layer(name, "BatchNormalization", inbound, axis=[3], epsilon=epsilon, center=True,
                 scale=True, momentum=0.99)


def write_model(folder, layers, weights, shard_bytes=None, dtypes=None, shapes=None):
    """Writes model.json and little-endian float32 shards for [(manifest name, array)].

    shard_bytes splits the bytes into TF.js-style shards of that size (the last one shorter).
    dtypes / shapes override what the manifest claims for the named weights, so tests can make
    the manifest disagree with the bytes. Returns the shard file names.
    """
    data = b"".join(np.asarray(a, dtype="<f4").tobytes() for _, a in weights)
    shard_bytes = shard_bytes or max(len(data), 1)
    chunks = [data[i:i + shard_bytes] for i in range(0, len(data), shard_bytes)] or [b""]
    paths = [f"group1-shard{i + 1}of{len(chunks)}.bin" for i in range(len(chunks))]
    for path, chunk in zip(paths, chunks):
        with open(os.path.join(folder, path), "wb") as f:
            f.write(chunk)
    dtypes, shapes = dtypes or {}, shapes or {}
    manifest = [{"paths": paths, "weights": [
        {"name": name, "shape": shapes.get(name, list(np.shape(a))),
         "dtype": dtypes.get(name, "float32")} for name, a in weights]}]
    model = {"format": "layers-model", "generatedBy": "fovea tests",
             "modelTopology": {"keras_version": "2.2.4-tf", "backend": "tensorflow",
                               "model_config": {"class_name": "Model", "config": {
                                   "name": "synthetic", "layers": layers,
                                   "input_layers": [[layers[0]["name"], 0, 0]],
                                   "output_layers": [[layers[-1]["name"], 0, 0]]}}},
             "weightsManifest": manifest}
    with open(os.path.join(folder, "model.json"), "w", encoding="utf-8") as f:
        json.dump(model, f)
    return paths


def keras_resnet50_layers(epsilon=1e-3):
    """The weighted and structural layers of Keras 2.2.4's ResNet50, as model.json lists them."""
    layers = [layer("input_1", "InputLayer", [], batch_input_shape=[None, 224, 224, 3]),
              layer("conv1_pad", "ZeroPadding2D", "input_1", padding=[[3, 3], [3, 3]],
                    data_format="channels_last"),
              conv2d("conv1", "conv1_pad", 64, 7, strides=2),
              batch_norm("bn_conv1", "conv1", epsilon),
              layer("activation", "Activation", "bn_conv1", activation="relu"),
              layer("pool1_pad", "ZeroPadding2D", "activation", padding=[[1, 1], [1, 1]],
                    data_format="channels_last"),
              layer("max_pooling2d", "MaxPooling2D", "pool1_pad", pool_size=[3, 3],
                    strides=[2, 2], padding="valid", data_format="channels_last")]
    x = "max_pooling2d"
    for stage, blocks in ((2, 3), (3, 4), (4, 6), (5, 3)):
        width = 64 * 2 ** (stage - 2)
        for b in range(blocks):
            name = f"{stage}{'abcdef'[b]}"
            stride = 2 if stage > 2 and b == 0 else 1
            y = x
            for branch, filters, kernel, s, pad in (("2a", width, 1, stride, "valid"),
                                                    ("2b", width, 3, 1, "same"),
                                                    ("2c", width * 4, 1, 1, "valid")):
                layers.append(conv2d(f"res{name}_branch{branch}", y, filters, kernel, s, pad))
                layers.append(batch_norm(f"bn{name}_branch{branch}", f"res{name}_branch{branch}",
                                         epsilon))
                y = f"bn{name}_branch{branch}"
                if branch != "2c":
                    layers.append(layer(f"act{name}{branch}", "Activation", y,
                                        activation="relu"))
                    y = f"act{name}{branch}"
            shortcut = x
            if b == 0:
                layers.append(conv2d(f"res{name}_branch1", x, width * 4, 1, stride))
                layers.append(batch_norm(f"bn{name}_branch1", f"res{name}_branch1", epsilon))
                shortcut = f"bn{name}_branch1"
            layers.append(layer(f"add{name}", "Add", [y, shortcut]))
            layers.append(layer(f"out{name}", "Activation", f"add{name}", activation="relu"))
            x = f"out{name}"
    layers.append(layer("avg_pool", "GlobalAveragePooling2D", x, data_format="channels_last"))
    layers.append(layer("fc1000", "Dense", "avg_pool", units=1000, activation="softmax",
                        use_bias=True))
    return layers
