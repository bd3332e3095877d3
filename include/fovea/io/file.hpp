// Whole-file reads, atomic whole-file writes and little-endian integer decoding, shared by the
// weight and array formats.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "fovea/core/dtype.hpp"
#include "fovea/core/error.hpp"

// The formats fovea reads are little-endian and tensors are copied byte for byte.
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "fovea's file formats assume a little-endian host"
#endif

namespace fovea::io {

// The most bytes read_file reads by default: the largest weights file of the zoo (VGG-19,
// 0.55 GB) many times over, and a stop for a path that names an endless device or pipe.
inline constexpr int64_t kDefaultMaxFileBytes = int64_t{16} << 30;

// The whole file. A directory, a file that cannot be opened and one over max_bytes (read
// through to there, so pipes and devices work too) are refused with the path in the error.
inline std::vector<uint8_t> read_file(const std::string& path,
                                      int64_t max_bytes = kDefaultMaxFileBytes) {
  std::error_code error;
  FOVEA_CHECK(!std::filesystem::is_directory(path, error), "cannot read '", path,
              "': it is a directory, not a file");
  std::FILE* f = std::fopen(path.c_str(), "rb");
  FOVEA_CHECK(f != nullptr, "cannot open '", path, "' for reading: ", std::strerror(errno));
  std::vector<uint8_t> bytes;
  uint8_t chunk[1 << 16];
  size_t got;
  bool too_large = false;
  while (!too_large && (got = std::fread(chunk, 1, sizeof chunk, f)) > 0) {
    too_large = static_cast<int64_t>(bytes.size() + got) > max_bytes;
    if (!too_large) bytes.insert(bytes.end(), chunk, chunk + got);
  }
  const bool failed = std::ferror(f) != 0;
  std::fclose(f);
  FOVEA_CHECK(!too_large, "cannot read '", path, "': it is larger than the limit of ", max_bytes,
              " bytes");
  FOVEA_CHECK(!failed, "error while reading '", path, "': ", std::strerror(errno));
  return bytes;
}

// Writes the pieces in order to `path + ".tmp"` and renames it over `path`, so a reader sees
// either the old file or the complete new one, never a partial write.
inline void write_file_atomic(const std::string& path,
                              const std::vector<std::string_view>& pieces) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  FOVEA_CHECK(f != nullptr, "cannot open '", tmp, "' for writing: ", std::strerror(errno));
  bool ok = true;
  for (const std::string_view piece : pieces) {
    if (!piece.empty() && std::fwrite(piece.data(), 1, piece.size(), f) != piece.size()) ok = false;
  }
  ok = std::fclose(f) == 0 && ok;
  if (!ok) {
    std::remove(tmp.c_str());
    fail("error while writing '", tmp, "' (disk full?)");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    const int err = errno;
    std::remove(tmp.c_str());
    fail("cannot rename '", tmp, "' to '", path, "': ", std::strerror(err));
  }
}

inline uint64_t load_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | p[i];
  return v;
}

inline uint32_t load_le32(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | static_cast<uint32_t>(p[1]) << 8 |
         static_cast<uint32_t>(p[2]) << 16 | static_cast<uint32_t>(p[3]) << 24;
}

inline uint16_t load_le16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | p[1] << 8);
}

inline std::string le_bytes(uint64_t v, int count) {
  std::string out;
  for (int i = 0; i < count; ++i)
    out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  return out;
}

// Converts `count` elements of type `Stored` at unaligned `src` to T.
template <class T, class Stored>
void convert_elements(const uint8_t* src, int64_t count, T* dst) {
  for (int64_t i = 0; i < count; ++i) {
    Stored v;
    std::memcpy(&v, src + i * static_cast<int64_t>(sizeof(Stored)), sizeof(Stored));
    dst[i] = convert<T>(v);
  }
}

}  // namespace fovea::io
