#!/usr/bin/python3
"""Writes the ONNX Runtime INT8 side of compare_int8.sh: one random-init torchvision model,
quantized with torch.ao post-training static quantization, as QDQ ONNX files.

    export_int8.py --model resnet50 --out-dir DIR --batches 1,8 [--calib-images 64]

  DIR/resnet50_int8_b1.onnx, …   one file per fixed batch size, opset 13

The float weights are export_models.py's (same builder, same seed, batch norms randomized the
same way), so these files and DIR/resnet50.safetensors hold one model.

How it quantizes (torch 1.13's FX graph mode, the x86 backend config; see backend_config):
  - weights: int8 per output channel, symmetric, in [-127, 127] (PerChannelMinMaxObserver),
  - activations: uint8 per tensor, affine, the full [0, 255], calibrated on --calib-images
    photos of --calib, chosen as fovea's quantize program chooses them (evenly spaced over
    the sorted list) and preprocessed with torchvision's ImageNet recipe; the ranges by
    fovea's percentile method (PercentileObserver, 99.99), or torch's HistogramObserver or
    MinMaxObserver with --observer,
  - biases: int32 with scale s_x · s_w[k], zero point 0,
  - ReLU6 with its own output params (backend_config), SiLU as x · sigmoid(x) in INT8
    (SiLUAsSigmoidMul), sigmoid with torch's fixed params (scale 1/256).
  The x86/fbgemm default qconfig keeps activations in [0, 127] (reduce_range, against
  VPMADDUBSW saturation); torch exports that range as QuantizeLinear → Clip → DequantizeLinear,
  which ONNX Runtime does not fuse, and fovea's scheme uses all 256 levels, so the full range it
  is. Both engines then run the same scheme (docs: include/fovea/quant/scheme.hpp).

How it exports: prepare_fx → calibrate → convert_to_reference_fx gives a model whose tensors
go quantize_per_tensor → dequantize between float ops and whose reference conv/linear modules
quantize their weights per channel. torch 1.13 cannot export quantize_per_channel to ONNX,
so while exporting, those modules fake-quantize their weights instead (same numbers; exported
as QuantizeLinear/DequantizeLinear with axis 0). The ONNX graph is then finished with the onnx
package (finish_qdq): constants folded, weights stored as int8 initializers, float biases
replaced by int32 ones behind a DequantizeLinear (ONNX Runtime fuses DQ → Conv → Q into
QLinearConv only when every input of the conv comes from a DequantizeLinear), ReLU/ReLU6
folded into the quantization after them (the Q then does the clamping, as fovea's conv
epilogue does), and the final Q → DQ pair after the classifier dropped, so the logits come out
in float as in fovea. ONNX Runtime (1.31) then runs every conv as QLinearConv, the residual
adds as QLinearAdd, the classifier as QGemm, EfficientNet's SiLU and squeeze-excitation as
QLinearSigmoid/QLinearMul/QLinearGlobalAveragePool.

Check: logit SQNR 10·log10(Σy² / Σ(y − ŷ)²) against the torch FP32 model on --check-images
photos outside the calibration set, for torch's own fake-quantized model and for ONNX Runtime
on each exported file (through node and bench/models/ort_run.js: Debian's python has no
onnxruntime module), and the operators ONNX Runtime runs after its graph optimizations.
Run with Debian's /usr/bin/python3 (torch 1.13, torchvision, onnx, PIL).
"""

import argparse
import collections
import copy
import os
import shutil
import subprocess
import sys
import tempfile
import warnings

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from PIL import Image
from torch.ao.nn.quantized.reference.modules.utils import ReferenceQuantizedModule
from torch.ao.quantization import (HistogramObserver, MinMaxObserver, PerChannelMinMaxObserver,
                                   QConfig, QConfigMapping, default_weight_observer)
from torch.ao.quantization.backend_config import BackendPatternConfig, ObservationType
from torch.ao.quantization.backend_config.x86 import (get_x86_backend_config,
                                                      x86_default_op_quint8_dtype_config)
from torch.ao.quantization.qconfig_mapping import _FIXED_QPARAMS_OP_TO_OBSERVER
from torch.ao.quantization.quantize_fx import convert_to_reference_fx, prepare_fx
from torchvision import transforms

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "weights_tools"))
from export_torchvision import randomize_batchnorm  # noqa: E402
from torchvision_models import build_model  # noqa: E402

OPSET = 13
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp")


# ---------------------------------------------------------------------------------- photos

def photo_list(folder):
    """Every photo under folder (recursively), sorted, as fovea's quantize lists them."""
    found = []
    for root, _, files in os.walk(folder):
        found += [os.path.join(root, f) for f in files if f.lower().endswith(IMAGE_SUFFIXES)]
    if not found:
        raise SystemExit(f"error: no photos under {folder}")
    return sorted(found)


def evenly_spaced(items, count):
    """count items spread over the list: item i * n / count, as fovea's quantize picks them."""
    n = len(items)
    return list(items) if count >= n else [items[i * n // count] for i in range(count)]


def load_photos(paths, size):
    """torchvision's ImageNet recipe: resize 256 (bilinear), center crop, normalize."""
    recipe = transforms.Compose([
        transforms.Resize(size * 256 // 224),
        transforms.CenterCrop(size),
        transforms.ToTensor(),
        transforms.Normalize(mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225)),
    ])
    return torch.stack([recipe(Image.open(p).convert("RGB")) for p in paths])


# ---------------------------------------------------------------------------- quantization

class PercentileObserver(MinMaxObserver):
    """fovea's `percentile` calibration (include/fovea/quant/observer.hpp): a first pass finds
    each tensor's min and max, a second counts it into 2048 bins over [min, max], and the range
    runs from the bin where the lowest (100 − p) % of the counts end to the one where the
    highest begin. quantize() runs the two passes, setting histogram_pass in between."""

    BINS = 2048

    def __init__(self, percentile=99.99, **kwargs):
        super().__init__(**kwargs)
        self.percentile = percentile
        self.histogram_pass = False
        self.register_buffer("counts", torch.zeros(self.BINS, dtype=torch.float64))

    def forward(self, x_orig):
        if not self.histogram_pass:
            return super().forward(x_orig)  # min and max
        lo, hi = float(self.min_val), float(self.max_val)
        if hi > lo:
            x = x_orig.detach().float().clamp(lo, hi)
            self.counts += torch.histc(x, self.BINS, lo, hi).double()
        return x_orig

    def calculate_qparams(self):
        lo_val, hi_val = float(self.min_val), float(self.max_val)
        counts = self.counts.tolist()
        if hi_val > lo_val and sum(counts) > 0:
            tail = sum(counts) * (100.0 - self.percentile) / 100.0
            width = (hi_val - lo_val) / self.BINS
            lo, hi, seen = 0, self.BINS - 1, 0.0
            while lo < hi and seen + counts[lo] <= tail:
                seen += counts[lo]
                lo += 1
            seen = 0.0
            while hi > lo and seen + counts[hi] <= tail:
                seen += counts[hi]
                hi -= 1
            lo_val, hi_val = (lo_val if lo == 0 else lo_val + lo * width,
                              hi_val if hi == self.BINS - 1 else lo_val + (hi + 1) * width)
        return self._calculate_qparams(torch.tensor(lo_val), torch.tensor(hi_val))


def qconfig_for(observer):
    activation = {"percentile": PercentileObserver, "histogram": HistogramObserver,
                  "minmax": MinMaxObserver}[observer]
    return QConfig(
        activation=activation.with_args(dtype=torch.quint8, qscheme=torch.per_tensor_affine,
                                        reduce_range=False),
        weight=PerChannelMinMaxObserver.with_args(dtype=torch.qint8,
                                                  qscheme=torch.per_channel_symmetric,
                                                  quant_min=-127, quant_max=127))


def backend_config():
    """torch's x86 backend config, except that ReLU6 gets its own output observer. The x86
    config has ReLU6 share its input's (a conv's output, negative values and all), so half of
    the 256 levels after every ReLU6 in MobileNetV2 would go unused; fovea clamps in the conv
    and quantizes [0, 6]. finish_qdq then folds the ReLU6 into that quantization."""
    config = get_x86_backend_config()
    for op in (torch.nn.ReLU6, torch.nn.functional.relu6, torch.nn.Hardtanh,
               torch.nn.functional.hardtanh, torch.nn.functional.hardtanh_):
        config.set_backend_pattern_config(
            BackendPatternConfig(op)
            .set_observation_type(ObservationType.OUTPUT_USE_DIFFERENT_OBSERVER_AS_INPUT)
            .set_dtype_configs([x86_default_op_quint8_dtype_config]))
    return config


class SiLUAsSigmoidMul(torch.nn.Module):
    """x · sigmoid(x), which FX quantizes as two ops (sigmoid with its fixed output params,
    then mul); torch's backend configs have no quantized SiLU and would leave it float. ONNX
    Runtime then runs them as QLinearSigmoid (a lookup table) and QLinearMul, as its own
    quantizer does for an exported SiLU."""

    def forward(self, x):
        return x * torch.sigmoid(x)


def quantize(model, calib, observer, batch=8):
    """prepare_fx, calibration on `calib` (N, 3, H, W), convert_to_reference_fx."""
    model = copy.deepcopy(model)
    for parent in list(model.modules()):
        for name, child in parent.named_children():
            if isinstance(child, torch.nn.SiLU):
                setattr(parent, name, SiLUAsSigmoidMul())
    backend = backend_config()
    # Ours for every op, except that sigmoid and the other fixed-range ops keep the fixed
    # output params torch requires of them (sigmoid: scale 1/256, zero point 0).
    mapping = QConfigMapping().set_global(qconfig_for(observer))
    for op, fixed in _FIXED_QPARAMS_OP_TO_OBSERVER.items():
        mapping.set_object_type(op, QConfig(activation=fixed, weight=default_weight_observer))
    prepared = prepare_fx(model, mapping, (calib[:1],), backend_config=backend)
    percentile = [m for m in prepared.modules() if isinstance(m, PercentileObserver)]
    with torch.no_grad():
        for calibration_pass in range(2 if percentile else 1):
            for m in percentile:
                m.histogram_pass = calibration_pass == 1
            for start in range(0, len(calib), batch):
                prepared(calib[start:start + batch])
    return convert_to_reference_fx(prepared, backend_config=backend)


class ExportableReferenceModules:
    """While active, torch.ao's reference conv/linear modules fake-quantize their weights
    (exportable as QuantizeLinear/DequantizeLinear) instead of quantize_per_channel →
    dequantize (no ONNX symbolic in torch 1.13), and keep their qscheme/dtype attributes out of
    the state_dict (the tracer detaches every state_dict entry)."""

    @staticmethod
    def _get_weight(module):
        # The observer gave per_channel_symmetric params; the reference module stores them as
        # per_channel_affine with zero points 0. Same arithmetic as _quantize_and_dequantize.
        assert module.weight_qscheme == torch.per_channel_affine, module.weight_qscheme
        return torch.fake_quantize_per_channel_affine(
            module.weight, module.weight_scale.float(), module.weight_zero_point.int(),
            int(module.weight_axis), -128, 127)

    def __enter__(self):
        self.saved = (ReferenceQuantizedModule.get_weight,
                      ReferenceQuantizedModule._save_to_state_dict)
        ReferenceQuantizedModule.get_weight = self._get_weight
        ReferenceQuantizedModule._save_to_state_dict = torch.nn.Module._save_to_state_dict
        return self

    def __exit__(self, *exc):
        (ReferenceQuantizedModule.get_weight,
         ReferenceQuantizedModule._save_to_state_dict) = self.saved


# ---------------------------------------------------------------------- ONNX graph surgery

def fold_activations(nodes, consts, outputs, changed):
    """finish_qdq's step 2: drops each Relu/Clip whose only reader is a QuantizeLinear whose
    range lies within the Relu/Clip's bounds, with a QuantizeLinear → DequantizeLinear pair
    that feeds only it. Returns the nodes left."""
    producer = {o: n for n in nodes for o in n.output}
    readers = collections.defaultdict(list)
    for n in nodes:
        for i in n.input:
            readers[i].append(n)
    gone = set()
    for act in nodes:
        if act.op_type not in ("Relu", "Clip") or act.output[0] in outputs:
            continue
        lo, hi = 0.0, np.inf
        if act.op_type == "Clip":
            bounds = list(act.input[1:]) + ["", ""]
            if any(b and b not in consts for b in bounds[:2]):
                continue
            lo = float(consts[bounds[0]]) if bounds[0] else -np.inf
            hi = float(consts[bounds[1]]) if bounds[1] else np.inf
        users = readers[act.output[0]]
        if len(users) != 1 or users[0].op_type != "QuantizeLinear":
            continue
        q = users[0]
        scale = float(consts[q.input[1]])
        zero_point = consts[q.input[2]]
        info = np.iinfo(zero_point.dtype)
        q_lo, q_hi = scale * (info.min - int(zero_point)), scale * (info.max - int(zero_point))
        if q_lo < lo or q_hi > hi * (1 + 1e-6):  # float rounding of scale = hi / 255
            continue
        source = act.input[0]
        dq = producer.get(source)
        if dq is not None and dq.op_type == "DequantizeLinear" and readers[source] == [act]:
            q_before = producer.get(dq.input[0])
            if (q_before is not None and q_before.op_type == "QuantizeLinear" and
                    readers[dq.input[0]] == [dq]):
                source = q_before.input[0]
                gone.update((id(q_before), id(dq)))
                changed["Q/DQ pairs before a Relu/Clip removed"] += 1
        q.input[0] = source
        gone.add(id(act))
        changed[f"{act.op_type} folded into the next QuantizeLinear"] += 1
    return [n for n in nodes if id(n) not in gone]


def finish_qdq(model):
    """Turns torch's export of the reference model into the QDQ graph ONNX Runtime fuses:
    folds Constant/Identity/Cast of constants and QuantizeLinear of weights into
    initializers (int8 weights), folds ReLU/ReLU6 into the quantization after them, gives
    every Conv/Gemm bias an int32 DequantizeLinear, drops the Q → DQ pair on the graph's
    output. Returns counts of what it changed."""
    graph = model.graph
    consts = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    changed = collections.Counter()

    def quantize_linear(x, scale, zero_point, axis):
        # ONNX QuantizeLinear: saturate(round_half_even(x / scale) + zero_point).
        if scale.ndim == 1 and x.ndim > 1:
            shape = [1] * x.ndim
            shape[axis] = -1
            scale, zp = scale.reshape(shape), zero_point.reshape(shape)
        else:
            zp = zero_point
        info = np.iinfo(zero_point.dtype)
        q = np.rint(x.astype(np.float32) / scale.astype(np.float32)) + zp.astype(np.int64)
        return np.clip(q, info.min, info.max).astype(zero_point.dtype)

    # 1. Fold constants (the graph is topologically sorted, so one pass does it), and drop
    # the Cast torch puts between each QuantizeLinear and its DequantizeLinear (a cast to the
    # type the QuantizeLinear already gives).
    kept = []
    renamed = {}
    q_type = {}  # QuantizeLinear output → its zero point's ONNX type
    for node in graph.node:
        for i, name in enumerate(node.input):
            node.input[i] = renamed.get(name, name)
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        inputs_const = all(i in consts for i in node.input if i)
        if node.op_type == "QuantizeLinear" and not inputs_const and node.input[2] in consts:
            q_type[node.output[0]] = onnx.mapping.NP_TYPE_TO_TENSOR_TYPE[
                consts[node.input[2]].dtype]
        if node.op_type == "Cast" and q_type.get(node.input[0]) == attrs["to"]:
            renamed[node.output[0]] = node.input[0]
        elif node.op_type == "Constant":
            consts[node.output[0]] = numpy_helper.to_array(attrs["value"])
        elif node.op_type == "Identity" and inputs_const:
            consts[node.output[0]] = consts[node.input[0]]
        elif node.op_type == "Cast" and inputs_const:
            dtype = onnx.mapping.TENSOR_TYPE_TO_NP_TYPE[attrs["to"]]
            consts[node.output[0]] = consts[node.input[0]].astype(dtype)
        elif node.op_type == "QuantizeLinear" and inputs_const:
            consts[node.output[0]] = quantize_linear(*(consts[i] for i in node.input[:3]),
                                                     attrs.get("axis", 1))
            changed["weights stored as int8"] += 1
        else:
            kept.append(node)
            continue
        changed[f"{node.op_type} removed"] += 1

    # 2. ReLU and ReLU6 into the quantization after them. torch quantizes a conv's output
    # and then ReLU6's again (Conv → Q → DQ → Clip → Q); an INT8 engine clamps in the conv's
    # epilogue instead, and ONNX Runtime fuses Conv → Q only. Where the Q after the Relu/Clip
    # cannot represent anything outside its bounds (zero point 0, top ≤ 6), the Relu/Clip is a
    # no-op on the quantized values: it goes, with the Q → DQ pair right before it.
    kept = fold_activations(kept, consts, {o.name for o in graph.output}, changed)

    # 3. Int32 biases: bias_q = round(b / (s_x · s_w[k])), dequantized along axis 0.
    producer = {o: n for n in kept for o in n.output}
    final = []
    for node in kept:
        if node.op_type in ("Conv", "Gemm") and len(node.input) == 3 and node.input[2] in consts:
            dq_x, dq_w = producer.get(node.input[0]), producer.get(node.input[1])
            if (dq_x is not None and dq_w is not None and
                    dq_x.op_type == dq_w.op_type == "DequantizeLinear"):
                s_x = consts[dq_x.input[1]].astype(np.float64)
                s_w = np.broadcast_to(consts[dq_w.input[1]].astype(np.float64),
                                      consts[node.input[2]].shape)
                scale = (s_x * s_w).astype(np.float32)
                bias = consts[node.input[2]].astype(np.float64)
                q = np.clip(np.rint(bias / scale.astype(np.float64)), -2**31, 2**31 - 1)
                name = node.input[2]
                consts[name + "_quantized"] = q.astype(np.int32)
                consts[name + "_scale"] = scale
                consts[name + "_zero_point"] = np.zeros(scale.shape, np.int32)
                final.append(helper.make_node(
                    "DequantizeLinear",
                    [name + "_quantized", name + "_scale", name + "_zero_point"],
                    [name + "_dequantized"], name=name + "_DequantizeLinear", axis=0))
                node.input[2] = name + "_dequantized"
                changed["biases stored as int32"] += 1
        final.append(node)

    # 4. Float logits: the graph output's last Q → DQ pair goes (the classifier's output is
    # then dequantized inside the fused op, as fovea's last layer outputs float).
    producer = {o: n for n in final for o in n.output}
    for out in graph.output:
        dq = producer.get(out.name)
        q = producer.get(dq.input[0]) if dq is not None and dq.op_type == "DequantizeLinear" \
            else None
        if q is not None and q.op_type == "QuantizeLinear":
            source = producer[q.input[0]]
            source.output[list(source.output).index(q.input[0])] = out.name
            final = [n for n in final if n is not q and n is not dq]
            changed["output Q/DQ pair dropped"] += 1

    # Keep only the constants something still reads.
    used = {i for n in final for i in n.input}
    del graph.node[:]
    graph.node.extend(final)
    del graph.initializer[:]
    graph.initializer.extend(numpy_helper.from_array(np.asarray(v), name)
                             for name, v in consts.items() if name in used)
    return changed


def export_qdq(reference, batch, size, path):
    with ExportableReferenceModules(), warnings.catch_warnings():
        # The tracer warns about int(axis) and about the shapes of quantized tuples: both fine.
        warnings.simplefilter("ignore")
        torch.onnx.export(reference, torch.randn(batch, 3, size, size), path,
                          opset_version=OPSET, input_names=["image"], output_names=["logits"])
    model = onnx.load(path)
    changed = finish_qdq(model)
    onnx.checker.check_model(model)
    onnx.save(model, path)
    ops = collections.Counter(n.op_type for n in model.graph.node)
    return changed, ops


# ----------------------------------------------------------------------------- the check

def sqnr_db(reference, test):
    reference, test = np.asarray(reference, np.float64), np.asarray(test, np.float64)
    return 10 * np.log10(np.sum(reference ** 2) / max(np.sum((reference - test) ** 2), 1e-300))


def ort_runner(ort_dir):
    """A function (model path, inputs, optimized path or None) → ONNX Runtime's outputs, or None
    when no ONNX Runtime can be found. Python's onnxruntime if installed, else node."""
    try:
        import onnxruntime  # noqa: F401  (absent from Debian's python; used when present)

        def run_python(path, x, optimized):
            options = onnxruntime.SessionOptions()
            options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
            if optimized:
                options.optimized_model_filepath = optimized
            session = onnxruntime.InferenceSession(path, options,
                                                   providers=["CPUExecutionProvider"])
            batch = session.get_inputs()[0].shape[0]
            return np.concatenate([session.run(None, {"image": x[i:i + batch]})[0]
                                   for i in range(0, len(x), batch)])
        return run_python
    except ImportError:
        pass
    node = shutil.which("node")
    if node is None or not os.path.isdir(os.path.join(ort_dir, "node_modules", "onnxruntime-node")):
        return None

    def run_node(path, x, optimized):
        with tempfile.TemporaryDirectory() as tmp:
            x_path, y_path = os.path.join(tmp, "x.npy"), os.path.join(tmp, "y.npy")
            np.save(x_path, np.ascontiguousarray(x, np.float32))
            command = [node, os.path.join(HERE, "ort_run.js"), path, x_path, y_path, "2"]
            subprocess.run(command + ([optimized] if optimized else []), check=True,
                           stdout=subprocess.DEVNULL,
                           env=dict(os.environ, NODE_PATH=os.path.join(ort_dir, "node_modules")))
            return np.load(y_path)
    return run_node


def fused_ops(path):
    """Operator counts of the graph ONNX Runtime saved after its optimizations."""
    graph = onnx.load(path).graph
    return collections.Counter(
        (n.domain + "." if n.domain not in ("", "ai.onnx") else "") + n.op_type for n in graph.node)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True,
                        help="a torchvision architecture fovea runs: resnet50, mobilenet_v2, …")
    parser.add_argument("--out-dir", required=True)
    parser.add_argument("--batches", default="1,8", help="comma-separated fixed ONNX batch sizes")
    parser.add_argument("--calib",
                        default=os.path.join(HERE, "..", "..", "..", "shared", "data", "imagenet",
                                             "samples"),
                        help="calibration photos (never the evaluation set)")
    parser.add_argument("--calib-images", type=int, default=64)
    parser.add_argument("--observer", choices=["percentile", "histogram", "minmax"],
                        default="percentile",
                        help="activation ranges: fovea's percentile method (99.99, as "
                             "compare_int8.sh runs fovea's quantize), torch's HistogramObserver "
                             "(its x86 default) or MinMaxObserver")
    parser.add_argument("--check-images", type=int, default=16,
                        help="photos outside the calibration set for the SQNR check (0: none)")
    parser.add_argument("--ort-dir", default=os.path.expanduser("~/.cache/fovea/ort"),
                        help="where `npm install --ignore-scripts onnxruntime-node` was run")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if os.path.realpath(args.calib).rstrip("/").endswith("imagenet/val"):
        raise SystemExit("error: the validation set is for evaluation only; calibrate on samples")

    os.makedirs(args.out_dir, exist_ok=True)
    # Exactly export_models.py's model: same builder, seed and batch-norm randomization.
    torch.manual_seed(args.seed)
    model = build_model(args.model, 1000)
    randomize_batchnorm(model)
    model.eval()

    photos = photo_list(args.calib)
    calib_paths = evenly_spaced(photos, args.calib_images)
    chosen = set(calib_paths)
    check_paths = evenly_spaced([p for p in photos if p not in chosen], args.check_images) \
        if args.check_images > 0 else []
    print(f"{args.model}: calibrating on {len(calib_paths)} photos of {args.calib} "
          f"({args.observer} observer) ...", flush=True)
    reference = quantize(model, load_photos(calib_paths, args.size), args.observer)

    stem = os.path.join(args.out_dir, args.model)
    paths = []
    for batch in (int(b) for b in args.batches.split(",")):
        path = f"{stem}_int8_b{batch}.onnx"
        changed, ops = export_qdq(reference, batch, args.size, path)
        paths.append(path)
        print(f"wrote {path}: {dict(ops)}")
        print(f"  finish_qdq: {dict(changed)}")

    if not check_paths:
        return
    x = load_photos(check_paths, args.size)
    with torch.no_grad():
        y_fp32 = model(x).numpy()
        y_fake = reference(x).numpy()
    print(f"logit SQNR against torch FP32 on {len(x)} photos outside the calibration set:")
    print(f"  torch fake-quantized reference model: {sqnr_db(y_fp32, y_fake):.1f} dB")
    run = ort_runner(args.ort_dir)
    if run is None:
        print(f"  ONNX Runtime: skipped (no python onnxruntime, and no node or "
              f"onnxruntime-node in {args.ort_dir})")
        return
    for i, path in enumerate(paths):
        with tempfile.TemporaryDirectory() as tmp:
            optimized = os.path.join(tmp, "optimized.onnx") if i == 0 else None
            y_ort = run(path, x.numpy(), optimized)
            print(f"  ONNX Runtime INT8 {os.path.basename(path)}: "
                  f"{sqnr_db(y_fp32, y_ort):.1f} dB "
                  f"({sqnr_db(y_fake, y_ort):.1f} dB against the torch reference model)")
            if optimized:
                print(f"  ONNX Runtime runs, after its optimizations: {dict(fused_ops(optimized))}")


if __name__ == "__main__":
    main()
