#!/usr/bin/python3
"""Converts an ONNX model into a fovea safetensors file that carries its own graph.

    import_onnx.py MODEL.onnx --out MODEL.safetensors

Initializers (and Constant nodes, folded into initializers) become tensors: float types as F32,
int32/int64 (shape constants, axes) as I32, checked to fit. The graph goes into the metadata as
JSON under "graph", with "architecture": "graph", "format_version": "1" and "source":
"onnx <producer> <version>". docs/onnx.md describes the schema; fovea::load_graph_model
(include/fovea/graph/) runs the file.

The importer refuses, listing every problem at once: ops outside SUPPORTED_OPS (with node
names), nodes from domains other than the default one, subgraphs (If, Loop, Scan) and graph
attributes, sparse initializers, and initializers of a type fovea cannot hold.
"""

import argparse
import json
import math
import os
import re
import sys

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from safetensors_io import save_file  # noqa: E402

FORMAT_VERSION = "1"

# Kept in step with the op table of include/fovea/graph/ops.hpp; the C++ loader is the final
# authority (it also checks attributes), this list lets the importer fail before writing.
SUPPORTED_OPS = {
    "Add", "AveragePool", "BatchNormalization", "Clip", "Concat", "Conv", "Div", "Dropout",
    "Exp", "Flatten", "Gather", "Gemm", "GlobalAveragePool", "HardSigmoid", "HardSwish",
    "Identity", "MatMul", "MaxPool", "Mul", "ReduceMax", "ReduceMean", "ReduceSum", "Relu",
    "Reshape", "Shape", "Sigmoid", "Softmax", "Squeeze", "Sub", "Transpose", "Unsqueeze",
}
# Opsets whose semantics for the ops above the runtime implements. Older opsets differ only in
# attributes (broadcast, consumed_inputs, Reshape's shape attribute), which the runtime refuses
# by name, so they need no blanket rule.
MIN_OPSET, MAX_OPSET = 1, 17

FLOAT_TYPES = {onnx.TensorProto.FLOAT, onnx.TensorProto.FLOAT16, onnx.TensorProto.DOUBLE}
INT_TYPES = {onnx.TensorProto.INT64, onnx.TensorProto.INT32}
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


class ImportError_(ValueError):
    """A model this importer (or fovea) cannot represent; the message lists every reason."""


def type_name(elem_type):
    return onnx.TensorProto.DataType.Name(elem_type).lower()


def value_kind(elem_type):
    """'float' or 'int' (how fovea holds values of this ONNX type), or None."""
    if elem_type in FLOAT_TYPES:
        return "float"
    if elem_type in INT_TYPES:
        return "int"
    return None


def sanitize(name, taken):
    """A safetensors-friendly tensor name derived from `name`, unique within `taken`."""
    base = re.sub(r"[^A-Za-z0-9_.:/-]", "_", name) or "tensor"
    candidate, n = base, 1
    while candidate in taken:
        candidate = f"{base}__{n}"
        n += 1
    taken.add(candidate)
    return candidate


def json_float(x):
    """JSON has no inf or NaN: those are written as the strings "inf", "-inf" and "nan"."""
    x = float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def convert_attribute(attr, where, problems):
    A = onnx.AttributeProto
    if attr.type == A.INT:
        return attr.i
    if attr.type == A.FLOAT:
        return json_float(attr.f)
    if attr.type == A.STRING:
        return attr.s.decode("utf-8")
    if attr.type == A.INTS:
        return list(attr.ints)
    if attr.type == A.FLOATS:
        return [json_float(f) for f in attr.floats]
    if attr.type == A.STRINGS:
        return [s.decode("utf-8") for s in attr.strings]
    if attr.type in (A.GRAPH, A.GRAPHS):
        problems.append(f"{where}: attribute '{attr.name}' is a subgraph (control flow)")
    else:
        problems.append(
            f"{where}: attribute '{attr.name}' of type {A.AttributeType.Name(attr.type)} "
            "is not supported"
        )
    return None


def constant_value(node, where, problems):
    """The tensor a Constant node produces, as a numpy array."""
    if len(node.attribute) != 1:
        problems.append(f"{where}: a Constant needs exactly one value attribute")
        return None
    attr = node.attribute[0]
    if attr.name == "value":
        return numpy_helper.to_array(attr.t)
    if attr.name == "value_float":
        return np.array(attr.f, dtype=np.float32)
    if attr.name == "value_floats":
        return np.array(list(attr.floats), dtype=np.float32)
    if attr.name == "value_int":
        return np.array(attr.i, dtype=np.int64)
    if attr.name == "value_ints":
        return np.array(list(attr.ints), dtype=np.int64)
    problems.append(f"{where}: Constant attribute '{attr.name}' is not supported")
    return None


def to_stored(name, array, problems):
    """(kind, array to store) for an initializer: float types as float32, ints as int32."""
    if array.dtype in (np.float32, np.float16, np.float64):
        return "float", np.ascontiguousarray(array, dtype=np.float32)
    if array.dtype in (np.int64, np.int32):
        if array.size and (array.min() < INT32_MIN or array.max() > INT32_MAX):
            # Slice-style "to the end" sentinels (INT64_MAX) are clamped: no tensor is that big.
            problems.append(
                f"initializer '{name}': {array.dtype} values [{array.min()}, {array.max()}] "
                "do not fit int32"
            )
            return None, None
        return "int", np.ascontiguousarray(array, dtype=np.int32)
    problems.append(f"initializer '{name}': dtype {array.dtype} is not supported (float or int)")
    return None, None


def topological_order(nodes, available):
    """Nodes reordered so every input is produced before use (ONNX requires it; we check)."""
    produced = set(available)
    pending = list(nodes)
    ordered = []
    while pending:
        ready = [n for n in pending if all(i == "" or i in produced for i in n["inputs"])]
        if not ready:
            missing = sorted(
                {i for n in pending for i in n["inputs"] if i and i not in produced}
            )
            raise ImportError_(
                "the graph has a cycle or reads values nothing produces: " + ", ".join(missing)
            )
        for n in ready:
            ordered.append(n)
            produced.update(o for o in n["outputs"] if o)
        pending = [n for n in pending if n not in ready]
    return ordered


def dims_of(value_info):
    """Shape of a graph input or output: ints, strings for symbolic dims, None if unknown."""
    t = value_info.type.tensor_type
    if not t.HasField("shape"):
        return None
    dims = []
    for d in t.shape.dim:
        if d.HasField("dim_value"):
            dims.append(d.dim_value)
        elif d.HasField("dim_param"):
            dims.append(d.dim_param)
        else:
            dims.append(None)
    return dims


def convert(model):
    """(tensors, metadata) for a loaded ONNX ModelProto; raises ImportError_ listing problems."""
    problems = []
    opset = None
    for imp in model.opset_import:
        if imp.domain in ("", "ai.onnx"):
            opset = imp.version
    if opset is None:
        raise ImportError_("the model imports no opset of the default domain (ai.onnx)")
    if not MIN_OPSET <= opset <= MAX_OPSET:
        problems.append(f"opset {opset} is outside the supported range {MIN_OPSET}..{MAX_OPSET}")

    graph = model.graph
    if len(graph.sparse_initializer):
        problems.append("sparse initializers are not supported")

    taken, tensors, initializers = set(), {}, []

    def add_initializer(onnx_name, array):
        kind, stored = to_stored(onnx_name, array, problems)
        if kind is None:
            return
        tensor_name = sanitize(onnx_name, taken)
        tensors[tensor_name] = stored
        initializers.append({"name": onnx_name, "tensor": tensor_name, "kind": kind})

    for init in graph.initializer:
        add_initializer(init.name, numpy_helper.to_array(init))
    init_names = {i.name for i in graph.initializer}

    nodes = []
    for index, node in enumerate(graph.node):
        name = node.name or f"{node.op_type}_{index}"
        where = f"node '{name}' ({node.op_type})"
        if node.domain not in ("", "ai.onnx"):
            problems.append(f"{where}: domain '{node.domain}' is not supported")
            continue
        if node.op_type == "Constant":
            value = constant_value(node, where, problems)
            if value is not None:
                add_initializer(node.output[0], value)
            continue
        if node.op_type not in SUPPORTED_OPS:
            problems.append(f"{where}: op {node.op_type} is not supported")
        attributes = {}
        for attr in node.attribute:
            value = convert_attribute(attr, where, problems)
            if value is not None:
                attributes[attr.name] = value
        nodes.append(
            {
                "name": name,
                "op_type": node.op_type,
                "inputs": list(node.input),
                "outputs": list(node.output),
                "attributes": attributes,
            }
        )

    inputs = []
    for vi in graph.input:
        if vi.name in init_names:
            continue  # old exporters list initializers as inputs too
        elem = vi.type.tensor_type.elem_type
        kind = value_kind(elem)
        if kind is None:
            problems.append(f"graph input '{vi.name}': type {type_name(elem)} is not supported")
        inputs.append({"name": vi.name, "dtype": type_name(elem), "shape": dims_of(vi)})
    outputs = [
        {"name": vi.name, "dtype": type_name(vi.type.tensor_type.elem_type), "shape": dims_of(vi)}
        for vi in graph.output
    ]

    if problems:
        raise ImportError_(
            f"cannot import: {len(problems)} problem(s)\n  " + "\n  ".join(problems)
        )
    available = [i["name"] for i in inputs] + [i["name"] for i in initializers]
    graph_json = {
        "opset": opset,
        "inputs": inputs,
        "outputs": outputs,
        "initializers": initializers,
        "nodes": topological_order(nodes, available),
    }
    producer = " ".join(p for p in (model.producer_name, model.producer_version) if p)
    metadata = {
        "architecture": "graph",
        "format_version": FORMAT_VERSION,
        "source": f"onnx {producer}".strip(),
        "graph": json.dumps(graph_json, separators=(",", ":"), allow_nan=False),
    }
    return tensors, metadata


def import_file(onnx_path, out_path, check=True):
    model = onnx.load(onnx_path)
    if check:
        onnx.checker.check_model(model)
    tensors, metadata = convert(model)
    save_file(tensors, out_path, metadata)
    return metadata


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("model", help="the .onnx file")
    parser.add_argument("--out", required=True, help="the .safetensors file to write")
    parser.add_argument(
        "--no-check", action="store_true", help="skip onnx.checker (for slightly broken exports)"
    )
    args = parser.parse_args(argv)
    try:
        metadata = import_file(args.model, args.out, check=not args.no_check)
    except (ImportError_, onnx.checker.ValidationError) as e:
        print(f"import_onnx: {args.model}: {e}", file=sys.stderr)
        return 1
    nodes = len(json.loads(metadata["graph"])["nodes"])
    print(f"wrote {args.out}: {nodes} nodes, {metadata['source']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
