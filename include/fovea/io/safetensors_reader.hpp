// SafeTensorsFile: a safetensors file read whole into memory and validated before any of it is
// trusted. Every offset, size and name is checked once here, so load() can copy without checks.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "fovea/core/tensor.hpp"
#include "fovea/io/file.hpp"
#include "fovea/io/json.hpp"
#include "fovea/io/safetensors_format.hpp"

namespace fovea {

// A valid tensor whose dtype fovea has no type for (I64, BOOL, ...): kept out of tensors().
struct UnloadableTensor {
  std::string name;
  std::string dtype;  // as spelled in the file
};

class SafeTensorsFile {
 public:
  // A file over max_bytes is refused before it is read whole.
  static SafeTensorsFile open(const std::string& path,
                              int64_t max_bytes = io::kDefaultMaxFileBytes) {
    return from_bytes(io::read_file(path, max_bytes), path);
  }
  static SafeTensorsFile from_bytes(std::vector<uint8_t> bytes, const std::string& source_name) {
    SafeTensorsFile f;
    f.source_ = source_name;
    f.bytes_ = std::make_shared<const std::vector<uint8_t>>(std::move(bytes));
    f.validate();
    return f;
  }

  const std::string& source() const { return source_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  // Sorted by begin offset, which is the order of the data section; empty tensors that share an
  // offset are ordered by name.
  const std::vector<TensorRecord>& tensors() const { return tensors_; }
  // Valid entries with a dtype fovea cannot load, in the same order.
  const std::vector<UnloadableTensor>& unloadable() const { return unloadable_; }

  bool contains(const std::string& name) const { return index_.count(name) != 0; }

  const TensorRecord& record(const std::string& name) const {
    const auto it = index_.find(name);
    if (it == index_.end()) {
      for (const UnloadableTensor& u : unloadable_) {
        FOVEA_CHECK(u.name != name, "safetensors file '", source_, "': tensor '", name,
                    "' has dtype ", u.dtype, ", which fovea cannot load");
      }
      fail("safetensors file '", source_, "' has no tensor '", name, "'");
    }
    return tensors_[it->second];
  }

  // The tensor converted from its stored dtype to T, in a new NCHW (row-major) tensor.
  template <class T>
  Tensor<T> load(const std::string& name) const {
    const TensorRecord& r = record(name);
    Tensor<T> t(r.shape);
    const uint8_t* src = bytes_->data() + data_begin_ + r.begin;
    const int64_t n = t.numel();
    switch (r.dtype) {
      case DType::f32:
        io::convert_elements<T, float>(src, n, t.data());
        break;
      case DType::f64:
        io::convert_elements<T, double>(src, n, t.data());
        break;
      case DType::f16:
        io::convert_elements<T, half>(src, n, t.data());
        break;
      case DType::bf16:
        io::convert_elements<T, bfloat16>(src, n, t.data());
        break;
      case DType::i8:
        io::convert_elements<T, int8_t>(src, n, t.data());
        break;
      case DType::u8:
        io::convert_elements<T, uint8_t>(src, n, t.data());
        break;
      case DType::i32:
        io::convert_elements<T, int32_t>(src, n, t.data());
        break;
    }
    return t;
  }

 private:
  struct Entry {
    TensorRecord record;
    const safetensors::DTypeInfo* info;
  };

  template <class... Parts>
  [[noreturn]] void error(const Parts&... parts) const {
    fail("safetensors file '", source_, "': ", parts...);
  }

  void validate() {
    const std::vector<uint8_t>& b = *bytes_;
    if (b.size() < 8) {
      error("the file is ", b.size(), " bytes, too short to hold the 8-byte header length");
    }
    const uint64_t header_len = io::load_le64(b.data());
    if (header_len > safetensors::kMaxHeaderBytes) {
      error("header length ", header_len, " is larger than the limit of ",
            safetensors::kMaxHeaderBytes, " bytes (the file is corrupt or not safetensors)");
    }
    if (header_len > b.size() - 8) {
      error("header length ", header_len, " runs past the end of the file: only ", b.size() - 8,
            " bytes follow the length field (the file is truncated or corrupt)");
    }
    data_begin_ = 8 + header_len;
    const uint64_t data_size = b.size() - data_begin_;
    const std::string_view text(reinterpret_cast<const char*>(b.data() + 8), header_len);
    const json::Value header = json::parse(text, "safetensors file '" + source_ + "' header");
    if (!header.is_object())
      error("the header must be a JSON object, got ", json::type_name(header.type()));

    std::vector<Entry> entries;
    for (const auto& [key, value] : header.as_object()) {
      if (key == safetensors::kMetadataKey) {
        read_metadata(value);
      } else {
        entries.push_back(read_entry(key, value, data_size));
      }
    }
    check_coverage(entries, data_size);
    for (Entry& e : entries) {
      if (e.info->loadable) {
        index_.emplace(e.record.name, tensors_.size());
        tensors_.push_back(std::move(e.record));
      } else {
        unloadable_.push_back({e.record.name, e.info->name});
      }
    }
  }

  void read_metadata(const json::Value& value) {
    if (!value.is_object()) {
      error("\"", safetensors::kMetadataKey, "\" must be an object of strings, got ",
            json::type_name(value.type()));
    }
    for (const auto& [key, v] : value.as_object()) {
      if (!v.is_string()) {
        error("metadata value for key \"", json::abbreviate(key, 200), "\" must be a string, got ",
              json::type_name(v.type()));
      }
      metadata_.emplace(key, v.as_string());
    }
  }

  Entry read_entry(const std::string& name, const json::Value& v, uint64_t data_size) const {
    const std::string tensor = "tensor '" + json::abbreviate(name, 200) + "'";
    if (!v.is_object()) error(tensor, ": entry must be an object, got ", json::type_name(v.type()));
    const json::Value* dtype = v.find("dtype");
    const json::Value* shape = v.find("shape");
    const json::Value* offsets = v.find("data_offsets");
    if (dtype == nullptr) error(tensor, " has no \"dtype\"");
    if (shape == nullptr) error(tensor, " has no \"shape\"");
    if (offsets == nullptr) error(tensor, " has no \"data_offsets\"");
    if (!dtype->is_string())
      error(tensor, ": \"dtype\" must be a string, got ", json::type_name(dtype->type()));
    Entry e{TensorRecord{name, DType::f32, Shape(), 0, 0},
            safetensors::find_dtype(dtype->as_string())};
    if (e.info == nullptr) {
      error(tensor, ": unknown dtype \"", dtype->as_string(), "\" (expected one of ",
            safetensors::known_dtype_names(), ")");
    }
    e.record.dtype = e.info->dtype;

    if (!shape->is_array())
      error(tensor, ": \"shape\" must be an array, got ", json::type_name(shape->type()));
    const json::Value::Array& dims = shape->as_array();
    if (dims.size() > static_cast<size_t>(kMaxRank)) {
      error(tensor, ": shape ", json::abbreviate(json::dump(*shape)), " has rank ", dims.size(),
            ", more than the maximum of ", kMaxRank);
    }
    // The product of the non-zero extents must fit in int64 even when another extent is zero,
    // or the tensor's strides would overflow.
    std::vector<int64_t> extents;
    uint64_t nonzero_product = 1;
    bool has_zero = false;
    for (size_t i = 0; i < dims.size(); ++i) {
      const json::Value& d = dims[i];
      const bool ok = d.is_integer() && (!d.number().negative || d.number().magnitude == 0) &&
                      d.number().magnitude <= static_cast<uint64_t>(INT64_MAX);
      if (!ok) {
        error(tensor, ": shape dimension ", i, " is ", json::abbreviate(json::dump(d)),
              ", expected a non-negative integer below 2^63");
      }
      const uint64_t extent = d.number().magnitude;
      extents.push_back(static_cast<int64_t>(extent));
      if (extent == 0) {
        has_zero = true;
        continue;
      }
      if (nonzero_product > static_cast<uint64_t>(INT64_MAX) / extent) {
        error(tensor, ": shape ", json::abbreviate(json::dump(*shape)),
              " has more elements than fit in int64");
      }
      nonzero_product *= extent;
    }
    const uint64_t numel = has_zero ? 0 : nonzero_product;
    e.record.shape = Shape(extents);
    if (numel > std::numeric_limits<uint64_t>::max() / e.info->size) {
      error(tensor, ": shape ", e.record.shape, " of ", e.info->name,
            " needs more bytes than fit in 64 bits");
    }
    const uint64_t bytes = numel * e.info->size;

    if (!offsets->is_array() || offsets->size() != 2) {
      error(tensor, ": \"data_offsets\" must be an array of 2 integers [begin, end), got ",
            json::abbreviate(json::dump(*offsets)));
    }
    for (const json::Value& o : offsets->as_array()) {
      if (!o.is_integer() || (o.number().negative && o.number().magnitude != 0)) {
        error(tensor, ": \"data_offsets\" must be 2 non-negative integers, got ",
              json::abbreviate(json::dump(*offsets)));
      }
    }
    e.record.begin = offsets->at(0).as_uint64();
    e.record.end = offsets->at(1).as_uint64();
    const std::string range =
        "[" + std::to_string(e.record.begin) + ", " + std::to_string(e.record.end) + ")";
    if (e.record.end < e.record.begin)
      error(tensor, ": data_offsets ", range, " end before they begin");
    if (e.record.end > data_size) {
      error(tensor, ": data_offsets ", range, " run past the end of the data section (", data_size,
            " bytes; the file is truncated or corrupt)");
    }
    if (e.record.end - e.record.begin != bytes) {
      error(tensor, ": shape ", e.record.shape, " of ", e.info->name, " needs ", bytes,
            " bytes, but data_offsets ", range, " hold ", e.record.end - e.record.begin);
    }
    return e;
  }

  // The format requires the tensors to tile the data section exactly: no overlap, no hole, no
  // trailing bytes. Sorting by offset puts neighbours next to each other.
  void check_coverage(std::vector<Entry>& entries, uint64_t data_size) const {
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return std::tie(a.record.begin, a.record.end, a.record.name) <
             std::tie(b.record.begin, b.record.end, b.record.name);
    });
    uint64_t covered = 0;  // every byte before this belongs to exactly one tensor
    for (size_t i = 0; i < entries.size(); ++i) {
      const TensorRecord& r = entries[i].record;
      if (r.begin < covered) {
        const TensorRecord& prev = entries[i - 1].record;
        error("tensor '", json::abbreviate(r.name, 200), "' at data_offsets [", r.begin, ", ",
              r.end, ") overlaps tensor '", json::abbreviate(prev.name, 200), "' at [", prev.begin,
              ", ", prev.end, ")");
      }
      if (r.begin > covered) {
        error("data section bytes [", covered, ", ", r.begin, ") before tensor '",
              json::abbreviate(r.name, 200),
              "' belong to no tensor (the format requires tensors to cover the data section "
              "without holes)");
      }
      covered = r.end;
    }
    if (covered != data_size) {
      error("the data section is ", data_size, " bytes but the tensors cover only ", covered,
            " (the format requires tensors to cover the data section without trailing bytes)");
    }
  }

  SafeTensorsFile() = default;

  std::string source_;
  std::shared_ptr<const std::vector<uint8_t>> bytes_;
  uint64_t data_begin_ = 0;
  std::map<std::string, std::string> metadata_;
  std::vector<TensorRecord> tensors_;
  std::map<std::string, size_t> index_;
  std::vector<UnloadableTensor> unloadable_;
};

}  // namespace fovea
