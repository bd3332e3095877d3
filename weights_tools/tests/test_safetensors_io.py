"""Tests of safetensors_io: exact bytes of a tiny file, round trips, and rejected corrupt files.

Run: /usr/bin/python3 -m unittest discover -s weights_tools/tests
"""

import json
import os
import struct
import sys
import tempfile
import unittest

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from safetensors_io import Bf16, SafetensorsError, load_file, read_header, save_file  # noqa: E402


def write_raw(path, header, data):
    text = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + data)


class SafetensorsIoTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.path = os.path.join(self.dir.name, "t.safetensors")

    def tearDown(self):
        self.dir.cleanup()

    def test_tiny_file_bytes_by_hand(self):
        save_file({"a": np.array([1.0, -2.0], dtype=np.float32)}, self.path, {"k": "v"})
        with open(self.path, "rb") as f:
            raw = f.read()
        header = b'{"__metadata__":{"k":"v"},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'
        padded = header + b" " * (-len(header) % 8)
        self.assertEqual(len(padded) % 8, 0)
        self.assertEqual(raw[:8], struct.pack("<Q", len(padded)))
        self.assertEqual(raw[8:8 + len(padded)], padded)
        # 1.0f = 0x3f800000 and -2.0f = 0xc0000000, little-endian.
        self.assertEqual(raw[8 + len(padded):], bytes.fromhex("0000803f000000c0"))

    def test_round_trip_of_every_dtype_keeps_values_and_alignment(self):
        rng = np.random.default_rng(3)
        tensors = {
            "f64": rng.standard_normal((2, 3)),
            "f32": rng.standard_normal((5,)).astype(np.float32),
            "f16": rng.standard_normal((3, 1, 2)).astype(np.float16),
            "i32": np.array([[-7, 2**31 - 1]], dtype=np.int32),
            "i8": np.array([-128, 0, 127], dtype=np.int8),
            "u8": np.arange(7, dtype=np.uint8),
            "scalar": np.array(2.5, dtype=np.float32),
            "empty": np.zeros((0, 4), dtype=np.float32),
            "big_endian": np.array([1.5, 3.0], dtype=">f4"),
        }
        save_file(tensors, self.path, {"architecture": "resnet18"})
        got, metadata = load_file(self.path)
        self.assertEqual(metadata, {"architecture": "resnet18"})
        self.assertEqual(set(got), set(tensors))
        for name, want in tensors.items():
            self.assertEqual(got[name].shape, want.shape, name)
            np.testing.assert_array_equal(got[name], want, err_msg=name)
        header, _, data_start, _ = read_header(self.path)
        self.assertEqual(data_start % 8, 0)
        for entry in header.values():
            itemsize = {"F64": 8, "F32": 4, "F16": 2, "I32": 4, "I8": 1, "U8": 1}[entry["dtype"]]
            self.assertEqual(entry["data_offsets"][0] % itemsize, 0)

    def test_bf16_from_bits_and_from_torch(self):
        # bfloat16 bits 0x3fc0 = 1.5, 0xc000 = -2.0, 0x7f80 = +inf.
        save_file({"b": Bf16(np.array([0x3FC0, 0xC000, 0x7F80], dtype=np.uint16))}, self.path)
        got, _ = load_file(self.path)
        np.testing.assert_array_equal(got["b"], np.array([1.5, -2.0, np.inf], dtype=np.float32))
        self.assertEqual(read_header(self.path)[0]["b"]["dtype"], "BF16")
        try:
            import torch
        except ImportError:
            return
        save_file({"t": torch.tensor([[0.25, -3.0]], dtype=torch.bfloat16)}, self.path)
        got, _ = load_file(self.path)
        np.testing.assert_array_equal(got["t"], np.array([[0.25, -3.0]], dtype=np.float32))

    def test_writer_rejects_unsupported_inputs(self):
        with self.assertRaises(SafetensorsError):
            save_file({"x": np.zeros(2, dtype=np.int64)}, self.path)
        with self.assertRaises(SafetensorsError):
            save_file({"x": np.zeros(2, dtype=np.float32)}, self.path, {"n": 3})

    def assert_rejected(self, header, data, message):
        write_raw(self.path, header, data)
        with self.assertRaisesRegex(SafetensorsError, message):
            read_header(self.path)

    def test_reader_rejects_corrupt_files(self):
        ok = {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}
        self.assert_rejected({"a": ok}, b"\0" * 7, "cover 8 data bytes, the file has 7")
        self.assert_rejected({"a": ok}, b"\0" * 9, "cover 8 data bytes, the file has 9")
        self.assert_rejected({"a": dict(ok, dtype="F8")}, b"\0" * 8, "unknown dtype")
        self.assert_rejected({"a": dict(ok, shape=[3])}, b"\0" * 8, "needs 12 bytes")
        self.assert_rejected({"a": dict(ok, shape=[-2])}, b"\0" * 8, "invalid shape")
        self.assert_rejected({"a": dict(ok, data_offsets=[8, 0])}, b"\0" * 8, "invalid data_off")
        self.assert_rejected({"a": ok, "b": dict(ok, data_offsets=[4, 12])}, b"\0" * 12,
                             "starts at data byte 4, expected 8")
        self.assert_rejected({"a": dict(ok, data_offsets=[4, 12])}, b"\0" * 12,
                             "starts at data byte 4, expected 0")
        self.assert_rejected({"__metadata__": {"k": 1}}, b"", "must map strings to strings")
        self.assert_rejected([1, 2], b"", "must be a JSON object")

    def test_reader_rejects_bad_framing(self):
        with open(self.path, "wb") as f:
            f.write(b"\x05\0\0")
        with self.assertRaisesRegex(SafetensorsError, "too short"):
            read_header(self.path)
        with open(self.path, "wb") as f:
            f.write(struct.pack("<Q", 1000) + b"{}")
        with self.assertRaisesRegex(SafetensorsError, "does not fit a file of 10 bytes"):
            read_header(self.path)
        text = b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"a":{}}'
        with open(self.path, "wb") as f:
            f.write(struct.pack("<Q", len(text)) + text + b"\0")
        with self.assertRaisesRegex(SafetensorsError, "repeats a key"):
            read_header(self.path)


if __name__ == "__main__":
    unittest.main()
