"""weights_tools/import_onnx.py on small models built with onnx.helper: what it writes, and that
it refuses unsupported ops (all listed, with node names), subgraphs and unusable initializers."""

import json
import os
import sys
import tempfile
import unittest

import numpy as np
from onnx import TensorProto, helper, numpy_helper

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "weights_tools"))
from import_onnx import ImportError_, convert  # noqa: E402
from safetensors_io import load_file, save_file  # noqa: E402


def model_of(nodes, initializers=(), opset=13):
    graph = helper.make_graph(
        nodes, "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializer=list(initializers),
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


class ImportOnnxTest(unittest.TestCase):
    def test_writes_graph_metadata_and_tensors(self):
        shape = numpy_helper.from_array(np.array([2, -1], dtype=np.int64), "shape/const")
        nodes = [
            helper.make_node("Constant", [], ["k"], value_float=2.0),
            helper.make_node("Mul", ["x", "k"], ["t"], name="scale"),
            helper.make_node("Reshape", ["t", "shape/const"], ["y"], name="r"),
        ]
        tensors, meta = convert(model_of(nodes, [shape]))
        self.assertEqual(meta["architecture"], "graph")
        self.assertEqual(meta["format_version"], "1")
        graph = json.loads(meta["graph"])
        self.assertEqual(graph["opset"], 13)
        self.assertEqual(graph["inputs"], [{"name": "x", "dtype": "float", "shape": ["batch", 4]}])
        self.assertEqual([n["name"] for n in graph["nodes"]], ["scale", "r"])
        by_name = {i["name"]: i for i in graph["initializers"]}
        self.assertEqual(by_name["shape/const"]["kind"], "int")
        self.assertEqual(by_name["k"]["kind"], "float")
        np.testing.assert_array_equal(tensors[by_name["shape/const"]["tensor"]], [2, -1])
        self.assertEqual(tensors[by_name["shape/const"]["tensor"]].dtype, np.int32)
        self.assertEqual(float(tensors["k"]), 2.0)
        with tempfile.TemporaryDirectory() as d:
            save_file(tensors, os.path.join(d, "m.safetensors"), meta)
            _, back = load_file(os.path.join(d, "m.safetensors"))
            self.assertEqual(back["graph"], meta["graph"])

    def test_lists_every_unsupported_node(self):
        nodes = [
            helper.make_node("Cos", ["x"], ["a"], name="first"),
            helper.make_node("Relu", ["a"], ["b"], name="fine"),
            helper.make_node("Tan", ["b"], ["y"], name="second"),
        ]
        with self.assertRaises(ImportError_) as ctx:
            convert(model_of(nodes))
        message = str(ctx.exception)
        self.assertIn("2 problem(s)", message)
        self.assertIn("node 'first' (Cos)", message)
        self.assertIn("node 'second' (Tan)", message)
        self.assertNotIn("fine", message)

    def test_refuses_subgraphs_and_wide_integers(self):
        branch = helper.make_graph([], "b", [], [helper.make_tensor_value_info("x", 1, None)])
        node = helper.make_node("If", ["x"], ["y"], name="cond", then_branch=branch,
                                else_branch=branch)
        with self.assertRaises(ImportError_) as ctx:
            convert(model_of([node]))
        self.assertIn("subgraph", str(ctx.exception))
        big = numpy_helper.from_array(np.array([2**40], dtype=np.int64), "big")
        with self.assertRaises(ImportError_) as ctx:
            convert(model_of([helper.make_node("Reshape", ["x", "big"], ["y"])], [big]))
        self.assertIn("do not fit int32", str(ctx.exception))


if __name__ == "__main__":
    unittest.main()
