#include <doctest/doctest.h>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>

#include "fovea/io/npy.hpp"
#include "io/io_test_util.hpp"

using namespace fovea;

namespace {

// A .npy file of the given version with `dict` as its header text (padded by the caller).
std::string npy_bytes(int major, const std::string& dict, const std::string& data) {
  const std::string length = io::le_bytes(dict.size(), major == 1 ? 2 : 4);
  return std::string("\x93NUMPY", 6) + static_cast<char>(major) + '\0' + length + dict + data;
}

std::string write_raw(const std::string& name, const std::string& bytes) {
  const std::string path = test::temp_path(name);
  io::write_file_atomic(path, {bytes});
  return path;
}

std::string read_error(const std::string& name, const std::string& bytes) {
  const std::string path = write_raw(name, bytes);
  try {
    read_npy<float>(path);
  } catch (const Error& e) {
    std::remove(path.c_str());
    return e.what();
  }
  std::remove(path.c_str());
  return "(no error)";
}

template <class T>
void check_round_trip(const Shape& shape, double lo, double hi, const std::string& name) {
  Tensor<T> t(shape);
  t.fill_uniform(7, lo, hi);
  const std::string path = test::temp_path(name);
  write_npy(path, t);
  const Tensor<T> back = read_npy<T>(path);
  CHECK(back.shape() == shape);
  CHECK(std::memcmp(back.data(), t.data(), t.size_bytes()) == 0);
  std::remove(path.c_str());
}

}  // namespace

TEST_SUITE("io") {
  TEST_CASE("npy writer produces numpy's version 1.0 header") {
    Tensor<float> t(Shape{2, 3});
    t.fill(1.5f);
    const std::string path = test::temp_path("header.npy");
    write_npy(path, t);
    const std::vector<uint8_t> b = io::read_file(path);
    const std::string s(b.begin(), b.end());
    // Magic, version 1.0, then a 118-byte header so the data starts at byte 128 (10 + 59 bytes
    // of dict + newline need 70, rounded up to a multiple of 64), as np.save writes it.
    CHECK(s.substr(0, 8) == std::string("\x93NUMPY\x01\x00", 8));
    CHECK(io::load_le16(b.data() + 8) == 118);
    const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    REQUIRE(dict.size() == 59);
    CHECK(s.substr(10, 118) == dict + std::string(118 - 59 - 1, ' ') + "\n");
    REQUIRE(s.size() == 128 + 24);
    CHECK(s.substr(128, 4) == std::string("\x00\x00\xc0\x3f", 4));  // 1.5f
    std::remove(path.c_str());
  }

  TEST_CASE("npy round trip of each written dtype and rank") {
    check_round_trip<float>(Shape{2, 3, 4, 5}, -1, 1, "rt_f32.npy");
    check_round_trip<double>(Shape{7}, -1e300, 1e300, "rt_f64.npy");
    check_round_trip<half>(Shape{3, 3}, -10, 10, "rt_f16.npy");
    check_round_trip<int8_t>(Shape{1, 1, 1, 1, 1, 9}, -128, 127, "rt_i8.npy");
    check_round_trip<uint8_t>(Shape{0, 5}, 0, 255, "rt_u8.npy");
    check_round_trip<int32_t>(Shape{}, -5, 5, "rt_i32.npy");
  }

  TEST_CASE("npy writes NHWC tensors in logical order") {
    Tensor<float> nchw(Shape{1, 2, 2, 3});
    for (int64_t i = 0; i < nchw.numel(); ++i)
      nchw[i] = static_cast<float>(i);
    const std::string path = test::temp_path("nhwc.npy");
    write_npy(path, nchw.to_layout(Layout::nhwc));
    const Tensor<float> back = read_npy<float>(path);
    for (int64_t i = 0; i < nchw.numel(); ++i)
      CHECK(back[i] == static_cast<float>(i));
    std::remove(path.c_str());
  }

  TEST_CASE("npy reads hand-built version 1 2 and 3 files and converts") {
    // int64 [[1, -2], [3, 4000000000]] in a version 1.0 file (unpadded header: also legal).
    std::string data;
    for (int64_t v : {int64_t{1}, int64_t{-2}, int64_t{3}, int64_t{4000000000}})
      data += io::le_bytes(static_cast<uint64_t>(v), 8);
    const std::string v1 = write_raw(
        "v1.npy",
        npy_bytes(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2, 2), }\n", data));
    const Tensor<double> a = read_npy<double>(v1);
    REQUIRE(a.shape() == Shape{2, 2});
    CHECK(a(0, 0) == 1.0);
    CHECK(a(0, 1) == -2.0);
    CHECK(a(1, 1) == 4000000000.0);
    std::remove(v1.c_str());

    // Version 2.0 with a 4-byte length, keys in another order, double quotes, a trailing comma
    // in the shape and a Python 2 long suffix.
    const std::string v2 = write_raw(
        "v2.npy", npy_bytes(2, "{\"shape\": (3L,), 'fortran_order': False, 'descr': '<f2'}   \n",
                            std::string("\x00\x3c\x00\xc0\x00\x38", 6)));
    const Tensor<float> b = read_npy<float>(v2);
    REQUIRE(b.shape() == Shape{3});
    CHECK(b[0] == 1.0f);
    CHECK(b[1] == -2.0f);
    CHECK(b[2] == 0.5f);
    std::remove(v2.c_str());

    const std::string v3 = write_raw(
        "v3.npy",
        npy_bytes(3, "{'descr': '|u1', 'fortran_order': False, 'shape': (), }\n", "\xff"));
    const Tensor<int32_t> c = read_npy<int32_t>(v3);
    CHECK(c.rank() == 0);
    CHECK(c[0] == 255);
    std::remove(v3.c_str());
  }

  TEST_CASE("npy rejects what it cannot read with clear errors") {
    const std::string ok_dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }\n";
    const std::string eight(8, '\0');
    CHECK(read_error("e0.npy", npy_bytes(1, ok_dict, eight)) == "(no error)");
    CHECK(
        read_error("e1.npy",
                   npy_bytes(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }", eight))
            .find("fortran_order is True; only C-ordered arrays are supported") !=
        std::string::npos);
    CHECK(
        read_error("e2.npy",
                   npy_bytes(1, "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }", eight))
            .find("big-endian dtype '>f4' is not supported") != std::string::npos);
    CHECK(
        read_error("e3.npy",
                   npy_bytes(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }", eight))
            .find("unsupported dtype '<c8'") != std::string::npos);
    CHECK(
        read_error("e4.npy", npy_bytes(1, ok_dict, std::string(7, '\0')))
            .find(
                "shape [2] of <f4 needs 2 elements of 4 bytes, but the file holds 7 data bytes") !=
        std::string::npos);
    CHECK(read_error("e5.npy", npy_bytes(1, ok_dict, std::string(12, '\0')))
              .find("holds 12 data bytes") != std::string::npos);
    CHECK(read_error("e6.npy", "\x93NUMPZ\x01\x00\x00\x00").find("does not start with the magic") !=
          std::string::npos);
    CHECK(read_error("e7.npy", "").find("does not start with the magic") != std::string::npos);
    CHECK(read_error("e8.npy", npy_bytes(4, ok_dict, eight)).find("format version 4.0") !=
          std::string::npos);
    std::string cut = npy_bytes(1, ok_dict, eight);
    cut.resize(30);
    CHECK(read_error("e9.npy", cut)
              .find("header length 58 runs past the end of the file (20 bytes follow)") !=
          std::string::npos);
    CHECK(read_error("e10.npy", npy_bytes(1, "{'descr': '<f4', 'shape': (2,), }", eight))
              .find("lacks one of 'descr', 'fortran_order', 'shape'") != std::string::npos);
    CHECK(read_error("e11.npy", npy_bytes(1, "{'descr': '<f4', 'descr': '<f4', }", eight))
              .find("unexpected or repeated key 'descr'") != std::string::npos);
    CHECK(
        read_error("e12.npy",
                   npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2), }", eight))
            .find("a 1-d shape must be written (n,)") != std::string::npos);
    CHECK(read_error(
              "e13.npy",
              npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }", eight))
              .find("bad header at byte 61: expected a non-negative integer") != std::string::npos);
    CHECK(
        read_error(
            "e14.npy",
            npy_bytes(
                1, "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
                eight))
            .find("more elements than fit in int64") != std::string::npos);
    CHECK(read_error("e15.npy", npy_bytes(1, ok_dict + "x", eight))
              .find("unexpected characters after the header dict") != std::string::npos);
    CHECK(read_error(
              "e16.npy",
              npy_bytes(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1), }",
                        eight))
              .find("more than 6 dimensions") != std::string::npos);
  }
}
