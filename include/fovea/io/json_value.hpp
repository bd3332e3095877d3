// json::Value: one JSON value (null, boolean, number, string, array, or object that keeps its
// members in insertion order). Parsing and printing live in json.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "fovea/core/error.hpp"

namespace fovea::json {

enum class Type : uint8_t { null, boolean, number, string, array, object };

inline const char* type_name(Type t) {
  switch (t) {
    case Type::null:
      return "null";
    case Type::boolean:
      return "a boolean";
    case Type::number:
      return "a number";
    case Type::string:
      return "a string";
    case Type::array:
      return "an array";
    case Type::object:
      return "an object";
  }
  return "?";
}

class Value {
 public:
  using Array = std::vector<Value>;
  using Member = std::pair<std::string, Value>;
  using Object = std::vector<Member>;  // insertion order, keys unique

  // A number as written: its double value and, when the text was an integer that fits in 64
  // bits (sign aside), that integer exactly.
  struct Number {
    double value = 0;
    uint64_t magnitude = 0;  // |integer|, meaningful when `integer`
    bool integer = false;
    bool negative = false;
  };

  Value() = default;
  Value(std::nullptr_t) {}
  Value(bool b) : v_(b) {}
  Value(double d) : v_(number_from_double(d)) {}
  template <class I, std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>, int> = 0>
  Value(I i) : v_(number_from_integer(i)) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  Value(Array a) : v_(std::move(a)) {}
  Value(Object o) : v_(std::move(o)) {}
  Value(Number n) : v_(n) {}

  static Value array() { return Value(Array{}); }
  static Value object() { return Value(Object{}); }

  Type type() const { return static_cast<Type>(v_.index()); }
  bool is_null() const { return type() == Type::null; }
  bool is_bool() const { return type() == Type::boolean; }
  bool is_number() const { return type() == Type::number; }
  bool is_string() const { return type() == Type::string; }
  bool is_array() const { return type() == Type::array; }
  bool is_object() const { return type() == Type::object; }

  bool as_bool() const { return get<bool>(Type::boolean); }
  double as_number() const { return get<Number>(Type::number).value; }
  const Number& number() const { return get<Number>(Type::number); }
  // True when the number was written as an integer (no fraction or exponent) that fits in 64
  // bits; the value is then exact even past 2^53.
  bool is_integer() const { return is_number() && number().integer; }

  // The number as a uint64, checked: it must have been written as a non-negative integer that
  // fits in 64 bits ("3" yes; "3.0", "-1", "1e3" and "18446744073709551616" no).
  uint64_t as_uint64() const {
    const Number& n = number();
    FOVEA_CHECK(n.integer, "JSON number ", n.value, " is not an integer that fits in 64 bits");
    FOVEA_CHECK(!n.negative || n.magnitude == 0, "JSON number -", n.magnitude,
                " is negative, expected a non-negative integer");
    return n.magnitude;
  }
  int64_t as_int64() const {
    const Number& n = number();
    constexpr uint64_t kMaxMagnitude = uint64_t{1} << 63;
    FOVEA_CHECK(
        n.integer && (n.negative ? n.magnitude <= kMaxMagnitude : n.magnitude < kMaxMagnitude),
        "JSON number ", n.value, " is not an integer that fits in int64");
    return n.negative ? static_cast<int64_t>(0 - n.magnitude) : static_cast<int64_t>(n.magnitude);
  }

  const std::string& as_string() const { return get<std::string>(Type::string); }
  const Array& as_array() const { return get<Array>(Type::array); }
  Array& as_array() { return get<Array>(Type::array); }
  const Object& as_object() const { return get<Object>(Type::object); }
  Object& as_object() { return get<Object>(Type::object); }

  // The member named `key` of an object, or null if there is none.
  const Value* find(std::string_view key) const {
    for (const Member& m : as_object()) {
      if (m.first == key) return &m.second;
    }
    return nullptr;
  }
  const Value& at(std::string_view key) const {
    const Value* v = find(key);
    FOVEA_CHECK(v != nullptr, "JSON object has no member '", key, "'");
    return *v;
  }
  const Value& at(size_t i) const {
    const Array& a = as_array();
    FOVEA_CHECK(i < a.size(), "JSON array index ", i, " is outside an array of ", a.size());
    return a[i];
  }
  size_t size() const {
    if (is_array()) return as_array().size();
    return as_object().size();
  }

  // Sets an object member, replacing an existing one of the same key in place.
  void set(std::string key, Value value) {
    Object& o = as_object();
    for (Member& m : o) {
      if (m.first == key) {
        m.second = std::move(value);
        return;
      }
    }
    o.emplace_back(std::move(key), std::move(value));
  }
  void push_back(Value value) { as_array().push_back(std::move(value)); }

  friend bool operator==(const Value& a, const Value& b) {
    if (a.type() != b.type()) return false;
    if (a.is_number()) return a.number().value == b.number().value;
    return a.v_ == b.v_;
  }
  friend bool operator!=(const Value& a, const Value& b) { return !(a == b); }

 private:
  template <class T>
  const T& get(Type want) const {
    FOVEA_CHECK(type() == want, "JSON value is ", type_name(type()), ", expected ",
                type_name(want));
    return std::get<T>(v_);
  }
  template <class T>
  T& get(Type want) {
    FOVEA_CHECK(type() == want, "JSON value is ", type_name(type()), ", expected ",
                type_name(want));
    return std::get<T>(v_);
  }

  template <class I>
  static Number number_from_integer(I i) {
    Number n;
    n.value = static_cast<double>(i);
    n.integer = true;
    n.negative = i < 0;
    n.magnitude = n.negative ? 0 - static_cast<uint64_t>(i) : static_cast<uint64_t>(i);
    return n;
  }
  // Integral doubles below 2^64 count as integers, so Value(3.0).as_uint64() is 3.
  static Number number_from_double(double d) {
    Number n;
    n.value = d;
    const double magnitude = d < 0 ? -d : d;
    if (magnitude < 18446744073709551616.0 &&
        magnitude == static_cast<double>(static_cast<uint64_t>(magnitude))) {
      n.integer = true;
      n.negative = d < 0;
      n.magnitude = static_cast<uint64_t>(magnitude);
    }
    return n;
  }

  // Alternative order matches Type.
  std::variant<std::nullptr_t, bool, Number, std::string, Array, Object> v_;
};

}  // namespace fovea::json
