"""Tests of import_pytorch.py: good checkpoints in their usual wrappings, and hostile ones.

Checkpoints are made here from cifar_resnet_torch's resnet20_cifar (97 tensors), plus the real
akamaster file when ../shared/data is present. Run:
/usr/bin/python3 -m unittest discover -s weights_tools/tests -p test_import_pytorch.py
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import unittest

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, TOOLS)
from safetensors_io import load_file  # noqa: E402

try:
    import torch

    import cifar_resnet_torch
except ImportError:
    torch = None

AKAMASTER_RESNET20 = os.path.join(TOOLS, "..", "..", "shared", "data", "cifar10-resnets",
                                  "resnet20-12fca82f.th")


def run_import(*args):
    return subprocess.run(
        [sys.executable, os.path.join(TOOLS, "import_pytorch.py"), *map(str, args)],
        capture_output=True, text=True)


class RunsShellCommand:
    """Unpickling this runs a shell command: what a hostile checkpoint does."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return (os.system, (self.command,))


@unittest.skipIf(torch is None, "needs torch")
class ImportPytorchTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        torch.manual_seed(0)
        self.state = cifar_resnet_torch.build_model("resnet20_cifar").state_dict()

    def tearDown(self):
        self.dir.cleanup()

    def path(self, name):
        return os.path.join(self.dir.name, name)

    def save(self, obj, name="ckpt.pth", **kwargs):
        torch.save(obj, self.path(name), **kwargs)
        return self.path(name)

    def import_resnet20(self, checkpoint, *extra):
        return run_import("--checkpoint", checkpoint, "--arch", "resnet20_cifar",
                          "--out", self.path("out.safetensors"), *extra)

    def assert_fails_with(self, result, *fragments):
        self.assertEqual(result.returncode, 1, result.stderr)
        for fragment in fragments:
            self.assertIn(fragment, result.stderr)
        self.assertFalse(os.path.exists(self.path("out.safetensors")))

    def test_akamaster_style_checkpoint_converts_without_trusting_it(self):
        # As akamaster saves: DataParallel names, a float best_prec1 beside the state_dict.
        wrapped = {"best_prec1": 91.78,
                   "state_dict": {"module." + k: v for k, v in self.state.items()}}
        result = self.import_resnet20(self.save(wrapped))
        self.assertEqual(result.returncode, 0, result.stderr)
        tensors, metadata = load_file(self.path("out.safetensors"))
        self.assertEqual(len(tensors), 97)  # 116 state_dict entries less 19 num_batches_tracked
        self.assertEqual(tensors["layer2.0.conv1.weight"].shape, (32, 16, 3, 3))
        self.assertTrue((tensors["linear.weight"] == self.state["linear.weight"].numpy()).all())
        self.assertEqual(metadata["architecture"], "resnet20_cifar")
        self.assertEqual(metadata["num_classes"], "10")
        pre = json.loads(metadata["preprocessing"])
        self.assertEqual((pre["resize"], pre["crop"], pre["channel_order"]), (0, 0, "RGB"))
        self.assertEqual(pre["std"], [0.229, 0.224, 0.225])

    def test_model_key_and_legacy_serialization_and_num_classes_from_the_linear_layer(self):
        state = cifar_resnet_torch.build_model("resnet20_cifar", 7).state_dict()
        checkpoint = self.save({"model": state, "epoch": 3},
                               _use_new_zipfile_serialization=False)
        result = self.import_resnet20(checkpoint)
        self.assertEqual(result.returncode, 0, result.stderr)
        tensors, metadata = load_file(self.path("out.safetensors"))
        self.assertEqual(metadata["num_classes"], "7")
        self.assertEqual(tensors["linear.bias"].shape, (7,))

    def test_truncated_checkpoint_is_reported_as_corrupt(self):
        whole = self.save(self.state)
        with open(whole, "rb") as f:
            data = f.read()
        for cut in (len(data) // 2, 10):
            with open(self.path("cut.pth"), "wb") as f:
                f.write(data[:cut])
            self.assert_fails_with(self.import_resnet20(self.path("cut.pth")),
                                   "cut.pth' is corrupt or truncated")

    def test_empty_and_missing_files(self):
        open(self.path("empty.pth"), "wb").close()
        self.assert_fails_with(self.import_resnet20(self.path("empty.pth")), "is empty (0 bytes)")
        self.assert_fails_with(self.import_resnet20(self.path("none.pth")), "does not exist")

    def test_wrong_shape_names_the_tensor_with_expected_and_actual_shapes(self):
        self.state["layer3.2.conv2.weight"] = torch.zeros(64, 32, 3, 3)
        result = self.import_resnet20(self.save(self.state))
        self.assert_fails_with(result, "1 problem(s)",
                               "layer3.2.conv2.weight: expected shape [64, 64, 3, 3], "
                               "got [64, 32, 3, 3]")

    def test_unknown_and_missing_keys_are_all_listed(self):
        self.state["fc.weight"] = torch.zeros(10, 64)
        del self.state["bn1.running_var"]
        result = self.import_resnet20(self.save(self.state))
        self.assert_fails_with(result, "2 problem(s)", "missing: bn1.running_var [16]",
                               "unexpected: fc.weight [10, 64]")

    def test_a_deeper_network_does_not_fit_a_shallower_architecture(self):
        state = cifar_resnet_torch.build_model("resnet32_cifar").state_dict()
        result = self.import_resnet20(self.save(state))
        # resnet32 has 5 blocks a stage, resnet20 3: 6 extra blocks of 10 tensors each.
        self.assert_fails_with(result, "60 problem(s)", "unexpected: layer1.3.conv1.weight",
                               "and 40 more")

    def test_integer_tensor_is_refused(self):
        self.state["conv1.weight"] = torch.zeros(16, 3, 3, 3, dtype=torch.int32)
        self.assert_fails_with(self.import_resnet20(self.save(self.state)),
                               "conv1.weight: expected a floating-point tensor, got torch.int32")

    def test_code_in_the_pickle_is_not_run_unless_trusted(self):
        marker = self.path("ran")
        checkpoint = self.save({"state_dict": self.state,
                                "hook": RunsShellCommand(f"touch {marker}")})
        self.assert_fails_with(self.import_resnet20(checkpoint), "posix.system",
                               "not part of a state_dict", "--trust-checkpoint")
        self.assertFalse(os.path.exists(marker))

    def test_trust_checkpoint_reads_other_python_objects(self):
        checkpoint = self.save({"state_dict": self.state, "args": argparse.Namespace(lr=0.1)})
        self.assert_fails_with(self.import_resnet20(checkpoint), "argparse.Namespace")
        result = self.import_resnet20(checkpoint, "--trust-checkpoint")
        self.assertEqual(result.returncode, 0, result.stderr)

    def test_preprocessing_override_is_checked_and_stored(self):
        checkpoint = self.save(self.state)
        recipe = {"resize": 36, "crop": 32, "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25],
                  "scale": 1 / 255, "channel_order": "RGB", "interpolation": "bilinear"}
        result = self.import_resnet20(checkpoint, "--preprocessing", json.dumps(recipe))
        self.assertEqual(result.returncode, 0, result.stderr)
        _, metadata = load_file(self.path("out.safetensors"))
        self.assertEqual(json.loads(metadata["preprocessing"]), recipe)
        os.remove(self.path("out.safetensors"))
        del recipe["interpolation"]
        recipe["crop_size"] = 32
        self.assert_fails_with(
            self.import_resnet20(checkpoint, "--preprocessing", json.dumps(recipe)),
            "missing ['interpolation'], unknown ['crop_size']")

    def test_unknown_arch_lists_the_known_ones(self):
        result = run_import("--checkpoint", self.save(self.state), "--arch", "resnet21_cifar",
                            "--out", self.path("out.safetensors"))
        self.assertEqual(result.returncode, 2)
        self.assertIn("resnet110_cifar", result.stderr)
        self.assertIn("mobilenet_v2", result.stderr)

    def test_torchvision_architectures_are_checked_against_torchvision(self):
        import torchvision
        state = torchvision.models.resnet18(num_classes=5).state_dict()
        result = run_import("--checkpoint", self.save(state), "--arch", "resnet18",
                            "--out", self.path("out.safetensors"))
        self.assertEqual(result.returncode, 0, result.stderr)
        tensors, metadata = load_file(self.path("out.safetensors"))
        self.assertEqual((metadata["architecture"], metadata["num_classes"]), ("resnet18", "5"))
        self.assertEqual(json.loads(metadata["preprocessing"])["resize"], 256)
        self.assertEqual(len(tensors), 102)  # 122 state_dict entries less 20 num_batches_tracked

    @unittest.skipUnless(os.path.isfile(AKAMASTER_RESNET20), "needs ../shared/data")
    def test_the_real_akamaster_resnet20(self):
        result = self.import_resnet20(AKAMASTER_RESNET20)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertIn("97 tensors, 271,098 values", result.stdout)


if __name__ == "__main__":
    unittest.main()
