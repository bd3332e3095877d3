// Reads the conv shape lists in bench/shapes/ (*_layers.txt, every layer, written by
// gen_conv_shapes.py; *_conv.txt, distinct shapes picked by hand), one layer a line:
// "name N C H W K R S stride pad dilation groups"; '#' starts a comment line.
// Plain C++17, shared by the CPU and GPU benches.
#pragma once

#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "fovea/core/error.hpp"
#include "fovea/ops/conv2d/params.hpp"

namespace fovea::bench {

struct ConvLayer {
  std::string model;  // e.g. "resnet50"
  std::string name;   // torchvision module path, e.g. "layer1.0.conv2"
  Shape input;        // (N, C, H, W)
  Shape weight;       // (K, C / groups, R, S)
  Conv2dAttrs attrs;

  Conv2dParams params() const { return Conv2dParams::make(input, weight, attrs); }
  // The same layer with batch `n`.
  ConvLayer with_batch(int64_t n) const {
    ConvLayer l = *this;
    l.input[0] = n;
    return l;
  }
};

inline std::vector<ConvLayer> read_conv_layers(const std::string& path, const std::string& model) {
  std::ifstream in(path);
  FOVEA_CHECK(in.good(), "cannot open conv shape list ", path);
  std::vector<ConvLayer> layers;
  std::string line;
  for (int line_number = 1; std::getline(in, line); ++line_number) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    ConvLayer l;
    l.model = model;
    int64_t n, c, h, w, k, r, s, stride, pad, dilation, groups;
    fields >> l.name >> n >> c >> h >> w >> k >> r >> s >> stride >> pad >> dilation >> groups;
    FOVEA_CHECK(!fields.fail(), path, ":", line_number,
                ": expected 'name N C H W K R S stride pad dilation groups', got '", line, "'");
    FOVEA_CHECK(groups > 0 && c % groups == 0, path, ":", line_number, ": groups ", groups,
                " must divide C ", c);
    l.input = Shape{n, c, h, w};
    l.weight = Shape{k, c / groups, r, s};
    l.attrs = Conv2dAttrs::make(stride, pad, dilation, groups);
    l.params();  // validates
    layers.push_back(l);
  }
  return layers;
}

}  // namespace fovea::bench
