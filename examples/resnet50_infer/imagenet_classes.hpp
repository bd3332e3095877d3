// The 1000 ImageNet classes in class-index order (the order of torchvision's and Keras'
// outputs): WordNet id and human-readable name, parsed from the text compiled into the program.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>
#include <unordered_map>
#include <vector>

#include "fovea/core/error.hpp"
#include "imagenet_classes_text.hpp"

namespace fovea::examples {

struct ClassList {
  std::vector<std::string> wnids;   // "n01443537"
  std::vector<std::string> labels;  // "goldfish, Carassius auratus"
  std::unordered_map<std::string, int64_t> index_of_wnid;

  int64_t size() const { return static_cast<int64_t>(labels.size()); }
};

// Parses "wnid name" lines (ILSVRC's synset_words.txt format). source_name is for errors.
inline ClassList parse_class_list(const std::string& text, const std::string& source_name) {
  ClassList list;
  std::istringstream in(text);
  std::string line;
  int64_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    if (line.empty()) continue;
    const size_t space = line.find(' ');
    FOVEA_CHECK(space != std::string::npos && space > 0 && space + 1 < line.size(), source_name,
                " line ", line_number, ": expected \"wnid name\", got \"", line, "\"");
    const std::string wnid = line.substr(0, space);
    FOVEA_CHECK(list.index_of_wnid.emplace(wnid, list.size()).second, source_name, " line ",
                line_number, ": WordNet id ", wnid, " appears twice");
    list.wnids.push_back(wnid);
    list.labels.push_back(line.substr(space + 1));
  }
  return list;
}

inline const ClassList& imagenet_classes() {
  static const ClassList list = [] {
    ClassList parsed = parse_class_list(kImagenetClassesText, "imagenet_classes.txt");
    FOVEA_CHECK(parsed.size() == 1000, "imagenet_classes.txt: expected 1000 classes, got ",
                parsed.size());
    return parsed;
  }();
  return list;
}

}  // namespace fovea::examples
