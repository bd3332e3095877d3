// State-dict listings for the model tests: "name d0xd1x…" per tensor, in registration order, as
// fovea builds it and as torchvision's state_dict() gives it (files under tests/models/data).
#pragma once

#include <doctest/doctest.h>

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fovea/nn/module.hpp"

namespace fovea::test {

inline std::string shape_text(const Shape& s) {
  std::ostringstream out;
  for (int i = 0; i < s.rank(); ++i)
    out << (i ? "x" : "") << s[i];
  return out.str();
}

// Parameters and buffers of `model`, one "name shape" line each.
inline std::vector<std::string> state_dict_listing(nn::Module& model) {
  std::vector<std::string> lines;
  for (const nn::NamedTensor& t : model.named_tensors()) {
    lines.push_back(t.name + " " + shape_text(t.tensor->shape()));
  }
  return lines;
}

// tests/models/data/<file>, written once by /usr/bin/python3 with torchvision 0.14:
//   python3 -c "import sys, torchvision.models as m; print('\n'.join(k + ' ' + 'x'.join(map(str,
//   t.shape)) for k, t in getattr(m, sys.argv[1])().state_dict().items()
//   if not k.endswith('num_batches_tracked')))" resnet18 > resnet18_state_dict.txt
inline std::vector<std::string> read_listing(const std::string& file) {
  const std::string path = std::string(FOVEA_SOURCE_DIR) + "/tests/models/data/" + file;
  std::ifstream in(path);
  REQUIRE_MESSAGE(in.good(), "cannot open ", path);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) lines.push_back(line);
  }
  return lines;
}

// Checks line by line and stops at the first difference, so a misplaced layer reports once.
inline void check_same_listing(const std::vector<std::string>& got,
                               const std::vector<std::string>& want) {
  CHECK(got.size() == want.size());
  for (size_t i = 0; i < got.size() && i < want.size(); ++i) {
    INFO("tensor #", i);
    CHECK(got[i] == want[i]);
    if (got[i] != want[i]) break;
  }
}

}  // namespace fovea::test
