#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "fovea/image/decode.hpp"
#include "image/error_of.hpp"
#include "image/hand_encoded.hpp"

using namespace fovea;
using fovea::test::bmp_bytes;
using fovea::test::error_of;
using fovea::test::numbered_image;
using fovea::test::png_bytes;
using fovea::test::put_png_chunk;
using fovea::test::read_test_file;
using fovea::test::write_test_file;

namespace {

const std::string kGoldfish =
    std::string(FOVEA_SOURCE_DIR) + "/../shared/data/imagenet/samples/n01443537_goldfish.JPEG";

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_SUITE("io") {
  TEST_CASE("a hand-made 24-bit BMP decodes to its pixels with rows flipped and padding skipped") {
    // Width 3 makes 9-byte rows padded to 12; the file stores rows bottom-up in B, G, R order.
    const Image want = numbered_image(2, 3);
    const std::vector<uint8_t> bytes = bmp_bytes(want);
    CHECK(bytes.size() == 54 + 2 * 12);
    CHECK(bytes[54] == want.at(1, 0, 2));  // first stored byte: bottom row, blue
    const Image got = decode_image(bytes, "two_rows.bmp");
    CHECK(got.height == 2);
    CHECK(got.width == 3);
    CHECK(got.channels == 3);
    CHECK(got.pixels == want.pixels);
    CHECK(got.at(0, 0, 0) == 3);  // numbered_image: byte i is 7 i + 3
    CHECK(got.at(1, 2, 2) == 7 * 17 + 3);
  }

  TEST_CASE("a hand-made PNG decodes exactly and a grey PNG becomes three equal channels") {
    const Image rgb = numbered_image(5, 4);
    const std::string path = write_test_file("image_decode_rgb.png", png_bytes(rgb));
    const Image got = read_image(path);
    CHECK(got.height == 5);
    CHECK(got.width == 4);
    CHECK(got.pixels == rgb.pixels);

    const Image grey = numbered_image(3, 2, 1);
    const Image expanded = decode_image(png_bytes(grey), "grey.png");
    REQUIRE(expanded.channels == 3);
    for (int64_t y = 0; y < 3; ++y) {
      for (int64_t x = 0; x < 2; ++x) {
        for (int64_t c = 0; c < 3; ++c)
          CHECK(expanded.at(y, x, c) == grey.at(y, x, 0));
      }
    }
  }

  TEST_CASE("a PNG with an empty IDAT chunk first decodes to its pixels") {
    // Legal PNG; Debian's stb_image would memcpy from NULL for it, so decode_image drops the
    // empty chunk first (found by the image fuzz target).
    const Image rgb = numbered_image(3, 4);
    std::vector<uint8_t> png = png_bytes(rgb);
    std::vector<uint8_t> empty_idat;
    put_png_chunk(empty_idat, "IDAT", {});
    png.insert(png.begin() + 8 + 25, empty_idat.begin(), empty_idat.end());  // after IHDR
    CHECK(decode_image(png, "empty-idat.png").pixels == rgb.pixels);
    // The JPEG guard's counterpart: a Huffman table of more than 256 codes is refused.
    const std::vector<uint8_t> dht = read_test_file(std::string(FOVEA_SOURCE_DIR) +
                                                    "/tests/fuzz/regressions/image/"
                                                    "jpeg-dht-over-256-codes.jpg");
    CHECK(error_of([&] { decode_image(dht, "dht.jpg"); }).find("more than 256 codes") !=
          std::string::npos);
  }

  TEST_CASE("formats are recognised by their magic bytes") {
    const uint8_t jpeg[] = {0xFF, 0xD8, 0xFF, 0xE0};
    const uint8_t png[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    const uint8_t bmp[] = {'B', 'M', 0, 0};
    const uint8_t gif[] = {'G', 'I', 'F', '8', '9', 'a'};
    CHECK(sniff_image_format(jpeg, sizeof jpeg) == ImageFormat::jpeg);
    CHECK(sniff_image_format(png, sizeof png) == ImageFormat::png);
    CHECK(sniff_image_format(png, 7) == ImageFormat::unknown);  // signature cut short
    CHECK(sniff_image_format(bmp, sizeof bmp) == ImageFormat::bmp);
    CHECK(sniff_image_format(gif, sizeof gif) == ImageFormat::unknown);
  }

  TEST_CASE("the real goldfish JPEG decodes to its size") {
    const Image img = read_image(kGoldfish);
    CHECK(img.height == 263);
    CHECK(img.width == 376);
    CHECK(img.channels == 3);
    CHECK(img.pixels.size() == 263u * 376u * 3u);
  }

  TEST_CASE("headers claiming huge images are refused before any pixel memory is allocated") {
    // A 78-byte BMP that claims 60000 x 60000 (10.8 GB of RGB): refused by the decode limits.
    const std::string bmp_path =
        write_test_file("image_decode_bomb.bmp", bmp_bytes(numbered_image(2, 3), 60000, 60000));
    const std::string bmp_error = error_of([&] { read_image(bmp_path); });
    CHECK(contains(bmp_error, bmp_path));
    CHECK(contains(bmp_error, "claims 60000x60000"));
    CHECK(contains(bmp_error, "decode limit"));

    // A PNG IHDR (valid CRC) claiming 60000 x 60000: stb_image's own 1 GB cap trips first.
    const std::string png_path =
        write_test_file("image_decode_bomb.png", test::png_header_only(60000, 60000));
    const std::string png_error = error_of([&] { read_image(png_path); });
    CHECK(contains(png_error, png_path));
    CHECK(contains(png_error, "too large"));

    // 12000 x 12000 passes stb's cap (432 MB) but not the 100-megapixel default limit.
    const std::string mid_error =
        error_of([] { decode_image(test::png_header_only(12000, 12000), "mid.png"); });
    CHECK(contains(mid_error, "mid.png: the PNG header claims 12000x12000 (144000000 pixels)"));

    // The limits are settable: a valid 5x4 PNG passes the defaults, not a 19-pixel cap.
    const std::vector<uint8_t> small = png_bytes(numbered_image(5, 4));
    CHECK_NOTHROW(decode_image(small, "small.png"));
    DecodeLimits tight;
    tight.max_pixels = 19;
    CHECK(contains(error_of([&] { decode_image(small, "small.png", tight); }), "20 pixels"));
    tight = DecodeLimits{};
    tight.max_width = 3;
    CHECK(contains(error_of([&] { decode_image(small, "small.png", tight); }), "limit of 3x"));
    tight.max_width = 4;
    CHECK_NOTHROW(decode_image(small, "small.png", tight));
  }

  TEST_CASE("hostile and broken files give errors that name the file") {
    const std::string dir = std::string(FOVEA_BINARY_DIR) + "/";
    const std::string missing = dir + "image_decode_no_such_file.jpg";
    CHECK(contains(error_of([&] { read_image(missing); }), missing + ": cannot open"));

    // An ifstream opens a directory and reads its size as 2^63 − 1: that once ended in
    // std::bad_alloc.
    CHECK(error_of([&] { read_image(FOVEA_BINARY_DIR); }) ==
          std::string(FOVEA_BINARY_DIR) + ": is a directory, not an image file");
    const std::string small =
        write_test_file("image_decode_small.bmp", bmp_bytes(numbered_image(4, 4)));
    DecodeLimits few_bytes;
    few_bytes.max_file_bytes = 10;
    CHECK(
        contains(error_of([&] { read_image(small, few_bytes); }), small + ": the image file has "));
    CHECK(contains(error_of([&] { read_image(small, few_bytes); }), "over the limit of 10"));

    const std::string empty = write_test_file("image_decode_empty.png", {});
    CHECK(contains(error_of([&] { read_image(empty); }), empty + ": the image data is empty"));

    std::vector<uint8_t> jpeg = test::read_test_file(kGoldfish);
    REQUIRE(jpeg.size() > 1000);
    jpeg.resize(jpeg.size() / 2);
    const std::string cut_jpeg = write_test_file("image_decode_truncated.jpg", jpeg);
    const std::string jpeg_error = error_of([&] { read_image(cut_jpeg); });
    CHECK(contains(jpeg_error, cut_jpeg + ": cannot decode JPEG (corrupt or truncated data)"));

    std::vector<uint8_t> png = png_bytes(numbered_image(16, 16));
    png.resize(png.size() - 400);  // inside the IDAT chunk
    const std::string cut_png = write_test_file("image_decode_truncated.png", png);
    CHECK(contains(error_of([&] { read_image(cut_png); }), cut_png + ": cannot decode PNG"));

    // stb_image would decode this one, with the missing rows black.
    std::vector<uint8_t> bmp = bmp_bytes(numbered_image(4, 4));
    bmp.resize(bmp.size() - 12);
    const std::string cut_bmp = write_test_file("image_decode_truncated.bmp", bmp);
    CHECK(contains(error_of([&] { read_image(cut_bmp); }), cut_bmp + ": truncated BMP"));

    std::vector<uint8_t> noise(4096);
    for (size_t i = 0; i < noise.size(); ++i)
      noise[i] = static_cast<uint8_t>(i * 2654435761u >> 13);
    const std::string random = write_test_file("image_decode_random.bin", noise);
    CHECK(contains(error_of([&] { read_image(random); }),
                   random + ": not a JPEG, PNG or BMP image (the data starts with bytes"));

    const std::string text_bytes = "label,path\ngoldfish,n01443537.JPEG\n";
    const std::string text = write_test_file(
        "image_decode_text.csv", std::vector<uint8_t>(text_bytes.begin(), text_bytes.end()));
    CHECK(contains(error_of([&] { read_image(text); }),
                   text + ": not a JPEG, PNG or BMP image (the data starts with bytes 6c 61 62"));

    const std::vector<uint8_t> gif = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0, 0, 0, 0};
    CHECK(error_of([&] { decode_image(gif, "anim.gif"); }) ==
          "anim.gif: GIF images are not supported (only JPEG, PNG and BMP)");

    // A JPEG signature followed by junk: the header itself is corrupt.
    const std::vector<uint8_t> fake_jpeg = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x02, 0x13, 0x37};
    CHECK(contains(error_of([&] { decode_image(fake_jpeg, "fake.jpg"); }),
                   "fake.jpg: corrupt JPEG header"));
  }
}
