// ClassNames: turns a ground-truth label as people write it into a class index. A label may be
// the index itself ("472"), a label the records carry ("canoe", "goldfish, Carassius auratus"),
// or, with --class-names, a synset id ("n02951358") or a name from that file. The first
// comma-separated part of a name ("goldfish") works too when only one class has it (ImageNet
// has two "crane"s and two "maillot"s: those must be written out in full or by index).
#pragma once

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "csv_reader.hpp"
#include "prediction_record.hpp"

namespace fovea::report {

class ClassNames {
 public:
  // Names from the records' top-k labels.
  void add_records(const std::vector<PredictionRecord>& records) {
    for (const PredictionRecord& r : records)
      for (const TopEntry& e : r.topk)
        if (!e.label.empty()) add_name(e.label, e.index);
  }

  // A class list: line i is class i, "n01440764 tench, Tinca tinca" (synset_words.txt) or just
  // the name. Throws naming the file when it cannot be read or is empty.
  void add_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    FOVEA_CHECK(in.is_open(), "cannot open the class names '", path, "' for reading");
    std::string line;
    int64_t index = 0;
    while (std::getline(in, line)) {
      line = trim(line);
      const size_t space = line.find(' ');
      const std::string first = line.substr(0, space);
      if (first.size() == 9 && first[0] == 'n' &&
          first.find_first_not_of("0123456789", 1) == std::string::npos) {
        set(exact_, first, index);
        if (space != std::string::npos) add_name(trim(line.substr(space + 1)), index);
      } else if (!line.empty()) {
        add_name(line, index);
      }
      ++index;
    }
    FOVEA_CHECK(!in.bad(), "error while reading ", path);
    FOVEA_CHECK(index > 0, path, ": no class names in it");
    file_classes_ = std::max(file_classes_, index);
  }

  // The class of `text`, or -1 when it is none of the forms above (or is ambiguous).
  int64_t resolve(const std::string& raw) const {
    const std::string text = trim(raw);
    int64_t index = 0;
    if (parse_integer(text, index)) return index >= 0 && index < kMaxClasses ? index : -1;
    for (const auto* names : {&exact_, &short_}) {
      const auto it = names->find(text);
      if (it != names->end()) return it->second;
    }
    return -1;
  }

  bool known(const std::string& text) const { return resolve(text) >= 0; }
  int64_t file_classes() const { return file_classes_; }
  // A readable name of class `index` (the first one seen), or "".
  std::string name_of(int64_t index) const {
    const auto it = display_.find(index);
    return it == display_.end() ? "" : it->second;
  }

 private:
  static constexpr int64_t kAmbiguous = -1;

  static void set(std::map<std::string, int64_t>& names, const std::string& name, int64_t index) {
    const auto [it, inserted] = names.emplace(name, index);
    if (!inserted && it->second != index) it->second = kAmbiguous;
  }

  void add_name(const std::string& name, int64_t index) {
    set(exact_, name, index);
    set(short_, trim(name.substr(0, name.find(','))), index);
    display_.emplace(index, name);
  }

  std::map<std::string, int64_t> exact_, short_;
  std::map<int64_t, std::string> display_;
  int64_t file_classes_ = 0;
};

}  // namespace fovea::report
