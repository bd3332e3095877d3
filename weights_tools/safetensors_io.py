"""Reads and writes safetensors files with numpy alone (the `safetensors` package is not needed).

Layout (https://github.com/huggingface/safetensors#format):
    u64 little-endian N | N bytes of JSON header | data
The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end]}, offsets
relative to the start of the data, plus an optional "__metadata__" map of string to string.

The writer pads the header with spaces to a multiple of 8 bytes and stores tensors in decreasing
element size, so every tensor starts aligned to its element size when the file is mapped.

BF16 has no numpy dtype: pass a torch.bfloat16 tensor, or wrap the raw uint16 bits in Bf16.
The reader returns BF16 tensors widened (exactly) to float32.
"""

import json
import struct

import numpy as np

# safetensors dtype name -> numpy dtype of the stored bytes (BF16 is stored as its uint16 bits).
DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "BF16": np.dtype("<u2"),
    "I32": np.dtype("<i4"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
}
_NAME_OF_NUMPY = {np.dtype(v).newbyteorder("="): k for k, v in DTYPES.items() if k != "BF16"}

# The reference implementation refuses headers above 100 MB; so do we.
MAX_HEADER_BYTES = 100 * 1000 * 1000


class SafetensorsError(ValueError):
    """A file or a tensor that does not follow the safetensors format."""


class Bf16:
    """bfloat16 values given as their raw uint16 bit patterns."""

    def __init__(self, bits):
        bits = np.asarray(bits)
        if bits.dtype != np.uint16:
            raise SafetensorsError(f"Bf16 wants uint16 bit patterns, got {bits.dtype}")
        self.bits = bits


def _to_dtype_and_array(name, value):
    """Returns (safetensors dtype name, C-contiguous little-endian array of the stored bytes)."""
    if isinstance(value, Bf16):
        return "BF16", np.asarray(value.bits, dtype="<u2", order="C")
    if type(value).__module__.startswith("torch"):
        import torch

        value = value.detach().cpu().contiguous()
        if value.dtype == torch.bfloat16:
            return "BF16", value.view(torch.int16).numpy().view("<u2")
        value = value.numpy()
    array = np.asarray(value)
    key = array.dtype.newbyteorder("=")
    if key not in _NAME_OF_NUMPY:
        raise SafetensorsError(
            f"tensor '{name}' has dtype {array.dtype}; supported: {', '.join(DTYPES)}"
        )
    dtype = _NAME_OF_NUMPY[key]
    return dtype, np.asarray(array, dtype=DTYPES[dtype], order="C")


def save_file(tensors, path, metadata=None):
    """Writes {name: numpy array | torch tensor | Bf16} to path, with optional string metadata."""
    metadata = dict(metadata or {})
    for key, value in metadata.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise SafetensorsError(f"metadata must map str to str, got {key!r}: {value!r}")
    entries = []
    for name, value in tensors.items():
        if not isinstance(name, str) or name == "__metadata__":
            raise SafetensorsError(f"invalid tensor name {name!r}")
        dtype, array = _to_dtype_and_array(name, value)
        entries.append((name, dtype, array))
    entries.sort(key=lambda e: (-e[2].dtype.itemsize, e[0]))

    header = {}
    if metadata:
        header["__metadata__"] = metadata
    offset = 0
    for name, dtype, array in entries:
        header[name] = {
            "dtype": dtype,
            "shape": list(array.shape),
            "data_offsets": [offset, offset + array.nbytes],
        }
        offset += array.nbytes
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)

    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, _, array in entries:
            f.write(array.tobytes())


def _reject_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise SafetensorsError(f"header repeats a key among {keys}")
    return dict(pairs)


def read_header(path):
    """Returns (entries {name: {dtype, shape, data_offsets}}, metadata, data start, data size).

    Validates what the safetensors spec requires: a sane header length, a JSON object with
    known dtypes, non-negative shapes, offsets whose size matches dtype and shape, and tensors that
    tile the data section exactly (no gaps, no overlap, nothing after the last one).
    """
    with open(path, "rb") as f:
        prefix = f.read(8)
        if len(prefix) < 8:
            raise SafetensorsError(f"{path}: {len(prefix)} bytes is too short for a header length")
        (header_len,) = struct.unpack("<Q", prefix)
        f.seek(0, 2)
        file_size = f.tell()
        if header_len > MAX_HEADER_BYTES or 8 + header_len > file_size:
            raise SafetensorsError(
                f"{path}: header length {header_len} does not fit a file of {file_size} bytes"
            )
        f.seek(8)
        raw = f.read(header_len)
    try:
        header = json.loads(raw.decode("utf-8"), object_pairs_hook=_reject_duplicates)
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise SafetensorsError(f"{path}: header is not UTF-8 JSON: {e}") from None
    if not isinstance(header, dict):
        raise SafetensorsError(f"{path}: header must be a JSON object")

    metadata = header.pop("__metadata__", {}) or {}
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise SafetensorsError(f"{path}: __metadata__ must map strings to strings")

    data_start = 8 + header_len
    data_size = file_size - data_start
    spans = []
    for name, entry in header.items():
        where = f"{path}: tensor '{name}'"
        if not isinstance(entry, dict) or set(entry) != {"dtype", "shape", "data_offsets"}:
            raise SafetensorsError(f"{where} must have exactly dtype, shape and data_offsets")
        if entry["dtype"] not in DTYPES:
            raise SafetensorsError(f"{where} has unknown dtype {entry['dtype']!r}")
        shape = entry["shape"]
        if not isinstance(shape, list) or not all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
        ):
            raise SafetensorsError(f"{where} has invalid shape {shape!r}")
        offsets = entry["data_offsets"]
        if (
            not isinstance(offsets, list)
            or len(offsets) != 2
            or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
            or not 0 <= offsets[0] <= offsets[1]
        ):
            raise SafetensorsError(f"{where} has invalid data_offsets {offsets!r}")
        want = int(np.prod(shape, dtype=np.int64)) * DTYPES[entry["dtype"]].itemsize
        if offsets[1] - offsets[0] != want:
            raise SafetensorsError(
                f"{where}: {entry['dtype']} {shape} needs {want} bytes, "
                f"data_offsets {offsets} span {offsets[1] - offsets[0]}"
            )
        spans.append((offsets[0], offsets[1], name))

    end = 0
    for begin, stop, name in sorted(spans):
        if begin != end:
            raise SafetensorsError(
                f"{path}: tensor '{name}' starts at data byte {begin}, expected {end} "
                "(tensors must tile the data section without gaps or overlap)"
            )
        end = stop
    if end != data_size:
        raise SafetensorsError(f"{path}: tensors cover {end} data bytes, the file has {data_size}")
    return header, metadata, data_start, data_size


def load_file(path):
    """Returns ({name: numpy array}, metadata). BF16 tensors come back as float32."""
    header, metadata, data_start, _ = read_header(path)
    with open(path, "rb") as f:
        f.seek(data_start)
        data = memoryview(f.read())
    tensors = {}
    for name, entry in header.items():
        begin, end = entry["data_offsets"]
        stored = DTYPES[entry["dtype"]]
        array = np.frombuffer(data[begin:end], dtype=stored).reshape(tuple(entry["shape"]))
        if entry["dtype"] == "BF16":
            array = (array.astype(np.uint32) << 16).view(np.float32)
        tensors[name] = array.copy()
    return tensors, metadata
