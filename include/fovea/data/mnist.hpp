// MNIST's IDX files (LeCun's format: big-endian magic, dimensions, then uint8 data), gzipped or
// not, as an ImageSet of 1-channel 28×28 images with labels.
#pragma once

#include <string>
#include <vector>

#include "fovea/data/image_set.hpp"
#include "fovea/data/inflate.hpp"
#include "fovea/io/file.hpp"

namespace fovea::data {

namespace detail {

inline uint32_t read_be32(const std::vector<uint8_t>& b, size_t at) {
  return uint32_t(b[at]) << 24 | uint32_t(b[at + 1]) << 16 | uint32_t(b[at + 2]) << 8 | b[at + 3];
}

// The bytes, inflated when they start with gzip's magic.
inline std::vector<uint8_t> maybe_gunzip(std::vector<uint8_t> bytes, const std::string& name) {
  if (bytes.size() >= 2 && bytes[0] == 0x1f && bytes[1] == 0x8b) return gunzip(bytes, name);
  return bytes;
}

// Checks the IDX header (uint8 data, `rank` dimensions) and returns the dimensions.
inline std::vector<int64_t> idx_dims(const std::vector<uint8_t>& b, int rank,
                                     const std::string& path) {
  FOVEA_CHECK(b.size() >= 4 + 4 * size_t(rank), path, ": too short for an IDX header");
  FOVEA_CHECK(b[0] == 0 && b[1] == 0 && b[2] == 8 && b[3] == rank, path,
              ": expected an IDX file of uint8 with ", rank, " dimensions, magic is ", int(b[2]),
              "/", int(b[3]));
  const uint64_t data_bytes = b.size() - 4 - 4 * size_t(rank);
  std::vector<int64_t> dims;
  uint64_t total = 1;
  for (int i = 0; i < rank; ++i) {
    dims.push_back(read_be32(b, 4 + 4 * size_t(i)));
    // Multiplied only while the product can still match the data, so it cannot overflow.
    FOVEA_CHECK(dims.back() == 0 || total <= data_bytes / uint64_t(dims.back()), path,
                ": IDX dimension ", i, " (", dims.back(), ") makes more elements than the ",
                data_bytes, " data bytes the file holds");
    total *= uint64_t(dims.back());
  }
  FOVEA_CHECK(data_bytes == total, path, ": IDX data is ", data_bytes, " bytes, dimensions say ",
              total);
  return dims;
}

}  // namespace detail

// The images and labels of two IDX files' bytes (each may be gzipped); the names are for errors.
inline ImageSet parse_mnist(std::vector<uint8_t> images, const std::string& images_name,
                            std::vector<uint8_t> labels, const std::string& labels_name) {
  images = detail::maybe_gunzip(std::move(images), images_name);
  labels = detail::maybe_gunzip(std::move(labels), labels_name);
  const std::vector<int64_t> dims = detail::idx_dims(images, 3, images_name);
  const std::vector<int64_t> label_dims = detail::idx_dims(labels, 1, labels_name);
  FOVEA_CHECK(dims[0] == label_dims[0], images_name, " has ", dims[0], " images but ", labels_name,
              " has ", label_dims[0], " labels");
  ImageSet set;
  set.channels = 1, set.height = dims[1], set.width = dims[2];
  set.pixels.assign(images.begin() + 16, images.end());
  for (size_t i = 8; i < labels.size(); ++i) {
    FOVEA_CHECK(labels[i] < 10, labels_name, ": label ", int(labels[i]), " at ", i - 8,
                " is not a digit");
    set.labels.push_back(labels[i]);
  }
  set.num_classes = 10;
  return set;
}

// images: *-images-idx3-ubyte[.gz]; labels: *-labels-idx1-ubyte[.gz]; counts must agree.
inline ImageSet read_mnist(const std::string& images_path, const std::string& labels_path) {
  std::vector<uint8_t> images = io::read_file(images_path);  // read first, so named first
  return parse_mnist(std::move(images), images_path, io::read_file(labels_path), labels_path);
}

// The standard file names in `dir`: "train" or "t10k".
inline ImageSet read_mnist_split(const std::string& dir, const std::string& split) {
  return read_mnist(dir + "/" + split + "-images-idx3-ubyte.gz",
                    dir + "/" + split + "-labels-idx1-ubyte.gz");
}

}  // namespace fovea::data
