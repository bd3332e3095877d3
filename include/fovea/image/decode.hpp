// Decoding JPEG, PNG and BMP files or memory buffers into an 8-bit RGB Image, with stb_image.
//
// Untrusted input is the normal case for an image loader, so decoding is defensive: the format
// is recognised from its magic bytes (other formats are named in the error), the dimensions in
// the header are checked against DecodeLimits before any pixel memory is allocated (a 100-byte
// PNG may claim 60000 x 60000 pixels), and truncated BMP files, which stb_image would silently
// pad with black, are rejected (stb_image itself rejects truncated JPEG and PNG data). Every
// error names the file.
#pragma once

#include <algorithm>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/image/detail/stb_image.hpp"
#include "fovea/image/image.hpp"

namespace fovea {

// The largest image decode_image accepts. The defaults allow any photograph from a camera and
// refuse decompression bombs; raise them for large scans.
struct DecodeLimits {
  int64_t max_width = 16384;
  int64_t max_height = 16384;
  int64_t max_pixels = kMaxImagePixels;
  int64_t max_file_bytes = int64_t{256} << 20;  // a file read by read_image
};

enum class ImageFormat : uint8_t { jpeg, png, bmp, unknown };

inline const char* image_format_name(ImageFormat f) {
  switch (f) {
    case ImageFormat::jpeg:
      return "JPEG";
    case ImageFormat::png:
      return "PNG";
    case ImageFormat::bmp:
      return "BMP";
    case ImageFormat::unknown:
      return "unknown";
  }
  return "?";
}

namespace detail {

inline bool starts_with_bytes(const uint8_t* data, size_t size, const char* magic, size_t n) {
  return size >= n && std::memcmp(data, magic, n) == 0;
}

// Names formats we recognise but do not decode, so the error can say "GIF is not supported"
// instead of "unknown data".
inline const char* unsupported_format_name(const uint8_t* data, size_t size) {
  if (starts_with_bytes(data, size, "GIF8", 4)) return "GIF";
  if (size >= 12 && starts_with_bytes(data, size, "RIFF", 4) &&
      std::memcmp(data + 8, "WEBP", 4) == 0) {
    return "WebP";
  }
  if (starts_with_bytes(data, size, "II*\0", 4) || starts_with_bytes(data, size, "MM\0*", 4)) {
    return "TIFF";
  }
  if (size >= 12 && std::memcmp(data + 4, "ftyp", 4) == 0) return "HEIF/AVIF";
  if (starts_with_bytes(data, size, "8BPS", 4)) return "PSD";
  return nullptr;
}

inline std::string leading_bytes_hex(const uint8_t* data, size_t size) {
  std::string out;
  char buf[4];
  for (size_t i = 0; i < size && i < 8; ++i) {
    std::snprintf(buf, sizeof(buf), i ? " %02x" : "%02x", data[i]);
    out += buf;
  }
  return out;
}

inline uint32_t read_le32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}

// stb_image reads past the end of an uncompressed BMP as zeros. Its pixel array starts at
// the offset in the file header and holds |height| rows of 4-byte aligned width * bpp bits.
// Compressed (RLE) and bitfield layouts are left to stb's own checks.
inline bool bmp_pixel_data_fits(const uint8_t* data, size_t size) {
  if (size < 34) return false;
  const uint64_t offset = read_le32(data + 10);
  const uint32_t header_size = read_le32(data + 14);
  if (header_size < 40) return true;  // the old OS/2 header: leave it to stb
  const int64_t width = static_cast<int32_t>(read_le32(data + 18));
  const int64_t height = static_cast<int32_t>(read_le32(data + 22));
  const uint64_t bpp = uint64_t{data[28]} | uint64_t{data[29]} << 8;
  const uint32_t compression = read_le32(data + 30);
  if (compression != 0 || width <= 0) return true;
  const uint64_t row_bytes = (static_cast<uint64_t>(width) * bpp + 31) / 32 * 4;
  const uint64_t rows = static_cast<uint64_t>(height < 0 ? -height : height);
  return offset + row_bytes * rows <= size;
}

// Whether every Huffman table (DHT segment) of a JPEG lists at most 256 codes. Debian's
// stb_image (2022) writes past its 257-entry size table when the 16 code counts sum to more;
// newer stb refuses such a table, and so do we, before stb sees it. The walk goes marker by
// marker, skipping entropy-coded data to the next marker, so it finds the tables stb reads
// (progressive files have some between scans) and not bytes inside other segments.
inline bool jpeg_huffman_tables_fit(const uint8_t* data, size_t size) {
  size_t i = 2;  // after SOI
  while (i < size) {
    if (data[i] != 0xFF) {  // entropy-coded data, or junk stb will refuse
      ++i;
      continue;
    }
    size_t m = i + 1;
    while (m < size && data[m] == 0xFF)
      ++m;  // fill bytes
    if (m + 2 >= size) return true;
    const uint8_t marker = data[m];
    // A stuffed zero, a restart or TEM: markers without a length.
    if (marker == 0x00 || marker == 0x01 || (marker >= 0xD0 && marker <= 0xD7)) {
      i = m + 1;
      continue;
    }
    if (marker == 0xD9) return true;  // EOI
    const size_t end = std::min(size, m + 1 + (size_t{data[m + 1]} << 8 | data[m + 2]));
    if (marker == 0xC4) {
      // Tables of: class and id (1 byte), 16 counts, then as many symbols as the counts sum to.
      for (size_t t = m + 3; t < end;) {
        size_t codes = 0;
        for (size_t k = t + 1; k <= t + 16 && k < size; ++k)
          codes += data[k];
        if (codes > 256) return false;
        t += 17 + codes;
      }
    }
    i = end;
  }
  return true;
}

// The PNG without its zero-length IDAT chunks, or empty when it has none. Debian's stb_image
// copies such a chunk with memcpy(NULL, p, 0) when it comes first (stbi__getn): harmless, but
// undefined behaviour, which UBSan stops on. The chunks carry no data, so the file without
// them is the same image. A truncated chunk ends the walk; stb reports it.
inline std::vector<uint8_t> png_without_empty_idat(const uint8_t* data, size_t size) {
  const auto empty_idat = [&](size_t at) {
    return at + 12 <= size && data[at] == 0 && data[at + 1] == 0 && data[at + 2] == 0 &&
           data[at + 3] == 0 && std::memcmp(data + at + 4, "IDAT", 4) == 0;
  };
  size_t at = 8;  // after the signature
  bool found = false;
  std::vector<uint8_t> kept(data, data + std::min<size_t>(size, at));
  while (at + 12 <= size) {
    const size_t length = size_t{data[at]} << 24 | size_t{data[at + 1]} << 16 |
                          size_t{data[at + 2]} << 8 | data[at + 3];
    if (length > size - at - 12) break;
    if (empty_idat(at)) {
      found = true;
    } else {
      kept.insert(kept.end(), data + at, data + at + 12 + length);
    }
    at += 12 + length;
  }
  if (!found) return {};
  kept.insert(kept.end(), data + at, data + size);
  return kept;
}

// Reads width and height from the header with the one stb_image reader for the format.
// stbi_info_from_memory would try every format in turn and, when the right one fails, report
// the last one's "unknown image type" instead of the real reason ("too large", "bad IHDR len").
// The per-format readers are stb_image internals, available because the implementation is
// compiled into this TU (detail/stb_image.hpp); they have kept these names since stb_image 2.0.
inline bool stb_header_size(ImageFormat format, const uint8_t* data, int length, int* width,
                            int* height) {
  stbi__context s;
  stbi__start_mem(&s, data, length);
  int channels = 0;
  switch (format) {
    case ImageFormat::jpeg:
      return stbi__jpeg_info(&s, width, height, &channels) != 0;
    case ImageFormat::png:
      return stbi__png_info(&s, width, height, &channels) != 0;
    case ImageFormat::bmp:
      return stbi__bmp_info(&s, width, height, &channels) != 0;
    case ImageFormat::unknown:
      break;
  }
  return false;
}

// The bytes of an image file. A directory, a device or a FIFO is refused by name: an ifstream
// opens a directory, and its size reads as 2^63 − 1.
inline std::vector<uint8_t> read_file_bytes(
    const std::string& path, int64_t max_bytes = std::numeric_limits<int64_t>::max()) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  FOVEA_CHECK(!std::filesystem::is_directory(status), path, ": is a directory, not an image file");
  FOVEA_CHECK(!std::filesystem::exists(status) || std::filesystem::is_regular_file(status), path,
              ": is not a regular file");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  FOVEA_CHECK(in, path, ": cannot open image file (missing or unreadable)");
  const std::streamoff size = in.tellg();
  FOVEA_CHECK(size >= 0, path, ": cannot determine the size of the image file");
  FOVEA_CHECK(size <= max_bytes, path, ": the image file has ", size, " bytes, over the limit of ",
              max_bytes);
  std::vector<uint8_t> bytes(static_cast<size_t>(size));
  in.seekg(0);
  in.read(reinterpret_cast<char*>(bytes.data()), size);
  FOVEA_CHECK(in, path, ": read ", in.gcount(), " of ", size, " bytes of the image file");
  return bytes;
}

}  // namespace detail

inline ImageFormat sniff_image_format(const uint8_t* data, size_t size) {
  if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return ImageFormat::jpeg;
  if (detail::starts_with_bytes(data, size, "\x89PNG\r\n\x1a\n", 8)) return ImageFormat::png;
  if (detail::starts_with_bytes(data, size, "BM", 2)) return ImageFormat::bmp;
  return ImageFormat::unknown;
}

// Decodes an encoded image into 8-bit RGB: grey images are replicated to three channels and an
// alpha channel is dropped, as PIL's convert("RGB") does. source_name (a file name, or a
// description such as "request 17") is used only in error messages.
inline Image decode_image(const uint8_t* data, size_t size, const std::string& source_name,
                          const DecodeLimits& limits = {}) {
  FOVEA_CHECK(size > 0, source_name, ": the image data is empty (0 bytes)");
  FOVEA_CHECK(size <= static_cast<size_t>(INT_MAX), source_name, ": ", size,
              " bytes of encoded image is more than stb_image can read (", INT_MAX, ")");
  const ImageFormat format = sniff_image_format(data, size);
  if (format == ImageFormat::unknown) {
    if (const char* name = detail::unsupported_format_name(data, size)) {
      fail(source_name, ": ", name, " images are not supported (only JPEG, PNG and BMP)");
    }
    fail(source_name, ": not a JPEG, PNG or BMP image (the data starts with bytes ",
         detail::leading_bytes_hex(data, size), ")");
  }
  const char* format_name = image_format_name(format);
  std::vector<uint8_t> cleaned;
  if (format == ImageFormat::png) cleaned = detail::png_without_empty_idat(data, size);
  if (!cleaned.empty()) data = cleaned.data(), size = cleaned.size();
  const int length = static_cast<int>(size);

  FOVEA_CHECK(format != ImageFormat::jpeg || detail::jpeg_huffman_tables_fit(data, size),
              source_name, ": corrupt JPEG: a Huffman table (DHT) lists more than 256 codes");
  int width = 0, height = 0;
  if (!detail::stb_header_size(format, data, length, &width, &height)) {
    fail(source_name, ": corrupt ", format_name, " header: ", stbi_failure_reason());
  }
  const int64_t pixels = int64_t{width} * height;
  FOVEA_CHECK(
      width <= limits.max_width && height <= limits.max_height && pixels <= limits.max_pixels,
      source_name, ": the ", format_name, " header claims ", width, "x", height, " (", pixels,
      " pixels), over the decode limit of ", limits.max_width, "x", limits.max_height, " and ",
      limits.max_pixels, " pixels (raise DecodeLimits to accept it)");
  if (format == ImageFormat::bmp) {
    FOVEA_CHECK(detail::bmp_pixel_data_fits(data, size), source_name,
                ": truncated BMP (the file is shorter than its pixel rows)");
  }

  constexpr int kRgb = 3;
  int w = 0, h = 0, c = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> decoded(
      stbi_load_from_memory(data, length, &w, &h, &c, kRgb), stbi_image_free);
  if (!decoded) {
    fail(source_name, ": cannot decode ", format_name,
         " (corrupt or truncated data): ", stbi_failure_reason());
  }
  FOVEA_CHECK(w == width && h == height, source_name, ": the ", format_name, " header says ", width,
              "x", height, " but decoding gave ", w, "x", h);
  Image image;
  image.height = h;
  image.width = w;
  image.channels = kRgb;
  image.pixels.assign(decoded.get(), decoded.get() + static_cast<size_t>(pixels) * kRgb);
  return image;
}

inline Image decode_image(const std::vector<uint8_t>& bytes, const std::string& source_name,
                          const DecodeLimits& limits = {}) {
  return decode_image(bytes.data(), bytes.size(), source_name, limits);
}

inline Image read_image(const std::string& path, const DecodeLimits& limits = {}) {
  return decode_image(detail::read_file_bytes(path, limits.max_file_bytes), path, limits);
}

}  // namespace fovea
