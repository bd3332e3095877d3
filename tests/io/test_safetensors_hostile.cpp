// Corrupt and hostile safetensors files: each must end in a clear fovea::Error, never a crash,
// an out-of-bounds read or a huge allocation. Build this file with
// -fsanitize=address,undefined to check the "never out of bounds" part (see the io report).
#include <doctest/doctest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "fovea/io/safetensors.hpp"
#include "io/io_test_util.hpp"

using namespace fovea;

namespace {

const char* const kName = "h.safetensors";

std::string open_error(const std::vector<uint8_t>& bytes) {
  try {
    SafeTensorsFile::from_bytes(bytes, kName);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// A file whose header is `header` and whose data section is `data_size` zero bytes.
std::string header_error(const std::string& header, size_t data_size) {
  return open_error(test::safetensors_bytes(header, std::string(data_size, '\0')));
}

// One F32 tensor "w" with the given shape and offsets text.
std::string tensor_error(const std::string& shape, const std::string& offsets, size_t data_size) {
  return header_error(
      R"({"w":{"dtype":"F32","shape":)" + shape + R"(,"data_offsets":)" + offsets + "}}",
      data_size);
}

}  // namespace

TEST_SUITE("io") {
  TEST_CASE("hostile safetensors: empty and truncated files") {
    CHECK(open_error({}) ==
          "safetensors file 'h.safetensors': the file is 0 bytes, too short to hold the 8-byte "
          "header length");
    CHECK(open_error({1, 2, 3, 4, 5}) ==
          "safetensors file 'h.safetensors': the file is 5 bytes, too short to hold the 8-byte "
          "header length");
    // The length says 100 header bytes, only 20 follow.
    std::vector<uint8_t> cut = test::safetensors_bytes(std::string(100, ' '), "");
    cut.resize(28);
    CHECK(open_error(cut) ==
          "safetensors file 'h.safetensors': header length 100 runs past the end of the file: "
          "only 20 bytes follow the length field (the file is truncated or corrupt)");
    // A valid header whose data was cut from 16 to 8 bytes.
    CHECK_THROWS_WITH_AS(
        SafeTensorsFile::from_bytes(
            test::safetensors_bytes(R"({"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}})",
                                    std::string(8, '\0')),
            kName),
        "safetensors file 'h.safetensors': tensor 'w': data_offsets [0, 16) run past the end of "
        "the data section (8 bytes; the file is truncated or corrupt)",
        Error);
  }

  TEST_CASE("hostile safetensors: header length past the end or absurd") {
    std::vector<uint8_t> just_over = test::safetensors_bytes("{}", "");
    just_over[0] = 3;  // 3 header bytes claimed, 2 present
    CHECK(open_error(just_over).find(
              "header length 3 runs past the end of the file: only 2 bytes") != std::string::npos);
    std::vector<uint8_t> huge = test::safetensors_bytes("{}", "");
    huge[7] = 0x80;  // 2^63 + 2
    CHECK(open_error(huge) ==
          "safetensors file 'h.safetensors': header length 9223372036854775810 is larger than the "
          "limit of 100000000 bytes (the file is corrupt or not safetensors)");
    std::vector<uint8_t> all_ones(16, 0xff);
    CHECK(open_error(all_ones).find(
              "header length 18446744073709551615 is larger than the limit") != std::string::npos);
  }

  TEST_CASE("hostile safetensors: bad JSON and non-object headers") {
    CHECK(header_error(R"({"w":)", 0) ==
          "safetensors file 'h.safetensors' header: invalid JSON at byte 5: unexpected end of "
          "input, expected a value");
    CHECK(header_error("", 0).find("invalid JSON at byte 0") != std::string::npos);
    CHECK(header_error(std::string("{}\0\0", 4), 0)
              .find("unexpected byte 0x00 after the JSON value") != std::string::npos);
    CHECK(header_error("[1,2]", 0) ==
          "safetensors file 'h.safetensors': the header must be a JSON object, got an array");
    CHECK(header_error(R"("w")", 0).find("must be a JSON object, got a string") !=
          std::string::npos);
    CHECK(header_error(R"({"w":[1]})", 0) ==
          "safetensors file 'h.safetensors': tensor 'w': entry must be an object, got an array");
    CHECK(header_error(std::string(200, '['), 0).find("nesting is deeper than the limit") !=
          std::string::npos);
  }

  TEST_CASE("hostile safetensors: duplicate keys") {
    // The first entry is 53 bytes long, so the second "w" starts at byte 53.
    CHECK(header_error(R"({"w":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},)"
                       R"("w":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}})",
                       2)
              .find("header: invalid JSON at byte 53: duplicate key \"w\"") != std::string::npos);
  }

  TEST_CASE("hostile safetensors: missing fields and unknown dtype") {
    CHECK(header_error(R"({"w":{"shape":[1],"data_offsets":[0,4]}})", 4) ==
          "safetensors file 'h.safetensors': tensor 'w' has no \"dtype\"");
    CHECK(header_error(R"({"w":{"dtype":"F32","data_offsets":[0,4]}})", 4) ==
          "safetensors file 'h.safetensors': tensor 'w' has no \"shape\"");
    CHECK(header_error(R"({"w":{"dtype":"F32","shape":[1]}})", 4) ==
          "safetensors file 'h.safetensors': tensor 'w' has no \"data_offsets\"");
    CHECK(header_error(R"({"w":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}})", 4)
              .find("tensor 'w': unknown dtype \"F33\" (expected one of F64, F32, F16") !=
          std::string::npos);
    CHECK(header_error(R"({"w":{"dtype":4,"shape":[1],"data_offsets":[0,4]}})", 4)
              .find("tensor 'w': \"dtype\" must be a string, got a number") != std::string::npos);
    CHECK(header_error(R"({"w":{"dtype":"F32","shape":1,"data_offsets":[0,4]}})", 4)
              .find("tensor 'w': \"shape\" must be an array, got a number") != std::string::npos);
  }

  TEST_CASE("hostile safetensors: malformed or out of range offsets") {
    CHECK(tensor_error("[1]", "[0,4,8]", 4)
              .find("tensor 'w': \"data_offsets\" must be an array of 2 integers [begin, end), got "
                    "[0,4,8]") != std::string::npos);
    CHECK(tensor_error("[1]", "\"0,4\"", 4).find("must be an array of 2 integers") !=
          std::string::npos);
    CHECK(tensor_error("[1]", "[-1,3]", 4)
              .find("\"data_offsets\" must be 2 non-negative integers, got [-1,3]") !=
          std::string::npos);
    CHECK(tensor_error("[1]", "[0.0,4]", 4).find("must be 2 non-negative integers, got [0.0,4]") !=
          std::string::npos);
    CHECK(tensor_error("[1]", "[0,18446744073709551616]", 4)
              .find("must be 2 non-negative integers") != std::string::npos);
    CHECK(tensor_error("[1]", "[0,1000]", 4) ==
          "safetensors file 'h.safetensors': tensor 'w': data_offsets [0, 1000) run past the end "
          "of the data section (4 bytes; the file is truncated or corrupt)");
    CHECK(tensor_error("[1]", "[18446744073709551611,18446744073709551615]", 4)
              .find("run past the end of the data section") != std::string::npos);
    CHECK(tensor_error("[1]", "[8,4]", 8) ==
          "safetensors file 'h.safetensors': tensor 'w': data_offsets [8, 4) end before they "
          "begin");
  }

  TEST_CASE("hostile safetensors: overlaps and holes and trailing bytes") {
    CHECK(header_error(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},)"
                       R"("b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})",
                       12) ==
          "safetensors file 'h.safetensors': tensor 'b' at data_offsets [4, 12) overlaps tensor "
          "'a' at [0, 8)");
    // Listed in the other order: sorting still finds it.
    CHECK(header_error(R"({"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]},)"
                       R"("a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}})",
                       12)
              .find("overlaps tensor 'a'") != std::string::npos);
    // The same range twice.
    CHECK(header_error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                       R"("b":{"dtype":"I32","shape":[1],"data_offsets":[0,4]}})",
                       4)
              .find("tensor 'b' at data_offsets [0, 4) overlaps tensor 'a' at [0, 4)") !=
          std::string::npos);
    CHECK(header_error(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
                       R"("b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}})",
                       12) ==
          "safetensors file 'h.safetensors': data section bytes [4, 8) before tensor 'b' belong "
          "to no tensor (the format requires tensors to cover the data section without holes)");
    CHECK(tensor_error("[1]", "[0,4]", 8) ==
          "safetensors file 'h.safetensors': the data section is 8 bytes but the tensors cover "
          "only 4 (the format requires tensors to cover the data section without trailing bytes)");
    CHECK(header_error("{}", 3).find("the data section is 3 bytes but the tensors cover only 0") !=
          std::string::npos);
  }

  TEST_CASE("hostile safetensors: shapes that do not match their bytes or overflow") {
    CHECK(tensor_error("[3]", "[0,8]", 8) ==
          "safetensors file 'h.safetensors': tensor 'w': shape [3] of F32 needs 12 bytes, but "
          "data_offsets [0, 8) hold 8");
    CHECK(tensor_error("[]", "[0,0]", 0).find("shape [] of F32 needs 4 bytes") !=
          std::string::npos);
    // 2^32 * 2^32 = 2^64 elements.
    CHECK(tensor_error("[4294967296,4294967296]", "[0,4]", 4) ==
          "safetensors file 'h.safetensors': tensor 'w': shape [4294967296,4294967296] has more "
          "elements than fit in int64");
    // 3037000500^2 is just above 2^63 - 1.
    CHECK(tensor_error("[3037000500,3037000500]", "[0,4]", 4).find("more elements than fit") !=
          std::string::npos);
    // A zero extent does not excuse the others from overflowing (the strides would).
    CHECK(tensor_error("[0,4294967296,4294967296]", "[0,0]", 0).find("more elements than fit") !=
          std::string::npos);
    // 2^62 elements fit in int64, but 2^62 * 4 bytes do not fit in 64 bits.
    CHECK(tensor_error("[4611686018427387904]", "[0,4]", 4) ==
          "safetensors file 'h.safetensors': tensor 'w': shape [4611686018427387904] of F32 "
          "needs more bytes than fit in 64 bits");
    // A huge shape is abbreviated in the message, not copied into it.
    std::string long_shape = "[1";
    for (int i = 0; i < 100000; ++i)
      long_shape += ",1";
    CHECK(tensor_error(long_shape + "]", "[0,4]", 4) ==
          "safetensors file 'h.safetensors': tensor 'w': shape " + long_shape.substr(0, 64) +
              "... has rank 100001, more than the maximum of 6");
    CHECK(tensor_error("[1,1,1,1,1,1,1]", "[0,4]", 4) ==
          "safetensors file 'h.safetensors': tensor 'w': shape [1,1,1,1,1,1,1] has rank 7, more "
          "than the maximum of 6");
  }

  TEST_CASE("hostile safetensors: negative and non-integer dimensions") {
    CHECK(tensor_error("[2,-3]", "[0,4]", 4) ==
          "safetensors file 'h.safetensors': tensor 'w': shape dimension 1 is -3, expected a "
          "non-negative integer below 2^63");
    CHECK(tensor_error("[2.5]", "[0,4]", 4).find("shape dimension 0 is 2.5, expected") !=
          std::string::npos);
    CHECK(tensor_error("[1.0]", "[0,4]", 4).find("shape dimension 0 is 1.0, expected") !=
          std::string::npos);
    CHECK(tensor_error("[1e0]", "[0,4]", 4).find("shape dimension 0 is 1.0, expected") !=
          std::string::npos);
    CHECK(tensor_error("[\"1\"]", "[0,4]", 4).find("shape dimension 0 is \"1\", expected") !=
          std::string::npos);
    CHECK(tensor_error("[null]", "[0,4]", 4).find("shape dimension 0 is null") !=
          std::string::npos);
    CHECK(tensor_error("[9223372036854775808]", "[0,4]", 4)
              .find("is 9223372036854775808, expected a non-negative integer below 2^63") !=
          std::string::npos);
    // "-0" is zero; a zero-element tensor with an empty range is valid.
    CHECK(tensor_error("[-0]", "[0,0]", 0) == "(no error)");
  }

  TEST_CASE("hostile safetensors: metadata must be a string map") {
    CHECK(header_error(R"({"__metadata__":{"k":1}})", 0) ==
          "safetensors file 'h.safetensors': metadata value for key \"k\" must be a string, got "
          "a number");
    CHECK(header_error(R"({"__metadata__":{"k":{"x":"y"}}})", 0)
              .find("metadata value for key \"k\" must be a string, got an object") !=
          std::string::npos);
    CHECK(header_error(R"({"__metadata__":["a"]})", 0) ==
          "safetensors file 'h.safetensors': \"__metadata__\" must be an object of strings, got "
          "an array");
    CHECK(header_error(R"({"__metadata__":{"k":"v","k":"w"}})", 0).find("duplicate key \"k\"") !=
          std::string::npos);
  }

  TEST_CASE("hostile safetensors: random corruption parses cleanly or throws Error") {
    SafeTensorsWriter w;
    w.set_metadata("architecture", "fuzz");
    w.add("conv.weight", Tensor<float>(Shape{2, 3, 2, 2}).fill_uniform(1, -1, 1));
    w.add("conv.bias", Tensor<half>(Shape{2}).fill_uniform(2, -1, 1));
    w.add("bn.scale", Tensor<bfloat16>(Shape{3}).fill_uniform(3, -1, 1));
    w.add("codes", Tensor<int8_t>(Shape{5}).fill_uniform(4, -128, 127));
    w.add("ids", Tensor<int32_t>(Shape{2, 1}).fill_uniform(5, 0, 1000));
    w.add("empty", Tensor<double>(Shape{0}));
    const std::string valid = w.serialize();
    const size_t header_end =
        8 + static_cast<size_t>(io::load_le64(reinterpret_cast<const uint8_t*>(valid.data())));
    // Bytes that turn one JSON token into another.
    const std::string interesting = "{}[]\",:0123456789-.eE \\u";

    Rng rng(20240611);
    int parsed = 0, rejected = 0;
    for (int iter = 0; iter < 4000; ++iter) {
      std::vector<uint8_t> bytes(valid.begin(), valid.end());
      const int mutations = 1 + static_cast<int>(rng.below(4));
      for (int m = 0; m < mutations && !bytes.empty(); ++m) {
        const uint64_t kind = rng.below(10);
        if (kind == 0) {
          bytes.resize(rng.below(bytes.size()));  // truncate
        } else if (kind == 1) {
          bytes[rng.below(8)] = static_cast<uint8_t>(rng.below(256));  // the length field
        } else if (kind <= 4) {
          bytes[rng.below(bytes.size())] = static_cast<uint8_t>(rng.below(256));
        } else {
          // Most mutations go into the header, where the parsing happens.
          const size_t end = std::min(header_end, bytes.size());
          if (end > 8) {
            bytes[8 + rng.below(end - 8)] =
                static_cast<uint8_t>(interesting[rng.below(interesting.size())]);
          }
        }
      }
      try {
        const SafeTensorsFile f = SafeTensorsFile::from_bytes(bytes, "fuzz");
        for (const TensorRecord& r : f.tensors()) {
          const Tensor<double> t = f.load<double>(r.name);
          REQUIRE(static_cast<uint64_t>(t.numel()) * dtype_size(r.dtype) == r.end - r.begin);
        }
        ++parsed;
      } catch (const Error&) {
        ++rejected;
      }
    }
    MESSAGE("fuzz: ", parsed, " parsed, ", rejected, " rejected");
    // Both outcomes must occur, or the mutations are not exercising the validator.
    CHECK(parsed > 100);
    CHECK(rejected > 1000);
  }
}
