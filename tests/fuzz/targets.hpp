// The fuzz targets: one function per parser of outside data, each taking arbitrary bytes. A
// target may refuse its input only with fovea::Error, the clear error every loader promises;
// any other exception, a crash, a leak or a sanitizer report is a finding. The same functions
// run under libFuzzer (fuzz_target.cpp, scripts/fuzz.sh) and, in the normal test suite, on
// their seeds and on every input a fuzzer ever found (test_fuzz_regressions.cpp).
#pragma once

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "fovea/data/inflate.hpp"
#include "fovea/data/mnist.hpp"
#include "fovea/graph/graph_model.hpp"
#include "fovea/image/decode.hpp"
#include "fovea/image/preprocessing.hpp"
#include "fovea/image/resize.hpp"
#include "fovea/io/json.hpp"
#include "fovea/io/npy.hpp"
#include "fovea/io/safetensors.hpp"
#include "fovea/models/from_file.hpp"
#include "fovea/nn/conv2d.hpp"
#include "fovea/nn/linear.hpp"
#include "fovea/nn/sequential.hpp"
#include "fovea/quant/model_file.hpp"
#include "fovea/train/checkpoint.hpp"

namespace fovea::fuzz {

using Bytes = std::vector<uint8_t>;

namespace detail {

inline SafeTensorsFile safetensors_of(const uint8_t* data, size_t size) {
  return SafeTensorsFile::from_bytes(Bytes(data, data + size), "fuzz.safetensors");
}

// Reads every tensor the file lists, as float: offsets, shapes and dtype conversions.
inline void load_all_tensors(const SafeTensorsFile& file) {
  for (const TensorRecord& r : file.tensors())
    (void)file.load<float>(r.name);
}

// A small model whose tensors a checkpoint target restores, and an optimizer with state.
struct CheckpointSubject {
  nn::Sequential model;
  train::Sgd optimizer;
  CheckpointSubject() : optimizer(build(model), momentum()) {}
  static std::vector<nn::NamedTensor> build(nn::Sequential& m) {
    m.add(std::make_unique<nn::Conv2d>(1, 2, 3, Conv2dAttrs{}, true));
    m.add(std::make_unique<nn::Linear>(8, 3));
    return m.named_parameters_with_grads();
  }
  static train::SgdOptions momentum() {
    train::SgdOptions o;
    o.momentum = 0.9;
    return o;
  }
};

}  // namespace detail

// safetensors: the header's JSON, offsets, shapes and dtypes, then every tensor read.
inline void safetensors_file(const uint8_t* data, size_t size) {
  detail::load_all_tensors(detail::safetensors_of(data, size));
}

// A zoo weights file given to load_model: metadata (architecture, num_classes, bn_eps) and the
// state dict. Only the small architectures are built, to keep each run short; the loader's
// code is the same for every architecture.
inline void model_file(const uint8_t* data, size_t size) {
  const SafeTensorsFile file = detail::safetensors_of(data, size);
  const auto arch = file.metadata().find("architecture");
  if (arch == file.metadata().end()) return;
  if (arch->second != "lenet5" && arch->second != "resnet20_cifar") return;
  (void)load_model(file);
}

// An ONNX-derived graph file (weights_tools/import_onnx.py): the graph JSON and its nodes,
// attributes and initializers, compiled as load_model compiles them.
inline void graph_file(const uint8_t* data, size_t size) {
  (void)load_graph_model(detail::safetensors_of(data, size));
}

// An INT8 model file (examples/quantize): the op list, scales, zero points, tables.
inline void int8_file(const uint8_t* data, size_t size) {
  (void)quant::load_quantized(detail::safetensors_of(data, size));
}

// A training checkpoint restored into a fixed small model and its optimizer.
inline void checkpoint_file(const uint8_t* data, size_t size) {
  detail::CheckpointSubject subject;
  (void)train::load_checkpoint(detail::safetensors_of(data, size), subject.model,
                               subject.optimizer);
}

// .npy arrays, read as float.
inline void npy_file(const uint8_t* data, size_t size) {
  (void)parse_npy<float>(Bytes(data, data + size), "fuzz.npy");
}

// JSON text; whatever parses must print to text that parses to the same printed text.
inline void json_text(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const std::string printed = json::dump(json::parse(text, "fuzz.json"));
  const std::string reprinted = json::dump(json::parse(printed, "fuzz.json printed"));
  if (reprinted != printed) throw std::logic_error("JSON printed twice differs: " + printed);
}

// A preprocessing recipe (a model file's "preprocessing" metadata).
inline void preprocessing_json(const uint8_t* data, size_t size) {
  (void)Preprocessing::from_json(std::string(reinterpret_cast<const char*>(data), size),
                                 "fuzz preprocessing");
}

// JPEG, PNG and BMP through the stb_image wrapper, under 4-megapixel limits (the default limits
// are larger, not different), then resized as the input pipeline does.
inline void image_bytes(const uint8_t* data, size_t size) {
  DecodeLimits limits;
  limits.max_width = limits.max_height = 4096;
  limits.max_pixels = int64_t{1} << 22;
  const Image image = decode_image(data, size, "fuzz image", limits);
  (void)resize_shorter(image, 7);
}

// gzip streams (the MNIST files' container), inflated up to 64 MiB.
inline void gzip_stream(const uint8_t* data, size_t size) {
  (void)data::gunzip(data, size, "fuzz.gz", size_t{64} << 20);
}

// MNIST's IDX pair, each gzipped or not: the first byte splits the input into the images
// file and the labels file.
inline void mnist_idx(const uint8_t* data, size_t size) {
  if (size == 0) return;
  const size_t split = std::min<size_t>(size - 1, size_t{data[0]} * 8);
  const uint8_t* rest = data + 1;
  (void)data::parse_mnist(Bytes(rest, rest + split), "fuzz-images-idx3-ubyte",
                          Bytes(rest + split, data + size), "fuzz-labels-idx1-ubyte");
}

struct Target {
  const char* name;
  void (*run)(const uint8_t* data, size_t size);
};

inline constexpr Target kTargets[] = {
    {"safetensors", safetensors_file},
    {"model_file", model_file},
    {"graph", graph_file},
    {"int8_model", int8_file},
    {"checkpoint", checkpoint_file},
    {"npy", npy_file},
    {"json", json_text},
    {"preprocessing", preprocessing_json},
    {"image", image_bytes},
    {"gzip", gzip_stream},
    {"mnist", mnist_idx},
};

inline const Target* find_target(std::string_view name) {
  for (const Target& t : kTargets)
    if (name == t.name) return &t;
  return nullptr;
}

// Runs a target on one input: fovea::Error is the expected refusal, anything else escapes.
inline void run_one(const Target& target, const uint8_t* data, size_t size) {
  try {
    target.run(data, size);
  } catch (const Error&) {
  }
}

}  // namespace fovea::fuzz
