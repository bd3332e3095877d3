// SafeTensorsWriter: collects tensors and metadata and writes one safetensors file atomically.
//
// Data layout: tensors are stored in order of decreasing element size, then in the order they
// were added, so every tensor starts at a multiple of its element size (the data section itself
// starts at a multiple of 8). The header lists "__metadata__" first, then the tensors in data
// order, and is padded with spaces to a multiple of 8 bytes as the format asks.
#pragma once

#include <algorithm>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "fovea/core/tensor.hpp"
#include "fovea/io/file.hpp"
#include "fovea/io/json.hpp"
#include "fovea/io/safetensors_format.hpp"

namespace fovea {

class SafeTensorsWriter {
 public:
  void set_metadata(const std::string& key, const std::string& value) { metadata_[key] = value; }

  // Copies the tensor's elements now; NHWC tensors are stored in logical (NCHW) order, since the
  // format has no notion of layout.
  template <class T>
  void add(const std::string& name, const Tensor<T>& t) {
    FOVEA_CHECK(name != safetensors::kMetadataKey, "safetensors tensor name '", name,
                "' is reserved for metadata");
    for (const Entry& e : entries_) {
      FOVEA_CHECK(e.name != name, "safetensors writer already has a tensor named '", name, "'");
    }
    FOVEA_CHECK(!t.empty(), "safetensors tensor '", name, "' is an empty (default) tensor");
    const Tensor<T> logical = t.layout() == Layout::nhwc ? t.to_layout(Layout::nchw) : t;
    entries_.push_back(
        {name, dtype_of<T>, t.shape(),
         std::string(reinterpret_cast<const char*>(logical.data()), logical.size_bytes())});
  }

  // Header and data, exactly as write() stores them.
  std::string serialize() const {
    std::string out = header_bytes();
    for (const Entry* e : data_order())
      out += e->data;
    return out;
  }

  void write(const std::string& path) const {
    const std::string header = header_bytes();
    std::vector<std::string_view> pieces{header};
    for (const Entry* e : data_order())
      pieces.push_back(e->data);
    io::write_file_atomic(path, pieces);
  }

 private:
  struct Entry {
    std::string name;
    DType dtype;
    Shape shape;
    std::string data;  // little-endian elements in logical order
  };

  std::vector<const Entry*> data_order() const {
    std::vector<const Entry*> order;
    for (const Entry& e : entries_)
      order.push_back(&e);
    std::stable_sort(order.begin(), order.end(), [](const Entry* a, const Entry* b) {
      return dtype_size(a->dtype) > dtype_size(b->dtype);
    });
    return order;
  }

  // The 8-byte length followed by the space-padded JSON header.
  std::string header_bytes() const {
    json::Value header = json::Value::object();
    if (!metadata_.empty()) {
      json::Value meta = json::Value::object();
      for (const auto& [key, value] : metadata_)
        meta.set(key, value);
      header.set(safetensors::kMetadataKey, std::move(meta));
    }
    uint64_t offset = 0;
    for (const Entry* e : data_order()) {
      json::Value shape = json::Value::array();
      for (int64_t d : e->shape)
        shape.push_back(d);
      json::Value entry = json::Value::object();
      entry.set("dtype", safetensors::dtype_name(e->dtype));
      entry.set("shape", std::move(shape));
      entry.set("data_offsets",
                json::Value::Array{json::Value(offset), json::Value(offset + e->data.size())});
      // Names are unique (add() checks), so append without set()'s search.
      header.as_object().emplace_back(e->name, std::move(entry));
      offset += e->data.size();
    }
    std::string text = json::dump(header);
    text.append((8 - text.size() % 8) % 8, ' ');
    return io::le_bytes(text.size(), 8) + text;
  }

  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace fovea
