// MNIST's IDX files (LeCun's format: big-endian magic, dimensions, then uint8 data), gzipped or
// not, as an ImageSet of 1-channel 28×28 images with labels.
#pragma once

#include <string>
#include <vector>

#include "fovea/data/image_set.hpp"
#include "fovea/data/inflate.hpp"
#include "fovea/image/decode.hpp"

namespace fovea::data {

namespace detail {

inline uint32_t read_be32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t(b[at]) << 24 | uint32_t(b[at + 1]) << 16 | uint32_t(b[at + 2]) << 8 | b[at + 3];
}

// The file's bytes, inflated when it starts with gzip's magic.
inline std::vector<uint8_t> read_maybe_gzipped(const std::string& path) {
  std::vector<uint8_t> bytes = fovea::detail::read_file_bytes(path);
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) return gunzip(bytes, path);
  return bytes;
}

// Checks the IDX header (uint8 data, `rank` dimensions) and returns the dimensions.
inline std::vector<int64_t> idx_dims(const std::vector<uint8_t>& b, int rank,
                                     const std::string& path) {
  FOVEA_CHECK(b.size() >= 4 + 4 * size_t(rank), path, ": too short for an IDX header");
  FOVEA_CHECK(b[0] == 0 && b[1] == 0 && b[2] == 8 && b[3] == rank, path,
              ": expected an IDX file of uint8 with ", rank, " dimensions, magic is ", int(b[2]),
              "/", int(b[3]));
  std::vector<int64_t> dims;
  int64_t total = 1;
  for (int i = 0; i < rank; ++i) {
    dims.push_back(read_be32(b, 4 + 4 * size_t(i)));
    total *= dims.back();
  }
  FOVEA_CHECK(b.size() == 4 + 4 * size_t(rank) + size_t(total), path, ": IDX data is ",
              b.size() - 4 - 4 * size_t(rank), " bytes, dimensions say ", total);
  return dims;
}

}  // namespace detail

// images: *-images-idx3-ubyte[.gz]; labels: *-labels-idx1-ubyte[.gz]; counts must agree.
inline ImageSet read_mnist(const std::string& images_path, const std::string& labels_path) {
  const std::vector<uint8_t> images = detail::read_maybe_gzipped(images_path);
  const std::vector<uint8_t> labels = detail::read_maybe_gzipped(labels_path);
  const std::vector<int64_t> dims = detail::idx_dims(images, 3, images_path);
  const std::vector<int64_t> label_dims = detail::idx_dims(labels, 1, labels_path);
  FOVEA_CHECK(dims[0] == label_dims[0], images_path, " has ", dims[0], " images but ", labels_path,
              " has ", label_dims[0], " labels");
  ImageSet set;
  set.channels = 1, set.height = dims[1], set.width = dims[2];
  set.pixels.assign(images.begin() + 16, images.end());
  for (size_t i = 8; i < labels.size(); ++i) {
    FOVEA_CHECK(labels[i] < 10, labels_path, ": label ", int(labels[i]), " at ", i - 8,
                " is not a digit");
    set.labels.push_back(labels[i]);
  }
  set.num_classes = 10;
  return set;
}

// The standard file names in `dir`: "train" or "t10k".
inline ImageSet read_mnist_split(const std::string& dir, const std::string& split) {
  return read_mnist(dir + "/" + split + "-images-idx3-ubyte.gz",
                    dir + "/" + split + "-labels-idx1-ubyte.gz");
}

}  // namespace fovea::data
