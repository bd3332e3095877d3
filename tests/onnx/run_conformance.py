#!/usr/bin/python3
"""ONNX operator conformance: runs the ONNX backend node tests for fovea's ops through
weights_tools/import_onnx.py and the onnx_run executable, and compares with the expected
outputs (float: rtol 1e-4, atol 1e-5; integers exactly).

    run_conformance.py --runner build/tests/onnx/onnx_run --work /tmp/conf [--report docs/onnx_support.md]

Test data: Debian's libonnx-testdata (/usr/share/libonnx-testdata/data/node/test_*/). A test
fovea cannot run is "unsupported" only when EXPECTED_UNSUPPORTED explains why; any other
refusal, error or mismatch is a failure, and the exit status is 1. Exit status 77 (CTest's
skip) when python3-onnx or the test data are missing.
"""

import argparse
import collections
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "weights_tools"))

DEFAULT_DATA = "/usr/share/libonnx-testdata/data/node"
RTOL, ATOL = 1e-4, 1e-5

# Test name prefix -> the op it exercises. Tests whose nodes include none of these op types
# (ConvInteger, ConvTranspose, MatMulInteger share prefixes) are out of scope.
PREFIXES = {
    "test_basic_conv": "Conv",
    "test_conv_": "Conv",
    "test_batchnorm_": "BatchNormalization",
    "test_maxpool_": "MaxPool",
    "test_averagepool_": "AveragePool",
    "test_globalaveragepool": "GlobalAveragePool",
    "test_gemm_": "Gemm",
    "test_matmul": "MatMul",
    "test_relu": "Relu",
    "test_clip": "Clip",
    "test_sigmoid": "Sigmoid",
    "test_hardswish": "HardSwish",
    "test_hardsigmoid": "HardSigmoid",
    "test_add": "Add",
    "test_mul": "Mul",
    "test_softmax": "Softmax",
    "test_flatten": "Flatten",
    "test_reshape": "Reshape",
    "test_concat": "Concat",
}

# Test -> a substring of the reason fovea gives for not running it. Anything unsupported that
# is not listed here fails the run.
EXPECTED_UNSUPPORTED = {
    "test_add_uint8": "input type uint8",
    "test_mul_uint8": "input type uint8",
    "test_maxpool_2d_uint8": "input type uint8",
    "test_clip_default_int8_inbounds": "input type int8",
    "test_clip_default_int8_max": "input type int8",
    "test_clip_default_int8_min": "input type int8",
    "test_batchnorm_epsilon_training_mode": "training_mode=1 is not supported",
    "test_batchnorm_example_training_mode": "training_mode=1 is not supported",
    "test_averagepool_3d_default": "3-D pooling is not supported",
    "test_maxpool_3d_default": "3-D pooling is not supported",
    "test_maxpool_with_argmax_2d_precomputed_pads": "output 1 ('z') is not supported",
    "test_maxpool_with_argmax_2d_precomputed_strides": "output 1 ('z') is not supported",
}

Result = collections.namedtuple("Result", "test op status detail")


def select_tests(data_dir, onnx):
    selected = []
    for test in sorted(os.listdir(data_dir)):
        op = next((op for p, op in PREFIXES.items() if test.startswith(p)), None)
        if op is None:
            continue
        model = onnx.load(os.path.join(data_dir, test, "model.onnx"))
        if op in {n.op_type for n in model.graph.node}:
            selected.append((test, op, model))
    return selected


def run_one(test, op, model, args, onnx, np):
    from import_onnx import ImportError_, convert
    from onnx import numpy_helper
    from safetensors_io import save_file

    case_dir = os.path.join(args.data, test)
    work = os.path.join(args.work, test)
    os.makedirs(work, exist_ok=True)
    init_names = {i.name for i in model.graph.initializer}
    for vi in model.graph.input:
        elem = vi.type.tensor_type.elem_type
        if vi.name not in init_names and elem not in (
            onnx.TensorProto.FLOAT,
            onnx.TensorProto.INT64,
        ):
            name = onnx.TensorProto.DataType.Name(elem).lower()
            return Result(test, op, "unsupported", f"input type {name}")
    try:
        tensors, metadata = convert(model)
    except ImportError_ as e:
        return Result(test, op, "unsupported", str(e).splitlines()[-1].strip())
    weights = os.path.join(work, "model.safetensors")
    save_file(tensors, weights, metadata)

    data_set = os.path.join(case_dir, "test_data_set_0")

    def read_pb(path):
        t = onnx.TensorProto()
        with open(path, "rb") as f:
            t.ParseFromString(f.read())
        return numpy_helper.to_array(t)

    inputs = []
    for i in range(sum(1 for f in os.listdir(data_set) if f.startswith("input_"))):
        path = os.path.join(work, f"input_{i}.npy")
        np.save(path, read_pb(os.path.join(data_set, f"input_{i}.pb")))
        inputs.append(path)
    proc = subprocess.run(
        [args.runner, weights, work] + inputs, capture_output=True, text=True, timeout=60
    )
    message = proc.stderr.strip().replace("\n", " ")
    if proc.returncode == 3:
        return Result(test, op, "unsupported", message.split(": ", 3)[-1])
    if proc.returncode != 0:
        return Result(test, op, "failed", message or f"exit status {proc.returncode}")
    worst = 0.0
    for i in range(sum(1 for f in os.listdir(data_set) if f.startswith("output_"))):
        want = read_pb(os.path.join(data_set, f"output_{i}.pb"))
        got = np.load(os.path.join(work, f"output_{i}.npy"))
        if got.shape != want.shape:
            return Result(test, op, "failed", f"output {i} shape {got.shape}, want {want.shape}")
        if want.dtype.kind in "iub":
            if not np.array_equal(got.astype(np.int64), want.astype(np.int64)):
                return Result(test, op, "failed", f"output {i} integers differ")
            continue
        if not np.allclose(got, want, rtol=RTOL, atol=ATOL, equal_nan=True):
            err = float(np.max(np.abs(got.astype(np.float64) - want)))
            return Result(test, op, "failed", f"output {i} max abs error {err:.3g}")
        if want.size:
            worst = max(worst, float(np.max(np.abs(got.astype(np.float64) - want))))
    return Result(test, op, "passed", f"max abs error {worst:.2g}")


def check_expectations(results):
    """Unsupported results become failures unless EXPECTED_UNSUPPORTED names them."""
    checked = []
    for r in results:
        if r.status == "unsupported":
            expected = EXPECTED_UNSUPPORTED.get(r.test)
            if expected is None or expected not in r.detail:
                r = r._replace(status="failed", detail="unexpectedly unsupported: " + r.detail)
        checked.append(r)
    return checked


def write_report(results, path):
    by_op = collections.OrderedDict()
    for r in sorted(results, key=lambda r: (r.op, r.test)):
        by_op.setdefault(r.op, []).append(r)
    lines = [
        "# ONNX operator conformance",
        "",
        "Generated by `tests/onnx/run_conformance.py --report docs/onnx_support.md` from the ONNX",
        "backend node tests in Debian's libonnx-testdata (float outputs within rtol 1e-4 and",
        "atol 1e-5, integer outputs exactly). Do not edit by hand. docs/onnx.md describes the",
        "importer and the runtime.",
        "",
        "| op | passed | failed | unsupported | notes |",
        "|---|---|---|---|---|",
    ]
    for op, rs in by_op.items():
        count = collections.Counter(r.status for r in rs)
        notes = "; ".join(
            f"`{r.test}`: {r.detail}" for r in rs if r.status in ("unsupported", "failed")
        )
        lines.append(
            f"| {op} | {count['passed']} | {count['failed']} | {count['unsupported']} | "
            f"{notes} |"
        )
    lines += ["", "## Every case", "", "| test | op | result | detail |", "|---|---|---|---|"]
    for r in sorted(results, key=lambda r: r.test):
        lines.append(f"| `{r.test}` | {r.op} | {r.status} | {r.detail} |")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runner", required=True, help="the onnx_run executable")
    parser.add_argument("--work", required=True, help="scratch folder for converted cases")
    parser.add_argument("--data", default=DEFAULT_DATA, help="the ONNX node test folder")
    parser.add_argument("--report", help="write the markdown support table here")
    args = parser.parse_args()
    try:
        import numpy as np
        import onnx
    except ImportError as e:
        print(f"SKIPPED: {sys.executable} cannot import onnx and numpy ({e})")
        return 77
    if not os.path.isdir(args.data):
        print(f"SKIPPED: no ONNX node test data at {args.data} (Debian: libonnx-testdata)")
        return 77

    results = []
    for test, op, model in select_tests(args.data, onnx):
        try:
            r = run_one(test, op, model, args, onnx, np)
        except Exception as e:  # a crash in one case must not hide the others
            r = Result(test, op, "failed", f"{type(e).__name__}: {e}")
        results.append(r)
    results = check_expectations(results)
    for r in results:
        print(f"{r.status:12} {r.test}: {r.detail}")
    count = collections.Counter(r.status for r in results)
    print(
        f"{len(results)} cases: {count['passed']} passed, {count['failed']} failed, "
        f"{count['unsupported']} unsupported"
    )
    if args.report:
        write_report(results, args.report)
    return 1 if count["failed"] or not results else 0


if __name__ == "__main__":
    sys.exit(main())
