#!/usr/bin/env python3
"""Tests of import_tfjs.py on small synthetic TF.js models: layouts, names and hostile inputs.

Run: /usr/bin/python3 weights_tools/tests/test_import_tfjs.py   (exit 77 = skipped, no numpy)
"""

import contextlib
import io
import os
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [HERE, os.path.dirname(HERE)]

try:
    import numpy as np
except ImportError:
    print("SKIP: this python has no numpy (apt-get install python3-numpy)")
    sys.exit(77)

import import_tfjs  # noqa: E402
import tfjs_fixtures as fx  # noqa: E402
from import_tfjs import TfjsImportError  # noqa: E402


def arange(*shape):
    return np.arange(np.prod(shape), dtype=np.float32).reshape(shape)


def small_model_layers():
    """input → conv (3→4, 2×2) → bn → depthwise (×2) → pool → dense (8→5)."""
    return [fx.layer("input", "InputLayer", []),
            fx.conv2d("conv", "input", 4, 2),
            fx.batch_norm("bn", "conv"),
            fx.layer("dw", "DepthwiseConv2D", "bn", kernel_size=[3, 3], depth_multiplier=2,
                     strides=[1, 1], padding="same", use_bias=True),
            fx.layer("pool", "GlobalAveragePooling2D", "dw"),
            fx.layer("dense", "Dense", "pool", units=5, activation="linear", use_bias=True)]


def small_model_weights():
    return [("conv/kernel", arange(2, 2, 3, 4)), ("conv/bias", arange(4) + 100),
            ("bn/gamma", arange(4) + 1), ("bn/beta", arange(4) + 2),
            ("bn/moving_mean", arange(4) + 3), ("bn/moving_variance", arange(4) + 4),
            ("dw/depthwise_kernel", arange(3, 3, 4, 2)), ("dw/bias", arange(8) - 8),
            ("dense/kernel", arange(8, 5)), ("dense/bias", arange(5) * 2)]


class TempModelTest(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.dir = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def write(self, layers=None, weights=None, **kwargs):
        return fx.write_model(self.dir, layers or small_model_layers(),
                              small_model_weights() if weights is None else weights, **kwargs)

    def convert(self):
        model = import_tfjs.load_model_json(self.dir)
        tensors = import_tfjs.read_manifest_tensors(self.dir, model)
        return import_tfjs.convert_layers(import_tfjs.topology_layers(model), tensors,
                                          lambda name: name)

    def assert_fails(self, *fragments):
        with self.assertRaises(TfjsImportError) as caught:
            self.convert()
        for fragment in fragments:
            self.assertIn(fragment, str(caught.exception))


SHARD_BYTES = 100  # 193 floats = 772 bytes of weights → 7 shards of 100 bytes and one of 72


class LayoutTest(TempModelTest):
    def setUp(self):
        super().setUp()
        self.write()

    def test_reads_weights_in_manifest_order_across_shards(self):
        paths = self.write(shard_bytes=SHARD_BYTES)
        self.assertEqual(len(paths), 8)
        out = self.convert()
        np.testing.assert_array_equal(out["dense.bias"], [0, 2, 4, 6, 8])
        np.testing.assert_array_equal(out["dw.bias"], np.arange(8) - 8)

    def test_conv2d_hwio_becomes_oihw(self):
        out = self.convert()
        weight = out["conv.weight"]
        self.assertEqual(weight.shape, (4, 3, 2, 2))
        # OIHW [3, 1, 0, 1] is HWIO [0, 1, 1, 3] = 0*24 + 1*12 + 1*4 + 3 = 19.
        self.assertEqual(weight[3, 1, 0, 1], 19.0)
        np.testing.assert_array_equal(out["conv.bias"], [100, 101, 102, 103])

    def test_depthwise_hwcm_becomes_grouped_oihw(self):
        out = self.convert()
        weight = out["dw.weight"]
        self.assertEqual(weight.shape, (8, 1, 3, 3))
        # Output channel c*M + m = 3 is (c=1, m=1); [3, 0, 2, 1] is HWCM [2, 1, 1, 1] = 31.
        self.assertEqual(weight[3, 0, 2, 1], 2 * 24 + 1 * 8 + 1 * 2 + 1)

    def test_depthwise_layout_computes_the_keras_depthwise_conv(self):
        torch = _torch_or_skip(self)
        kernel = np.random.default_rng(1).normal(size=(3, 3, 4, 2)).astype(np.float32)
        x = np.random.default_rng(2).normal(size=(1, 6, 5, 4)).astype(np.float32)  # NHWC
        # Keras: y[h, w, c*M + m] = sum_ij x[h+i, w+j, c] * k[i, j, c, m] (valid padding).
        expected = np.zeros((4, 3, 8), np.float32)
        for c in range(4):
            for m in range(2):
                for i in range(3):
                    for j in range(3):
                        expected[:, :, c * 2 + m] += x[0, i:i + 4, j:j + 3, c] * kernel[i, j, c, m]
        weight = import_tfjs._convert_depthwise_conv2d(
            "dw", {"kernel_size": [3, 3], "depth_multiplier": 2, "use_bias": False},
            {"depthwise_kernel": kernel})["weight"]
        got = torch.nn.functional.conv2d(torch.from_numpy(x).permute(0, 3, 1, 2),
                                         torch.from_numpy(weight), groups=4)
        np.testing.assert_allclose(got[0].permute(1, 2, 0).numpy(), expected, rtol=1e-5,
                                   atol=1e-5)

    def test_dense_in_out_becomes_out_in(self):
        weight = self.convert()["dense.weight"]
        self.assertEqual(weight.shape, (5, 8))
        self.assertEqual(weight[4, 1], 1 * 5 + 4)  # [in=1, out=4] of arange(8, 5)

    def test_batch_norm_weights_are_renamed(self):
        out = self.convert()
        np.testing.assert_array_equal(out["bn.weight"], [1, 2, 3, 4])
        np.testing.assert_array_equal(out["bn.bias"], [2, 3, 4, 5])
        np.testing.assert_array_equal(out["bn.running_mean"], [3, 4, 5, 6])
        np.testing.assert_array_equal(out["bn.running_var"], [4, 5, 6, 7])
        self.assertEqual(len(out), 10)


class HostileInputTest(TempModelTest):
    def test_truncated_shard_is_named(self):
        paths = self.write(shard_bytes=SHARD_BYTES)
        with open(os.path.join(self.dir, paths[2]), "r+b") as f:
            f.truncate(50)
        self.assert_fails("weights group 1", "need 772 bytes", "8 shards hold 722 bytes",
                          "shard group1-shard3of8.bin should hold 100 bytes, got 50")

    def test_truncated_last_shard_is_named(self):
        paths = self.write(shard_bytes=SHARD_BYTES)  # the last shard holds 772 - 7*100 = 72 bytes
        with open(os.path.join(self.dir, paths[-1]), "r+b") as f:
            f.truncate(30)
        self.assert_fails("shard group1-shard8of8.bin should hold 72 bytes, got 30")

    def test_manifest_that_needs_more_bytes_than_the_shards_fails(self):
        weights = small_model_weights()
        self.write(weights=weights, shapes={"dense/bias": [6]})
        self.assert_fails("need 776 bytes", "1 shards hold 772 bytes")

    def test_wrong_shape_for_a_known_layer_is_named(self):
        weights = small_model_weights()
        weights[0] = ("conv/kernel", arange(2, 2, 3, 2))  # the layer config says 4 filters
        self.write(weights=weights)
        self.assert_fails("layer 'conv' weight 'kernel'", "manifest shape [2, 2, 3, 2]",
                          "expected [2, 2, 3, 4]")

    def test_wrong_rank_is_named(self):
        weights = small_model_weights()
        weights[-2] = ("dense/kernel", arange(40))
        self.write(weights=weights)
        self.assert_fails("layer 'dense' weight 'kernel'", "has rank 1, expected 2")

    def test_unknown_layer_type_is_named(self):
        layers = small_model_layers()
        layers.insert(2, fx.layer("memory", "LSTM", "conv", units=4))
        self.write(layers=layers)
        self.assert_fails("layer 'memory' has class_name 'LSTM'")

    def test_missing_shard_file_is_named(self):
        paths = self.write(shard_bytes=SHARD_BYTES)
        os.remove(os.path.join(self.dir, paths[4]))
        self.assert_fails("weights group 1: shard file", "group1-shard5of8.bin is missing")

    def test_non_float32_dtype_is_named(self):
        self.write(dtypes={"bn/beta": "float16"})
        self.assert_fails("weight 'bn/beta': dtype is 'float16'", "only 'float32'")

    def test_weight_of_no_layer_is_named(self):
        self.write(weights=small_model_weights() + [("ghost/kernel", arange(3))])
        self.assert_fails("1 manifest weights belong to no layer", "ghost/kernel")

    def test_missing_weight_is_named(self):
        self.write(weights=[w for w in small_model_weights() if w[0] != "bn/moving_variance"])
        self.assert_fails("layer 'bn' has no 'moving_variance' weight")

    def test_missing_model_json_is_named(self):
        self.assert_fails("model.json does not exist")

    def test_command_line_reports_the_error_and_exits_1(self):
        paths = self.write(shard_bytes=SHARD_BYTES)
        os.remove(os.path.join(self.dir, paths[0]))
        out = os.path.join(self.dir, "out.safetensors")
        stderr = io.StringIO()
        with contextlib.redirect_stderr(stderr):
            code = import_tfjs.main(["--model-dir", self.dir, "--out", out])
        self.assertEqual(code, 1)
        self.assertIn("group1-shard1of8.bin is missing", stderr.getvalue())
        self.assertFalse(os.path.exists(out))


class ResNet50MappingTest(unittest.TestCase):
    def test_keras_2_2_4_names(self):
        cases = {"conv1": "conv1", "bn_conv1": "bn1", "res2a_branch2a": "layer1.0.conv1",
                 "bn2a_branch2b": "layer1.0.bn2", "res3d_branch2c": "layer2.3.conv3",
                 "res4a_branch1": "layer3.0.downsample.0", "bn5a_branch1": "layer4.0.downsample.1",
                 "bn4f_branch2c": "layer3.5.bn3", "fc1000": "fc"}
        for keras, fovea in cases.items():
            self.assertEqual(import_tfjs.resnet50_fovea_prefix(keras), fovea, keras)

    def test_keras_applications_1_0_7_names(self):
        cases = {"conv1_conv": "conv1", "conv1_bn": "bn1",
                 "conv2_block1_1_conv": "layer1.0.conv1", "conv3_block4_3_bn": "layer2.3.bn3",
                 "conv5_block1_0_conv": "layer4.0.downsample.0",
                 "conv4_block1_0_bn": "layer3.0.downsample.1", "probs": "fc"}
        for keras, fovea in cases.items():
            self.assertEqual(import_tfjs.resnet50_fovea_prefix(keras), fovea, keras)

    def test_names_outside_resnet50_fail(self):
        for bad in ("res2d_branch2a", "res6a_branch2a", "conv3_block5_1_conv", "dense_1"):
            with self.assertRaises(TfjsImportError, msg=bad):
                import_tfjs.resnet50_fovea_prefix(bad)

    def test_expected_tensors_count_the_published_parameters(self):
        shapes = import_tfjs.resnet50_v1_expected_shapes()
        self.assertEqual(len(shapes), 320)  # 53 convs × 2 + 53 batch norms × 4 + fc × 2
        self.assertEqual(sum(int(np.prod(s)) for s in shapes.values()), 25_636_712)
        self.assertEqual(shapes["layer2.0.downsample.0.weight"], (512, 256, 1, 1))

    def test_keras_topology_maps_onto_every_expected_tensor(self):
        keys = {"Conv2D": ("weight", "bias"), "Dense": ("weight", "bias"),
                "BatchNormalization": ("weight", "bias", "running_mean", "running_var")}
        names = {f"{import_tfjs.resnet50_fovea_prefix(l['name'])}.{k}"
                 for l in fx.keras_resnet50_layers() for k in keys.get(l["class_name"], ())}
        self.assertEqual(names, set(import_tfjs.resnet50_v1_expected_shapes()))


class ResNet50ConfigTest(unittest.TestCase):
    def find(self, layers, name):
        return next(l for l in layers if l["name"] == name)

    def assert_rejected(self, layers, *fragments):
        with self.assertRaises(TfjsImportError) as caught:
            import_tfjs.check_resnet50_v1_config(layers)
        for fragment in fragments:
            self.assertIn(fragment, str(caught.exception))

    def test_keras_2_2_4_graph_passes_and_gives_its_epsilon(self):
        self.assertEqual(import_tfjs.check_resnet50_v1_config(fx.keras_resnet50_layers()), 1e-3)
        layers = fx.keras_resnet50_layers(epsilon=1.001e-5)
        self.assertEqual(import_tfjs.check_resnet50_v1_config(layers), 1.001e-5)

    def test_stride_on_the_3x3_conv_is_rejected(self):
        layers = fx.keras_resnet50_layers()
        self.find(layers, "res3a_branch2a")["config"]["strides"] = [1, 1]
        self.find(layers, "res3a_branch2b")["config"]["strides"] = [2, 2]
        self.assert_rejected(layers, "layer 'res3a_branch2a' (Conv2D): strides is [1, 1]",
                             "expects [2, 2]")

    def test_mixed_epsilons_are_rejected(self):
        layers = fx.keras_resnet50_layers()
        self.find(layers, "bn4c_branch2b")["config"]["epsilon"] = 1e-5
        self.assert_rejected(layers, "epsilons [1e-05, 0.001]")

    def test_conv_without_bias_is_rejected(self):
        layers = fx.keras_resnet50_layers()
        self.find(layers, "res2b_branch2c")["config"]["use_bias"] = False
        self.assert_rejected(layers, "layer 'res2b_branch2c' (Conv2D): use_bias is False")

    def test_other_stem_padding_is_rejected(self):
        layers = fx.keras_resnet50_layers()
        self.find(layers, "conv1_pad")["config"]["padding"] = [[2, 3], [2, 3]]
        self.assert_rejected(layers, "layer 'conv1_pad' (ZeroPadding2D): padding")

    def test_other_activation_is_rejected(self):
        layers = fx.keras_resnet50_layers()
        self.find(layers, "act3b2a")["config"]["activation"] = "elu"
        self.assert_rejected(layers, "layer 'act3b2a' (Activation): activation is 'elu'")

    def test_wrong_converted_shape_is_named(self):
        shapes = import_tfjs.resnet50_v1_expected_shapes()
        converted = {n: np.zeros(s, np.float32) for n, s in shapes.items()}
        converted["layer3.2.conv2.weight"] = np.zeros((256, 128, 3, 3), np.float32)
        with self.assertRaises(TfjsImportError) as caught:
            import_tfjs.check_expected_tensors(converted, shapes)
        self.assertIn("tensor 'layer3.2.conv2.weight': converted shape [256, 128, 3, 3], "
                      "resnet50_v1 expects [256, 256, 3, 3]", str(caught.exception))

    def test_missing_converted_tensor_is_named(self):
        shapes = import_tfjs.resnet50_v1_expected_shapes()
        converted = {n: np.zeros(s, np.float32) for n, s in shapes.items()}
        del converted["layer4.0.downsample.1.running_var"]
        with self.assertRaises(TfjsImportError) as caught:
            import_tfjs.check_expected_tensors(converted, shapes)
        self.assertIn("converted 319 tensors, resnet50_v1 expects 320", str(caught.exception))
        self.assertIn("layer4.0.downsample.1.running_var", str(caught.exception))


def _torch_or_skip(test):
    try:
        import torch
    except ImportError:
        test.skipTest("torch is not installed")
    return torch


if __name__ == "__main__":
    result = unittest.main(exit=False).result
    sys.exit(0 if result.wasSuccessful() else 1)
