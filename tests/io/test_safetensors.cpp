#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "fovea/io/safetensors.hpp"
#include "harness/compare.hpp"
#include "io/io_test_util.hpp"

using namespace fovea;

namespace {

template <class T>
Tensor<T> random_tensor(const Shape& shape, uint64_t seed, double lo, double hi) {
  Tensor<T> t(shape);
  t.fill_uniform(seed, lo, hi);
  return t;
}

template <class T>
bool same_bits(const Tensor<T>& a, const Tensor<T>& b) {
  return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size_bytes()) == 0;
}

}  // namespace

TEST_SUITE("io") {
  TEST_CASE("safetensors writer produces the documented byte layout") {
    Tensor<float> a(Shape{2});
    a[0] = 1.0f;
    a[1] = 2.0f;
    SafeTensorsWriter w;
    w.add("a", a);
    const std::string bytes = w.serialize();
    // The 54-byte header is padded with 2 spaces to 56, a multiple of 8.
    const std::string header = R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})";
    REQUIRE(header.size() == 54);
    CHECK(bytes.substr(0, 8) == std::string("\x38\0\0\0\0\0\0\0", 8));
    CHECK(bytes.substr(8, 56) == header + "  ");
    // 1.0f is 0x3f800000 and 2.0f is 0x40000000, little-endian.
    CHECK(bytes.substr(64) == std::string("\0\0\x80\x3f\0\0\0\x40", 8));
    CHECK(bytes.size() == 72);
  }

  TEST_CASE("safetensors reads a file built by hand") {
    const std::string header =
        R"({"__metadata__":{"architecture":"tiny","num_classes":"10"},)"
        R"("w":{"dtype":"F16","shape":[3],"data_offsets":[0,6]},)"
        R"("n.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[8,16]},)"
        R"("b":{"dtype":"BF16","shape":[1,1],"data_offsets":[6,8]}}   )";
    // half 1.0, -2.0, 0.5 = 0x3c00, 0xc000, 0x3800; bfloat16 1.5 = 0x3fc0; int64 7.
    const std::string data("\x00\x3c\x00\xc0\x00\x38\xc0\x3f\x07\0\0\0\0\0\0\0", 16);
    const SafeTensorsFile f =
        SafeTensorsFile::from_bytes(test::safetensors_bytes(header, data), "hand.safetensors");
    CHECK(f.source() == "hand.safetensors");
    CHECK(f.metadata().size() == 2);
    CHECK(f.metadata().at("architecture") == "tiny");
    CHECK(f.metadata().at("num_classes") == "10");
    REQUIRE(f.tensors().size() == 2);
    // Sorted by offset, not by header order.
    CHECK(f.tensors()[0].name == "w");
    CHECK(f.tensors()[1].name == "b");
    CHECK(f.tensors()[1].begin == 6);
    CHECK(f.tensors()[1].end == 8);
    CHECK(f.record("b").dtype == DType::bf16);
    CHECK(f.record("b").shape == Shape{1, 1});
    const Tensor<float> wf = f.load<float>("w");
    REQUIRE(wf.shape() == Shape{3});
    CHECK(wf[0] == 1.0f);
    CHECK(wf[1] == -2.0f);
    CHECK(wf[2] == 0.5f);
    CHECK(f.load<double>("b")[0] == 1.5);
    CHECK(f.contains("w"));
    CHECK_FALSE(f.contains("n.num_batches_tracked"));
    REQUIRE(f.unloadable().size() == 1);
    CHECK(f.unloadable()[0].dtype == "I64");
    CHECK_THROWS_WITH_AS(f.record("n.num_batches_tracked"),
                         doctest::Contains("has dtype I64, which fovea cannot load"), Error);
    CHECK_THROWS_WITH_AS(f.record("nope"),
                         "safetensors file 'hand.safetensors' has no tensor 'nope'", Error);
  }

  TEST_CASE("safetensors round trip keeps every dtype and the metadata") {
    const Tensor<float> f32 = random_tensor<float>(Shape{2, 3, 4, 5}, 1, -1, 1);
    const Tensor<double> f64 = random_tensor<double>(Shape{7}, 2, -1e10, 1e10);
    const Tensor<half> f16 = random_tensor<half>(Shape{3, 3}, 3, -100, 100);
    const Tensor<bfloat16> bf16 = random_tensor<bfloat16>(Shape{5, 1}, 4, -100, 100);
    const Tensor<int8_t> i8 = random_tensor<int8_t>(Shape{11}, 5, -128, 127);
    const Tensor<uint8_t> u8 = random_tensor<uint8_t>(Shape{13}, 6, 0, 255);
    const Tensor<int32_t> i32 = random_tensor<int32_t>(Shape{2, 2}, 7, -1e9, 1e9);
    const Tensor<float> scalar = random_tensor<float>(Shape{}, 8, -1, 1);
    const Tensor<float> empty(Shape{0, 4});
    const Tensor<float> nhwc = f32.to_layout(Layout::nhwc);

    SafeTensorsWriter w;
    w.set_metadata("architecture", "resnet18");
    w.set_metadata("preprocessing", R"({"mean":[0.485,0.456,0.406]})");
    w.add("u8", u8);  // added first, stored after the wider types
    w.add("f32", f32);
    w.add("f64", f64);
    w.add("f16", f16);
    w.add("bf16", bf16);
    w.add("i8", i8);
    w.add("i32", i32);
    w.add("scalar", scalar);
    w.add("empty", empty);
    w.add("nhwc", nhwc);
    const std::string path = test::temp_path("round_trip.safetensors");
    w.write(path);
    CHECK_FALSE(std::filesystem::exists(path + ".tmp"));

    const SafeTensorsFile f = SafeTensorsFile::open(path);
    CHECK(f.source() == path);
    CHECK(f.metadata().at("architecture") == "resnet18");
    CHECK(f.metadata().at("preprocessing") == R"({"mean":[0.485,0.456,0.406]})");
    REQUIRE(f.tensors().size() == 10);
    for (const TensorRecord& r : f.tensors()) {
      INFO(r.name);
      CHECK(r.begin % dtype_size(r.dtype) == 0);  // every tensor aligned to its element size
    }
    CHECK(f.tensors().front().name == "f64");
    CHECK(f.tensors().back().name == "i8");
    CHECK(f.record("i32").dtype == DType::i32);
    CHECK(same_bits(f.load<float>("f32"), f32));
    CHECK(same_bits(f.load<double>("f64"), f64));
    CHECK(same_bits(f.load<half>("f16"), f16));
    CHECK(same_bits(f.load<bfloat16>("bf16"), bf16));
    CHECK(same_bits(f.load<int8_t>("i8"), i8));
    CHECK(same_bits(f.load<uint8_t>("u8"), u8));
    CHECK(same_bits(f.load<int32_t>("i32"), i32));
    CHECK(same_bits(f.load<float>("scalar"), scalar));
    CHECK(f.load<float>("empty").shape() == Shape{0, 4});
    // NHWC is stored in logical order, so it reads back equal to the NCHW original.
    CHECK(f.record("nhwc").shape == Shape{2, 3, 4, 5});
    CHECK(same_bits(f.load<float>("nhwc"), f32));
    std::remove(path.c_str());
  }

  TEST_CASE("safetensors load converts between dtypes") {
    Tensor<double> d(Shape{2});
    d[0] = 0.1;
    d[1] = -3.0;
    Tensor<int32_t> i(Shape{1});
    i[0] = 16777217;  // 2^24 + 1 rounds to 2^24 in float
    Tensor<half> h(Shape{1});
    h[0] = half(65504.0f);
    SafeTensorsWriter w;
    w.add("d", d);
    w.add("i", i);
    w.add("h", h);
    const std::string bytes = w.serialize();
    const SafeTensorsFile f =
        SafeTensorsFile::from_bytes(std::vector<uint8_t>(bytes.begin(), bytes.end()), "conv");
    CHECK(f.load<float>("d")[0] == 0.1f);
    CHECK(f.load<int32_t>("d")[1] == -3);
    CHECK(f.load<float>("i")[0] == 16777216.0f);
    CHECK(f.load<double>("i")[0] == 16777217.0);
    CHECK(f.load<float>("h")[0] == 65504.0f);
    CHECK(static_cast<float>(f.load<bfloat16>("d")[1]) == -3.0f);
  }

  TEST_CASE("safetensors writer rejects duplicate and reserved names") {
    SafeTensorsWriter w;
    w.add("x", Tensor<float>(Shape{1}));
    CHECK_THROWS_WITH_AS(w.add("x", Tensor<float>(Shape{2})),
                         "safetensors writer already has a tensor named 'x'", Error);
    CHECK_THROWS_WITH_AS(w.add("__metadata__", Tensor<float>(Shape{1})),
                         doctest::Contains("reserved"), Error);
    CHECK_THROWS_WITH_AS(w.add("e", Tensor<float>()), doctest::Contains("empty"), Error);
    CHECK_THROWS_WITH_AS(w.write("/nonexistent-dir/x.safetensors"),
                         doctest::Contains("cannot open '/nonexistent-dir/x.safetensors.tmp'"),
                         Error);
    CHECK_THROWS_WITH_AS(SafeTensorsFile::open("/nonexistent-dir/x.safetensors"),
                         doctest::Contains("cannot open '/nonexistent-dir/x.safetensors'"), Error);
  }

  TEST_CASE("safetensors write replaces an existing file") {
    const std::string path = test::temp_path("replace.safetensors");
    SafeTensorsWriter first;
    first.add("old", Tensor<float>(Shape{100}));
    first.write(path);
    SafeTensorsWriter second;
    second.add("new", Tensor<uint8_t>(Shape{3}));
    second.write(path);
    const SafeTensorsFile f = SafeTensorsFile::open(path);
    CHECK(f.contains("new"));
    CHECK_FALSE(f.contains("old"));
    CHECK(std::filesystem::file_size(path) % 8 == 3);  // 8 + padded header + 3 bytes
    std::remove(path.c_str());
  }
}
