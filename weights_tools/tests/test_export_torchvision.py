"""End-to-end tests of the export_torchvision.py and torch_logits.py command lines.

They run the scripts as other tools do (subprocesses), on mobilenet_v2 with 10 classes to stay
small. Run: /usr/bin/python3 -m unittest discover -s weights_tools/tests
"""

import json
import os
import subprocess
import sys
import tempfile
import unittest

import numpy as np

TOOLS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, TOOLS)
from safetensors_io import load_file, read_header  # noqa: E402

try:
    import torch
    import torchvision
except ImportError:
    torch = None


def run_tool(script, *args):
    return subprocess.run([sys.executable, os.path.join(TOOLS, script), *map(str, args)],
                          capture_output=True, text=True)


@unittest.skipIf(torch is None, "needs torch and torchvision")
class ExportTorchvisionTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.tmp = self.dir.name

    def tearDown(self):
        self.dir.cleanup()

    def path(self, name):
        return os.path.join(self.tmp, name)

    def test_without_weights_source_it_explains_there_is_no_download(self):
        result = run_tool("export_torchvision.py", "--model", "resnet18", "--out", self.path("a"))
        self.assertEqual(result.returncode, 2)
        self.assertIn("cannot be downloaded", result.stderr)
        self.assertIn("--checkpoint", result.stderr)
        self.assertIn("--random-init", result.stderr)
        self.assertFalse(os.path.exists(self.path("a")))

    def test_unknown_model_lists_the_known_ones(self):
        result = run_tool("export_torchvision.py", "--model", "resnet19", "--random-init",
                          "--out", self.path("a"))
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("unknown model 'resnet19'", result.stderr)
        self.assertIn("mobilenet_v2", result.stderr)

    def test_random_init_is_seeded_and_randomizes_batch_norm(self):
        out, again = self.path("a.safetensors"), self.path("b.safetensors")
        for path in (out, again):
            result = run_tool("export_torchvision.py", "--model", "mobilenet_v2", "--random-init",
                              "--seed", 3, "--num-classes", 10, "--out", path)
            self.assertEqual(result.returncode, 0, result.stderr)
        with open(out, "rb") as a, open(again, "rb") as b:
            self.assertEqual(a.read(), b.read())

        tensors, metadata = load_file(out)
        self.assertEqual(metadata["architecture"], "mobilenet_v2")
        self.assertEqual(metadata["num_classes"], "10")
        self.assertEqual(metadata["format_version"], "1")
        self.assertEqual(metadata["source"], f"torchvision {torchvision.__version__}")
        pre = json.loads(metadata["preprocessing"])
        self.assertEqual((pre["resize"], pre["crop"], pre["interpolation"]), (256, 224, "bilinear"))
        self.assertEqual(pre["mean"], [0.485, 0.456, 0.406])
        self.assertEqual(pre["std"], [0.229, 0.224, 0.225])
        self.assertAlmostEqual(pre["scale"], 1 / 255)
        self.assertEqual(pre["channel_order"], "RGB")

        header = read_header(out)[0]
        self.assertTrue(all(e["dtype"] == "F32" for e in header.values()))
        self.assertFalse(any(k.endswith("num_batches_tracked") for k in tensors))
        self.assertEqual(tensors["classifier.1.weight"].shape, (10, 1280))
        var = tensors["features.0.1.running_var"]
        # Measured on a random batch, so positive and not torchvision's fresh 1.
        self.assertTrue(np.all(var > 0))
        self.assertGreater(np.abs(var - 1).max(), 0.01)
        # Measured on a zero-mean random batch: small, but not the fresh 0.
        self.assertGreater(np.abs(tensors["features.0.1.running_mean"]).max(), 1e-4)
        # torchvision would leave this batch norm's weight at exactly 1.
        self.assertGreater(np.abs(tensors["features.1.conv.1.weight"] - 1).max(), 0.01)

    def test_checkpoint_export_and_torch_logits_reproduce_the_model(self):
        torch.manual_seed(7)
        model = torchvision.models.mobilenet_v2(num_classes=10).eval()
        state = {"module." + k: v for k, v in model.state_dict().items()}
        torch.save({"state_dict": state, "epoch": 4}, self.path("ckpt.pth"))
        weights = self.path("m.safetensors")
        result = run_tool("export_torchvision.py", "--model", "mobilenet_v2", "--checkpoint",
                          self.path("ckpt.pth"), "--out", weights)
        self.assertEqual(result.returncode, 0, result.stderr)
        tensors, metadata = load_file(weights)
        self.assertEqual(metadata["num_classes"], "10")
        for name, value in model.state_dict().items():
            if not name.endswith("num_batches_tracked"):
                np.testing.assert_array_equal(tensors[name], value.numpy(), err_msg=name)

        x = np.random.default_rng(0).standard_normal((2, 3, 64, 80)).astype(np.float32)
        np.save(self.path("x.npy"), x)
        result = run_tool("torch_logits.py", "--weights", weights, "--input", self.path("x.npy"),
                          "--out", self.path("y.npy"))
        self.assertEqual(result.returncode, 0, result.stderr)
        with torch.no_grad():
            want = model(torch.from_numpy(x)).numpy()
        np.testing.assert_allclose(np.load(self.path("y.npy")), want, rtol=0, atol=1e-5)

        result = run_tool("torch_logits.py", "--weights", weights, "--input", self.path("x.npy"),
                          "--out", self.path("y.npy"), "--model", "resnet18")
        self.assertNotEqual(result.returncode, 0)
        self.assertIn("holds a mobilenet_v2", result.stderr)


if __name__ == "__main__":
    unittest.main()
