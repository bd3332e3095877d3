// Image files built byte by byte in the tests, so no binary fixture is committed and every
// header field is under the test's control (including ones that lie about the image size).
#pragma once

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "fovea/image/image.hpp"

namespace fovea::test {

inline void put_le(std::vector<uint8_t>& out, uint32_t v, int bytes) {
  for (int i = 0; i < bytes; ++i)
    out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
inline void put_be(std::vector<uint8_t>& out, uint32_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i)
    out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

// An uncompressed 24-bit BMP: BITMAPFILEHEADER (14 bytes), BITMAPINFOHEADER (40 bytes), then
// rows bottom-up in B, G, R order, each padded to a multiple of 4 bytes. width and height are
// what the header claims; the pixel rows come from img.
inline std::vector<uint8_t> bmp_bytes(const Image& img, int32_t width, int32_t height) {
  const uint32_t row_bytes = (static_cast<uint32_t>(img.width) * 3 + 3) / 4 * 4;
  const uint32_t data_bytes = row_bytes * static_cast<uint32_t>(img.height);
  std::vector<uint8_t> out = {'B', 'M'};
  put_le(out, 54 + data_bytes, 4);  // file size
  put_le(out, 0, 4);                // reserved
  put_le(out, 54, 4);               // offset of the pixel data
  put_le(out, 40, 4);               // info header size
  put_le(out, static_cast<uint32_t>(width), 4);
  put_le(out, static_cast<uint32_t>(height), 4);
  put_le(out, 1, 2);   // planes
  put_le(out, 24, 2);  // bits per pixel
  put_le(out, 0, 4);   // no compression
  put_le(out, data_bytes, 4);
  put_le(out, 2835, 4);  // 72 dpi, both axes
  put_le(out, 2835, 4);
  put_le(out, 0, 4);  // palette size
  put_le(out, 0, 4);
  for (int64_t y = img.height - 1; y >= 0; --y) {
    for (int64_t x = 0; x < img.width; ++x) {
      for (int64_t c = 2; c >= 0; --c)
        out.push_back(img.at(y, x, c));
    }
    for (uint32_t pad = static_cast<uint32_t>(img.width) * 3; pad < row_bytes; ++pad) {
      out.push_back(0);
    }
  }
  return out;
}
inline std::vector<uint8_t> bmp_bytes(const Image& img) {
  return bmp_bytes(img, static_cast<int32_t>(img.width), static_cast<int32_t>(img.height));
}

inline uint32_t crc32(const uint8_t* data, size_t size) {
  uint32_t crc = 0xFFFFFFFFu;
  for (size_t i = 0; i < size; ++i) {
    crc ^= data[i];
    for (int bit = 0; bit < 8; ++bit)
      crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

inline void put_png_chunk(std::vector<uint8_t>& out, const char* type,
                          const std::vector<uint8_t>& data) {
  put_be(out, static_cast<uint32_t>(data.size()), 4);
  std::vector<uint8_t> typed(type, type + 4);
  typed.insert(typed.end(), data.begin(), data.end());
  out.insert(out.end(), typed.begin(), typed.end());
  put_be(out, crc32(typed.data(), typed.size()), 4);
}

inline std::vector<uint8_t> png_ihdr(uint32_t width, uint32_t height, uint8_t color_type) {
  std::vector<uint8_t> ihdr;
  put_be(ihdr, width, 4);
  put_be(ihdr, height, 4);
  ihdr.insert(ihdr.end(), {8, color_type, 0, 0, 0});  // 8 bits, deflate, filter 0, no interlace
  return ihdr;
}

// A PNG (color type 2 for 3 channels, 0 for 1) whose zlib stream uses stored (uncompressed)
// deflate blocks, with correct CRCs and Adler-32: valid, and simple enough to write by hand.
inline std::vector<uint8_t> png_bytes(const Image& img) {
  std::vector<uint8_t> raw;  // each row: filter type 0, then the pixels
  for (int64_t y = 0; y < img.height; ++y) {
    raw.push_back(0);
    const auto row = img.pixels.begin() + y * img.width * img.channels;
    raw.insert(raw.end(), row, row + img.width * img.channels);
  }
  std::vector<uint8_t> z = {0x78, 0x01};
  for (size_t at = 0; at < raw.size(); at += 65535) {
    const size_t n = std::min<size_t>(65535, raw.size() - at);
    z.push_back(at + n == raw.size() ? 1 : 0);  // BFINAL on the last block, BTYPE 00
    put_le(z, static_cast<uint32_t>(n), 2);
    put_le(z, static_cast<uint32_t>(~n & 0xFFFF), 2);
    z.insert(z.end(), raw.begin() + static_cast<int64_t>(at),
             raw.begin() + static_cast<int64_t>(at + n));
  }
  uint32_t a = 1, b = 0;
  for (uint8_t v : raw)
    a = (a + v) % 65521, b = (b + a) % 65521;
  put_be(z, b << 16 | a, 4);

  std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  put_png_chunk(out, "IHDR",
                png_ihdr(static_cast<uint32_t>(img.width), static_cast<uint32_t>(img.height),
                         img.channels == 3 ? 2 : 0));
  put_png_chunk(out, "IDAT", z);
  put_png_chunk(out, "IEND", {});
  return out;
}

// A PNG with only a signature, an IHDR claiming width x height RGB pixels, and an IEND: the
// shape of a decompression bomb's header.
inline std::vector<uint8_t> png_header_only(uint32_t width, uint32_t height) {
  std::vector<uint8_t> out = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  put_png_chunk(out, "IHDR", png_ihdr(width, height, 2));
  put_png_chunk(out, "IEND", {});
  return out;
}

inline std::string write_test_file(const std::string& name, const std::vector<uint8_t>& bytes) {
  const std::string path = std::string(FOVEA_BINARY_DIR) + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  return path;
}

inline std::vector<uint8_t> read_test_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), {});
}

// A small image whose every byte differs, so a swapped channel or a flipped row shows.
inline Image numbered_image(int64_t height, int64_t width, int64_t channels = 3) {
  Image img(height, width, channels);
  for (size_t i = 0; i < img.pixels.size(); ++i)
    img.pixels[i] = static_cast<uint8_t>(7 * i + 3);
  return img;
}

}  // namespace fovea::test
