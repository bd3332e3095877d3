#include <doctest/doctest.h>

#include <cstdio>
#include <cstring>
#include <memory>
#include <string>

#include "fovea/io/state_dict.hpp"
#include "fovea/nn/conv2d.hpp"
#include "fovea/nn/sequential.hpp"
#include "io/io_test_util.hpp"

using namespace fovea;

namespace {

// Sequential(Conv2d(in, 4, 3x3, bias), Conv2d(4, 2, 1x1, no bias)): tensors "0.weight",
// "0.bias", "1.weight".
std::unique_ptr<nn::Sequential> tiny_net(int64_t in_channels) {
  auto net = std::make_unique<nn::Sequential>();
  net->add(std::make_unique<nn::Conv2d>(in_channels, 4, 3, Conv2dAttrs::make(1, 1), true));
  net->add(std::make_unique<nn::Conv2d>(4, 2, 1, Conv2dAttrs{}, false));
  return net;
}

void randomize(nn::Module& m, uint64_t seed) {
  for (const nn::NamedTensor& t : m.named_tensors())
    t.tensor->fill_uniform(seed++, -1, 1);
}

SafeTensorsFile as_file(const SafeTensorsWriter& w, const std::string& name) {
  const std::string bytes = w.serialize();
  return SafeTensorsFile::from_bytes(std::vector<uint8_t>(bytes.begin(), bytes.end()), name);
}

std::string load_error(nn::Module& m, const SafeTensorsFile& f, bool strict = true) {
  try {
    load_state_dict(m, f, strict);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST_SUITE("io") {
  TEST_CASE("state_dict round trip restores every tensor and the output") {
    auto a = tiny_net(3);
    randomize(*a, 1);
    const std::string path = test::temp_path("tiny_net.safetensors");
    save_state_dict(*a, path, {{"architecture", "tiny"}, {"num_classes", "2"}});

    const SafeTensorsFile f = SafeTensorsFile::open(path);
    CHECK(f.metadata().at("format_version") == "1");
    CHECK(f.metadata().at("architecture") == "tiny");
    CHECK(f.metadata().at("num_classes") == "2");
    REQUIRE(f.tensors().size() == 3);
    CHECK(f.record("0.weight").shape == Shape{4, 3, 3, 3});
    CHECK(f.record("1.weight").dtype == DType::f32);

    auto b = tiny_net(3);
    load_state_dict(*b, f);
    const auto ta = a->named_tensors(), tb = b->named_tensors();
    for (size_t i = 0; i < ta.size(); ++i) {
      INFO(ta[i].name);
      CHECK(std::memcmp(ta[i].tensor->data(), tb[i].tensor->data(), ta[i].tensor->size_bytes()) ==
            0);
    }
    Tensor<float> x(Shape{1, 3, 5, 5});
    x.fill_uniform(9, -1, 1);
    const Tensor<float> ya = (*a)(x), yb = (*b)(x);
    CHECK(std::memcmp(ya.data(), yb.data(), ya.size_bytes()) == 0);
    std::remove(path.c_str());
  }

  TEST_CASE("state_dict reports every problem at once and copies nothing") {
    auto source = tiny_net(2);  // 0.weight is [4, 2, 3, 3]
    SafeTensorsWriter w;
    w.add("0.weight", source->named_tensors()[0].tensor->clone().fill(1.0f));
    w.add("0.bias", Tensor<float>(Shape{4}).fill(2.0f));
    w.add("extra.weight", Tensor<float>(Shape{1}));
    w.add("0.num_batches_tracked", Tensor<float>(Shape{}));  // bookkeeping: not "unexpected"
    const SafeTensorsFile f = as_file(w, "mismatch.safetensors");

    auto target = tiny_net(3);
    CHECK(load_error(*target, f) ==
          "cannot load 'mismatch.safetensors' into Sequential: 3 problems\n"
          "  0.weight: expected [4, 3, 3, 3], got [4, 2, 3, 3]\n"
          "  missing: 1.weight\n"
          "  unexpected: extra.weight");
    // The bias matched, but nothing is copied when anything is wrong.
    for (float v : *target->named_tensors()[1].tensor)
      CHECK(v == 0.0f);

    // Not strict: missing and unexpected are fine, a wrong shape is not.
    CHECK(load_error(*target, f, false) ==
          "cannot load 'mismatch.safetensors' into Sequential: 1 problem\n"
          "  0.weight: expected [4, 3, 3, 3], got [4, 2, 3, 3]");
    auto same_shape = tiny_net(2);
    load_state_dict(*same_shape, f, false);
    for (float v : *same_shape->named_tensors()[0].tensor)
      CHECK(v == 1.0f);
    for (float v : *same_shape->named_tensors()[1].tensor)
      CHECK(v == 2.0f);
    for (float v : *same_shape->named_tensors()[2].tensor)
      CHECK(v == 0.0f);  // missing, untouched
  }

  TEST_CASE("state_dict caps the problem list") {
    nn::Sequential net;
    for (int i = 0; i < 25; ++i)
      net.add(std::make_unique<nn::Conv2d>(1, 1, 1, Conv2dAttrs{}, false));
    SafeTensorsWriter w;
    w.add("unrelated", Tensor<float>(Shape{1}));
    const std::string msg = load_error(net, as_file(w, "empty.safetensors"));
    CHECK(msg.find("into Sequential: 26 problems\n  missing: 0.weight\n") != std::string::npos);
    CHECK(msg.find("  missing: 19.weight\n  and 6 more") != std::string::npos);
    CHECK(msg.find("20.weight") == std::string::npos);
    CHECK(msg.substr(msg.size() - 10) == "and 6 more");
  }

  TEST_CASE("state_dict converts F64 and F16 and rejects integer dtypes") {
    auto net = tiny_net(1);
    SafeTensorsWriter w;
    w.add("0.weight", Tensor<double>(Shape{4, 1, 3, 3}).fill(0.25));
    w.add("0.bias", Tensor<half>(Shape{4}).fill(half(-1.5f)));
    w.add("1.weight", Tensor<bfloat16>(Shape{2, 4, 1, 1}).fill(bfloat16(3.0f)));
    load_state_dict(*net, as_file(w, "mixed.safetensors"));
    const auto t = net->named_tensors();
    CHECK((*t[0].tensor)(3, 0, 2, 2) == 0.25f);
    CHECK((*t[1].tensor)(3) == -1.5f);
    CHECK((*t[2].tensor)(1, 3, 0, 0) == 3.0f);

    SafeTensorsWriter ints;
    ints.add("0.weight", Tensor<int32_t>(Shape{4, 1, 3, 3}));
    ints.add("0.bias", Tensor<float>(Shape{4}));
    ints.add("1.weight", Tensor<float>(Shape{2, 4, 1, 1}));
    CHECK(load_error(*net, as_file(ints, "ints.safetensors")) ==
          "cannot load 'ints.safetensors' into Sequential: 1 problem\n"
          "  0.weight: stored as I32, expected a floating-point dtype");
  }

  TEST_CASE("state_dict ignores an I64 num_batches_tracked as PyTorch writes it") {
    nn::Sequential net;
    net.add(std::make_unique<nn::Conv2d>(1, 1, 1, Conv2dAttrs{}, false));
    const std::string header =
        R"({"0.weight":{"dtype":"F32","shape":[1,1,1,1],"data_offsets":[0,4]},)"
        R"("bn.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[8,16]},)"
        R"("bn.counter":{"dtype":"I64","shape":[],"data_offsets":[16,24]},)"
        R"("pad":{"dtype":"U8","shape":[4],"data_offsets":[4,8]}})";
    std::string data("\x00\x00\x40\x40", 4);  // 3.0f
    data += std::string(20, '\0');
    const SafeTensorsFile f =
        SafeTensorsFile::from_bytes(test::safetensors_bytes(header, data), "torch.safetensors");
    CHECK(load_error(net, f) ==
          "cannot load 'torch.safetensors' into Sequential: 2 problems\n"
          "  unexpected: pad\n"
          "  unexpected: bn.counter (I64)");
    load_state_dict(net, f, false);
    CHECK((*net.named_tensors()[0].tensor)[0] == 3.0f);
  }
}
