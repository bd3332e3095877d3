// The safetensors layout (https://github.com/huggingface/safetensors), as fovea reads and writes
// it: an 8-byte little-endian header length N, N bytes of JSON header, then the data section.
// The header maps each tensor name to {"dtype", "shape", "data_offsets": [begin, end)}, offsets
// relative to the start of the data section, plus an optional "__metadata__" string map.
// docs/weights_format.md describes the format and every validation rule.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fovea/core/dtype.hpp"
#include "fovea/core/shape.hpp"

namespace fovea {

// One tensor of a validated file. Offsets are relative to the data section, as in the format.
struct TensorRecord {
  std::string name;
  DType dtype;
  Shape shape;
  uint64_t begin, end;
};

namespace safetensors {

// The reference implementation refuses headers above 100 MB; so do we, before allocating.
inline constexpr uint64_t kMaxHeaderBytes = 100'000'000;
inline constexpr const char* kMetadataKey = "__metadata__";

struct DTypeInfo {
  const char* name;  // as spelled in the header
  size_t size;       // bytes per element
  bool loadable;     // whether fovea has a matching DType
  DType dtype;       // meaningful when loadable
};

// Every dtype of the format. Files holding the ones fovea has no type for (PyTorch writes
// batch norm's num_batches_tracked as I64) still validate; those tensors just cannot be loaded.
inline constexpr DTypeInfo kDTypes[] = {
    {"F64", 8, true, DType::f64},      {"F32", 4, true, DType::f32},
    {"F16", 2, true, DType::f16},      {"BF16", 2, true, DType::bf16},
    {"I32", 4, true, DType::i32},      {"I8", 1, true, DType::i8},
    {"U8", 1, true, DType::u8},        {"I64", 8, false, DType::f32},
    {"U64", 8, false, DType::f32},     {"U32", 4, false, DType::f32},
    {"I16", 2, false, DType::f32},     {"U16", 2, false, DType::f32},
    {"BOOL", 1, false, DType::f32},    {"F8_E4M3", 1, false, DType::f32},
    {"F8_E5M2", 1, false, DType::f32},
};

inline const DTypeInfo* find_dtype(std::string_view name) {
  for (const DTypeInfo& info : kDTypes) {
    if (name == info.name) return &info;
  }
  return nullptr;
}

inline std::string known_dtype_names() {
  std::string out;
  for (const DTypeInfo& info : kDTypes)
    out += (out.empty() ? "" : ", ") + std::string(info.name);
  return out;
}

inline const char* dtype_name(DType t) {
  for (const DTypeInfo& info : kDTypes) {
    if (info.loadable && info.dtype == t) return info.name;
  }
  return "?";
}

}  // namespace safetensors
}  // namespace fovea
