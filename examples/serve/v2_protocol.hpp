// The KServe v2 / Open Inference Protocol's REST inference request and response, with Triton's
// extensions for binary tensor data and classification
// (https://github.com/kserve/open-inference-protocol, Triton's docs/protocol/extension_*.md).
//
// A request body is JSON, or, with the header Inference-Header-Content-Length: L, L bytes of
// JSON followed by the raw bytes of the inputs that declare "binary_data_size", in order.
// Every field is checked before it is used; errors are V2Error with a message for the client.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "fovea/core/tensor.hpp"

namespace fovea::serve {

// A request the client must fix: answered with 400 and this message.
struct V2Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// What the model expects of the request's one input.
struct InputSpec {
  std::string name = "input";
  int64_t channels = 3, height = 0, width = 0;  // 0: any size
  int64_t max_images = 0;
  int64_t max_side = 4096;  // where the size is free
};

struct RequestedOutput {
  std::string name;  // "logits" or "probabilities"
  bool binary = false;
  int64_t classification = 0;  // > 0: Triton's classification extension, top-K strings
};

struct V2Request {
  nlohmann::json id;  // echoed when present
  Tensor<float> input;
  std::vector<RequestedOutput> outputs;
};

inline const std::vector<std::string>& v2_output_names() {
  static const std::vector<std::string> names{"logits", "probabilities"};
  return names;
}

// JSON text that never throws: bytes that are not UTF-8 (a hostile request's strings, echoed in
// an error) become U+FFFD.
inline std::string json_text(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

namespace detail {

// A value as an error message shows it: its JSON, cut to 80 characters.
inline std::string shown(const nlohmann::json& value) {
  std::string text = json_text(value);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

template <class... Parts>
[[noreturn]] void v2_fail(const Parts&... parts) {
  std::string message;
  ((message += parts), ...);
  throw V2Error(message);
}

inline int64_t whole_number(const nlohmann::json& v, const std::string& what) {
  if (!v.is_number_integer()) v2_fail(what, " must be a whole number, got ", shown(v));
  return v.get<int64_t>();
}

// "data" may be flat or nested as the shape (at most 4 deep); either way it must hold exactly
// `count` numbers.
inline void read_numbers(const nlohmann::json& data, float* out, int64_t count, int64_t& used,
                         int depth = 0) {
  if (data.is_array()) {
    if (depth == 4) v2_fail("input data is nested deeper than its 4 dimensions");
    for (const nlohmann::json& item : data)
      read_numbers(item, out, count, used, depth + 1);
    return;
  }
  if (!data.is_number()) v2_fail("input data must hold numbers only, got ", shown(data));
  if (used >= count)
    v2_fail("input data holds more than the ", std::to_string(count), " numbers its shape gives");
  const double x = data.get<double>();
  if (!std::isfinite(x) || std::fabs(x) > std::numeric_limits<float>::max())
    v2_fail("input data must be finite FP32 numbers, got ", shown(data));
  out[used++] = static_cast<float>(x);
}

inline std::string shape_text(const std::vector<int64_t>& shape) {
  std::string text = "[";
  for (size_t i = 0; i < shape.size(); ++i)
    text += (i ? "," : "") + std::to_string(shape[i]);
  return text + "]";
}

}  // namespace detail

// Parses a request body. `json_length` is the Inference-Header-Content-Length header's value,
// or -1 when the body is all JSON.
inline V2Request parse_v2_request(const std::string& body, int64_t json_length,
                                  const InputSpec& spec) {
  using detail::v2_fail;
  if (json_length > static_cast<int64_t>(body.size()))
    v2_fail("Inference-Header-Content-Length is ", std::to_string(json_length),
            " but the body has only ", std::to_string(body.size()), " bytes");
  const size_t header_bytes = json_length < 0 ? body.size() : static_cast<size_t>(json_length);
  nlohmann::json request;
  try {
    request = nlohmann::json::parse(body.begin(), body.begin() + static_cast<long>(header_bytes));
  } catch (const nlohmann::json::exception& e) {
    v2_fail("the request is not valid JSON: ", e.what());
  }
  if (!request.is_object()) v2_fail("the request must be a JSON object");
  V2Request parsed;
  if (request.contains("id")) parsed.id = request["id"];

  if (!request.contains("inputs") || !request["inputs"].is_array())
    v2_fail("the request needs \"inputs\", an array");
  const nlohmann::json& inputs = request["inputs"];
  if (inputs.size() != 1)
    v2_fail("the model has one input, \"", spec.name, "\"; the request gives ",
            std::to_string(inputs.size()));
  const nlohmann::json& input = inputs[0];
  if (!input.is_object()) v2_fail("inputs[0] must be an object");
  if (!input.contains("name") || !input["name"].is_string() || input["name"] != spec.name)
    v2_fail("inputs[0].name must be \"", spec.name, "\"",
            input.contains("name") ? ", got " + detail::shown(input["name"]) : std::string());
  if (!input.contains("datatype") || input["datatype"] != "FP32")
    v2_fail("input \"", spec.name, "\" has datatype FP32, got ",
            input.contains("datatype") ? detail::shown(input["datatype"]) : "none");
  if (!input.contains("shape") || !input["shape"].is_array() || input["shape"].size() != 4)
    v2_fail("input \"", spec.name, "\" needs a shape of 4 dimensions [N, C, H, W], got ",
            input.contains("shape") ? detail::shown(input["shape"]) : "none");
  std::vector<int64_t> shape;
  for (const nlohmann::json& d : input["shape"])
    shape.push_back(detail::whole_number(d, "every dimension of the shape"));
  const auto expect = [&](size_t axis, int64_t wanted, const char* what) {
    if (wanted > 0 && shape[axis] != wanted)
      v2_fail("input \"", spec.name, "\" has shape ", detail::shape_text(shape), ": ", what,
              " must be ", std::to_string(wanted));
  };
  if (shape[0] < 1 || shape[0] > spec.max_images)
    v2_fail("input \"", spec.name, "\" has shape ", detail::shape_text(shape),
            ": N must be in [1, ", std::to_string(spec.max_images), "] (the server's --max-batch)");
  expect(1, spec.channels, "C");
  expect(2, spec.height, "H");
  expect(3, spec.width, "W");
  if (shape[2] < 1 || shape[3] < 1 || shape[2] > spec.max_side || shape[3] > spec.max_side)
    v2_fail("input \"", spec.name, "\" has shape ", detail::shape_text(shape),
            ": H and W must be in [1, ", std::to_string(spec.max_side), "]");
  parsed.input = Tensor<float>(Shape(shape));
  const int64_t count = parsed.input.numel();

  const bool binary = input.contains("parameters") && input["parameters"].is_object() &&
                      input["parameters"].contains("binary_data_size");
  if (binary) {
    const int64_t size =
        detail::whole_number(input["parameters"]["binary_data_size"], "binary_data_size");
    if (json_length < 0)
      v2_fail("input \"", spec.name,
              "\" gives binary_data_size but the request has no Inference-Header-Content-Length");
    if (size != count * 4)
      v2_fail("input \"", spec.name, "\" of shape ", detail::shape_text(shape), " needs ",
              std::to_string(count * 4), " bytes of FP32, binary_data_size says ",
              std::to_string(size));
    if (body.size() - header_bytes != static_cast<size_t>(size))
      v2_fail("the body has ", std::to_string(body.size() - header_bytes),
              " bytes after the JSON header, binary_data_size says ", std::to_string(size));
    std::memcpy(parsed.input.data(), body.data() + header_bytes, static_cast<size_t>(size));
    for (int64_t i = 0; i < count; ++i)
      if (!std::isfinite(parsed.input.data()[i]))
        v2_fail("input \"", spec.name, "\" holds a value that is not finite at element ",
                std::to_string(i));
  } else {
    if (!input.contains("data")) v2_fail("input \"", spec.name, "\" has no \"data\"");
    int64_t used = 0;
    detail::read_numbers(input["data"], parsed.input.data(), count, used);
    if (used != count)
      v2_fail("input \"", spec.name, "\" of shape ", detail::shape_text(shape), " needs ",
              std::to_string(count), " numbers, \"data\" holds ", std::to_string(used));
    if (json_length >= 0 && header_bytes != body.size())
      v2_fail("the body has ", std::to_string(body.size() - header_bytes),
              " bytes after the JSON header, but no input declares binary data");
  }

  bool binary_by_default = false;
  if (request.contains("parameters") && request["parameters"].is_object() &&
      request["parameters"].contains("binary_data_output"))
    binary_by_default = request["parameters"]["binary_data_output"] == true;
  if (request.contains("outputs")) {
    if (!request["outputs"].is_array()) v2_fail("\"outputs\" must be an array");
    for (const nlohmann::json& o : request["outputs"]) {
      if (!o.is_object() || !o.contains("name") || !o["name"].is_string())
        v2_fail("each output needs a \"name\"");
      RequestedOutput out{o["name"].get<std::string>(), binary_by_default, 0};
      const auto& names = v2_output_names();
      if (std::find(names.begin(), names.end(), out.name) == names.end())
        v2_fail("unknown output ", detail::shown(o["name"]),
                ": the model has \"logits\" and "
                "\"probabilities\"");
      if (o.contains("parameters") && o["parameters"].is_object()) {
        const nlohmann::json& p = o["parameters"];
        if (p.contains("binary_data")) {
          if (!p["binary_data"].is_boolean()) v2_fail("binary_data must be true or false");
          out.binary = p["binary_data"].get<bool>();
        }
        if (p.contains("classification")) {
          out.classification = detail::whole_number(p["classification"], "classification");
          if (out.classification < 1) v2_fail("classification must be at least 1");
        }
      }
      parsed.outputs.push_back(out);
    }
  } else {
    for (const std::string& name : v2_output_names())
      parsed.outputs.push_back({name, binary_by_default, 0});
  }
  return parsed;
}

}  // namespace fovea::serve
