// Seed inputs for the fuzz targets, generated (never downloaded or committed): a few valid
// files of each format written by fovea's own writers or by hand, so the fuzzer starts from
// inputs that reach deep into each parser.
#pragma once

#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "../data/gzip_fixtures.hpp"
#include "../image/hand_encoded.hpp"
#include "fovea/models/init.hpp"
#include "fovea/models/registry.hpp"
#include "fovea/plan/inference.hpp"
#include "fovea/quant/calibrate.hpp"
#include "fovea/quant/compile.hpp"
#include "seed_images.hpp"
#include "targets.hpp"

namespace fovea::fuzz {

namespace seed_detail {

inline Bytes of(const std::string& s) {
  return Bytes(s.begin(), s.end());
}

inline Bytes read_and_remove(const std::string& path) {
  Bytes b = io::read_file(path);
  std::remove(path.c_str());
  return b;
}

inline Tensor<float> ramp(const Shape& shape) {
  Tensor<float> t(shape);
  for (int64_t i = 0; i < t.numel(); ++i)
    t[i] = 0.25f * float(i % 7) - 0.5f;
  return t;
}

inline Image test_image(int64_t h, int64_t w, int64_t c) {
  Image img(h, w, c);
  for (size_t i = 0; i < img.pixels.size(); ++i)
    img.pixels[i] = uint8_t(i * 37 + 11);
  return img;
}

// A graph file like weights_tools/import_onnx.py writes: conv, relu, pooling, flatten, gemm.
inline Bytes graph_seed() {
  SafeTensorsWriter w;
  w.add("w", ramp({2, 1, 3, 3}));
  w.add("b", ramp({2}));
  w.add("fc", ramp({3, 2}));
  w.set_metadata("architecture", "graph");
  w.set_metadata("format_version", "1");
  w.set_metadata(
      "graph",
      R"({"opset":13,"inputs":[{"name":"x","dtype":"float","shape":[1,1,8,8]}],)"
      R"("outputs":[{"name":"y","dtype":"float"}],"initializers":[)"
      R"({"name":"w","tensor":"w","kind":"float"},{"name":"b","tensor":"b","kind":"float"},)"
      R"({"name":"fc","tensor":"fc","kind":"float"}],"nodes":[)"
      R"({"name":"c","op_type":"Conv","inputs":["x","w","b"],"outputs":["c"],)"
      R"("attributes":{"pads":[1,1,1,1],"strides":[2,2],"kernel_shape":[3,3]}},)"
      R"({"name":"r","op_type":"Relu","inputs":["c"],"outputs":["r"],"attributes":{}},)"
      R"({"name":"p","op_type":"GlobalAveragePool","inputs":["r"],"outputs":["p"],)"
      R"("attributes":{}},)"
      R"({"name":"f","op_type":"Flatten","inputs":["p"],"outputs":["f"],)"
      R"("attributes":{"axis":1}},)"
      R"({"name":"g","op_type":"Gemm","inputs":["f","fc"],"outputs":["y"],)"
      R"("attributes":{"transB":1}}]})");
  return of(w.serialize());
}

inline std::unique_ptr<nn::Module> small_model(const char* name) {
  std::unique_ptr<nn::Module> model = build_model(name);
  init_weights(*model, 3);
  return model;
}

inline Bytes model_seed(const char* name) {
  std::unique_ptr<nn::Module> model = small_model(name);
  SafeTensorsWriter w;
  w.set_metadata("architecture", name);
  w.set_metadata("num_classes", "1000");  // build_model's default
  for (const nn::NamedTensor& t : model->named_tensors())
    w.add(t.name, *t.tensor);
  return of(w.serialize());
}

inline Bytes int8_seed(const std::string& dir) {
  std::unique_ptr<nn::Module> model = small_model("lenet5");
  prepare_for_inference(*model);
  const nn::Dataflow graph = nn::lower_to_dataflow(*model);
  quant::QuantizedModel fp32 = quant::compile_fp32(graph, "lenet5");
  std::vector<Tensor<float>> images{ramp({1, 1, 32, 32})};
  const auto ranges = quant::calibrate(fp32, images, quant::CalibrationOptions{});
  const quant::QuantizedModel q = quant::compile_model(graph, ranges, {}, "lenet5");
  const std::string path = dir + "/seed_int8.safetensors";
  quant::save_quantized(q, path);
  return read_and_remove(path);
}

inline Bytes checkpoint_seed(const std::string& dir) {
  detail::CheckpointSubject subject;
  subject.optimizer.state().emplace("0.weight", ramp({2, 1, 3, 3}));
  const std::string path = dir + "/seed_checkpoint.safetensors";
  train::save_checkpoint(path, subject.model, subject.optimizer, train::CheckpointInfo{3, 42});
  return read_and_remove(path);
}

template <class T>
Bytes npy_seed(const std::string& dir, const Shape& shape) {
  Tensor<T> t(shape);
  for (int64_t i = 0; i < t.numel(); ++i)
    t[i] = T(i % 5);
  const std::string path = dir + "/seed.npy";
  write_npy(path, t);
  return read_and_remove(path);
}

inline Bytes idx(std::vector<uint32_t> dims, size_t data_bytes) {
  Bytes b{0, 0, 8, uint8_t(dims.size())};
  for (uint32_t d : dims)
    fovea::test::put_be(b, d, 4);
  for (size_t i = 0; i < data_bytes; ++i)
    b.push_back(uint8_t(i % 10));
  return b;
}

// The mnist target's layout: a byte giving the images' length / 8, the images, the labels.
inline Bytes mnist_seed() {
  const Bytes images = idx({2, 4, 4}, 32), labels = idx({2}, 2);
  Bytes b = images;
  b.insert(b.begin(), uint8_t(images.size() / 8));
  b.insert(b.end(), labels.begin(), labels.end());
  return b;
}

}  // namespace seed_detail

// The seeds of `target`; `scratch_dir` holds the temporary files some writers need.
inline std::vector<Bytes> seeds(std::string_view target, const std::string& scratch_dir) {
  using namespace seed_detail;
  if (target == "safetensors") {
    SafeTensorsWriter w;
    w.add("a", ramp({2, 3}));
    w.add("h", Tensor<half>(Shape{4}));
    w.add("i", Tensor<int32_t>(Shape{1, 2}));
    w.add("s", Tensor<int8_t>(Shape{3}));
    w.set_metadata("note", "seed");
    return {of(w.serialize()), of(SafeTensorsWriter().serialize())};
  }
  if (target == "model_file") return {model_seed("lenet5")};
  if (target == "graph") return {graph_seed()};
  if (target == "int8_model") return {int8_seed(scratch_dir)};
  if (target == "checkpoint") return {checkpoint_seed(scratch_dir)};
  if (target == "npy") {
    return {npy_seed<float>(scratch_dir, {2, 3}), npy_seed<int32_t>(scratch_dir, {5}),
            npy_seed<double>(scratch_dir, {1, 1, 2})};
  }
  if (target == "json") {
    return {of(R"({"a":[1,-2.5e3,true,false,null],"b":{"c":"\u00e9\n\"x\""},"d":[]})"),
            of(R"([0.1,1e308,-0,123456789012345678901234567890,"\ud83d\ude00"])"),
            of(Preprocessing{}.to_json())};
  }
  if (target == "preprocessing")
    return {of(Preprocessing{}.to_json()), of(Preprocessing::keras_caffe().to_json())};
  if (target == "image") {
    return {jpeg_of(test_image(9, 13, 3), 90),
            jpeg_of(test_image(8, 5, 1), 50),
            png_of(test_image(6, 7, 3)),
            png_of(test_image(5, 4, 4)),
            fovea::test::png_bytes(test_image(3, 5, 1)),
            fovea::test::bmp_bytes(test_image(4, 6, 3))};
  }
  if (target == "gzip") {
    return {Bytes(std::begin(kGzipStored), std::end(kGzipStored)),
            Bytes(std::begin(kGzipDynamic), std::end(kGzipDynamic)),
            Bytes(std::begin(kGzipFixed), std::end(kGzipFixed))};
  }
  if (target == "mnist") return {mnist_seed()};
  fail("no seeds for fuzz target '", std::string(target), "'");
}

}  // namespace fovea::fuzz
