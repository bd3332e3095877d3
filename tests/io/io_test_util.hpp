// Helpers shared by the io tests: scratch file paths and hand-built safetensors bytes.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "fovea/io/file.hpp"

namespace fovea::test {

// A path in the build tree's scratch folder; each test uses its own file name, so tests can run
// in parallel.
inline std::string temp_path(const std::string& name) {
  const std::filesystem::path dir = std::filesystem::path(FOVEA_BINARY_DIR) / "io_test_files";
  std::filesystem::create_directories(dir);
  return (dir / name).string();
}

// A safetensors file: the 8-byte little-endian length of `header`, `header`, then `data`.
inline std::vector<uint8_t> safetensors_bytes(const std::string& header, const std::string& data) {
  const std::string all = io::le_bytes(header.size(), 8) + header + data;
  return std::vector<uint8_t>(all.begin(), all.end());
}

}  // namespace fovea::test
