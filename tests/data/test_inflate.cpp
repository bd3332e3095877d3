#include <doctest/doctest.h>

#include <fstream>
#include <string>

#include "fovea/data/inflate.hpp"
#include "fovea/image/decode.hpp"
#include "gzip_fixtures.hpp"

using namespace fovea;

namespace {

std::vector<uint8_t> expected_text() {
  std::vector<uint8_t> v;
  for (int i = 0; i < 20; ++i)
    for (char ch : std::string("fovea fovea fovea! "))
      v.push_back(uint8_t(ch));
  for (int i = 0; i < 256; ++i)
    v.push_back(uint8_t(i));
  return v;
}

template <size_t N>
std::vector<uint8_t> bytes_of(const uint8_t (&a)[N]) {
  return std::vector<uint8_t>(a, a + N);
}

}  // namespace

TEST_SUITE("cpu") {
  TEST_CASE("gunzip decodes stored fixed and dynamic deflate blocks") {
    CHECK(data::gunzip(bytes_of(kGzipStored), "stored") == expected_text());
    CHECK(data::gunzip(bytes_of(kGzipFixed), "fixed") == expected_text());
    CHECK(data::gunzip(bytes_of(kGzipDynamic), "dynamic") == expected_text());
  }

  TEST_CASE("gunzip reads concatenated members") {
    std::vector<uint8_t> two = bytes_of(kGzipDynamic);
    two.insert(two.end(), std::begin(kGzipStored), std::end(kGzipStored));
    std::vector<uint8_t> expected = expected_text();
    const std::vector<uint8_t> once = expected;
    expected.insert(expected.end(), once.begin(), once.end());
    CHECK(data::gunzip(two, "two") == expected);
  }

  TEST_CASE("gunzip rejects corrupt truncated and oversized input") {
    std::vector<uint8_t> bad = bytes_of(kGzipDynamic);
    bad[bad.size() - 8] ^= 1;  // CRC-32
    CHECK_THROWS_WITH(data::gunzip(bad, "bad"), doctest::Contains("CRC-32 mismatch"));
    const std::vector<uint8_t> cut(std::begin(kGzipDynamic), std::begin(kGzipDynamic) + 40);
    CHECK_THROWS_WITH(data::gunzip(cut, "cut"), doctest::Contains("cut"));
    CHECK_THROWS_WITH(data::gunzip(bytes_of(kGzipStored), "big", 100),
                      doctest::Contains("exceeds 100 bytes"));
    const std::vector<uint8_t> not_gzip(30, 'x');
    CHECK_THROWS_WITH(data::gunzip(not_gzip, "plain"), doctest::Contains("not gzip data"));
    // Flip every byte of the compressed body in turn: each must throw, or decode to the
    // original when the flip only touched the unused bits after the end-of-block code; none may
    // crash or read out of bounds.
    int thrown = 0;
    for (size_t i = 10; i + 8 < sizeof kGzipDynamic; ++i) {
      std::vector<uint8_t> flipped = bytes_of(kGzipDynamic);
      flipped[i] ^= 0x5a;
      std::vector<uint8_t> out;
      try {
        out = data::gunzip(flipped, "flipped");
      } catch (const Error&) {
        ++thrown;
        continue;
      }
      CHECK(out == expected_text());
    }
    CHECK(thrown >= int(sizeof kGzipDynamic) - 18 - 1);  // at most the last byte is slack
  }

  TEST_CASE("gunzip matches python gzip on the real MNIST labels") {
    const std::string path =
        std::string(FOVEA_SOURCE_DIR) + "/../shared/data/mnist/t10k-labels-idx1-ubyte.gz";
    if (!std::ifstream(path).good()) return;  // the shared data folder is optional
    const std::vector<uint8_t> out = data::gunzip(fovea::detail::read_file_bytes(path), path);
    // python3: len(gzip.open(path).read()) == 10008, zlib.crc32(...) == 1253699577
    CHECK(out.size() == 10008);
    CHECK(data::detail::crc32(out.data(), out.size()) == 1253699577u);
  }
}
