// Preprocessing: the recipe that turns a decoded image into a network's input, and its JSON form.
//
// A weights file stores the recipe its network was trained with as a JSON string under the
// metadata key "preprocessing", e.g. torchvision's ImageNet recipe
//   {"resize":256,"crop":224,"mean":[0.485,0.456,0.406],"std":[0.229,0.224,0.225],
//    "scale":0.003921569,"channel_order":"RGB","interpolation":"bilinear"}
// and Keras' "caffe" recipe (BGR, mean subtraction only)
//   {"resize":256,"crop":224,"mean":[103.939,116.779,123.68],"std":[1,1,1],"scale":1,
//    "channel_order":"BGR","interpolation":"bilinear"}
// The steps, in order: resize the shorter side to `resize` (0: keep the size), center-crop
// `crop` x `crop` (0: no crop), reorder channels, then per channel c of the output
// (pixel * scale - mean[c]) / std[c]. mean and std are in units after scaling and in the output
// channel order (Keras' caffe mean is B, G, R).
#pragma once

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "fovea/core/error.hpp"
#include "fovea/io/json.hpp"

namespace fovea {

struct Preprocessing {
  int64_t resize = 256;  // shorter side after resizing; 0 keeps the decoded size
  int64_t crop = 224;    // side of the square center crop; 0 keeps the resized image whole
  std::string channel_order = "RGB";  // "RGB" or "BGR"
  std::array<float, 3> mean{0.485f, 0.456f, 0.406f};
  std::array<float, 3> std{0.229f, 0.224f, 0.225f};
  float scale = 1.0f / 255.0f;
  std::string interpolation = "bilinear";  // the only one implemented: Pillow's BILINEAR

  // torchvision's ImageNet evaluation transform: Resize(256), CenterCrop(224), ToTensor(),
  // Normalize(mean, std). The default-constructed recipe.
  static Preprocessing torchvision_imagenet() { return Preprocessing{}; }

  // keras.applications' "caffe" mode (ResNet50, VGG): BGR, ImageNet mean subtracted, no scaling.
  static Preprocessing keras_caffe() {
    Preprocessing p;
    p.channel_order = "BGR";
    p.mean = {103.939f, 116.779f, 123.68f};
    p.std = {1.0f, 1.0f, 1.0f};
    p.scale = 1.0f;
    return p;
  }

  bool bgr() const { return channel_order == "BGR"; }

  // Throws fovea::Error naming the first field that is out of range.
  void validate() const {
    FOVEA_CHECK(resize >= 0, "preprocessing resize must be >= 0 (0: no resize), got ", resize);
    FOVEA_CHECK(crop >= 0, "preprocessing crop must be >= 0 (0: no crop), got ", crop);
    FOVEA_CHECK(channel_order == "RGB" || channel_order == "BGR",
                "preprocessing channel_order must be \"RGB\" or \"BGR\", got \"", channel_order,
                "\"");
    FOVEA_CHECK(interpolation == "bilinear",
                "preprocessing interpolation must be \"bilinear\" (the only one implemented), "
                "got \"",
                interpolation, "\"");
    FOVEA_CHECK(std::isfinite(scale) && scale > 0, "preprocessing scale must be positive, got ",
                scale);
    for (size_t c = 0; c < 3; ++c) {
      FOVEA_CHECK(std::isfinite(mean[c]), "preprocessing mean[", c, "] is not finite");
      FOVEA_CHECK(std::isfinite(std[c]) && std[c] != 0.0f, "preprocessing std[", c,
                  "] must be finite and non-zero, got ", std[c]);
    }
  }

  // Reads the recipe from JSON text. Every key must be present and no other key is allowed, so
  // a misspelt key fails here instead of silently taking a default. source_name is used in
  // error messages (e.g. "resnet50.safetensors metadata 'preprocessing'").
  static Preprocessing from_json(const std::string& text,
                                 const std::string& source_name = "preprocessing") {
    const json::Value doc = json::parse(text, source_name);
    FOVEA_CHECK(doc.is_object(), source_name, ": expected a JSON object, got ",
                json::type_name(doc.type()));
    static const char* const kKeys[] = {"resize", "crop",          "mean",         "std",
                                        "scale",  "channel_order", "interpolation"};
    for (const auto& member : doc.as_object()) {
      bool known = false;
      for (const char* k : kKeys)
        known = known || member.first == k;
      FOVEA_CHECK(known, source_name, ": unknown key \"", member.first,
                  "\" (expected resize, crop, mean, std, scale, channel_order, interpolation)");
    }
    const auto field = [&](const char* key) -> const json::Value& {
      const json::Value* v = doc.find(key);
      FOVEA_CHECK(v != nullptr, source_name, ": missing key \"", key, "\"");
      return *v;
    };
    const auto integer = [&](const char* key) {
      const json::Value& v = field(key);
      FOVEA_CHECK(v.is_integer(), source_name, ": \"", key, "\" must be an integer, got ",
                  json::dump(v));
      return v.as_int64();
    };
    const auto number = [&](const json::Value& v, const std::string& what) {
      FOVEA_CHECK(v.is_number(), source_name, ": ", what, " must be a number, got ", json::dump(v));
      return static_cast<float>(v.as_number());
    };
    const auto triple = [&](const char* key) {
      const json::Value& v = field(key);
      FOVEA_CHECK(v.is_array() && v.size() == 3, source_name, ": \"", key,
                  "\" must be an array of 3 numbers, got ", json::dump(v));
      std::array<float, 3> out{};
      for (size_t c = 0; c < 3; ++c) {
        out[c] = number(v.at(c), std::string("\"") + key + "\"[" + std::to_string(c) + "]");
      }
      return out;
    };
    const auto text_field = [&](const char* key) {
      const json::Value& v = field(key);
      FOVEA_CHECK(v.is_string(), source_name, ": \"", key, "\" must be a string, got ",
                  json::dump(v));
      return v.as_string();
    };

    Preprocessing p;
    p.resize = integer("resize");
    p.crop = integer("crop");
    p.mean = triple("mean");
    p.std = triple("std");
    p.scale = number(field("scale"), "\"scale\"");
    p.channel_order = text_field("channel_order");
    p.interpolation = text_field("interpolation");
    try {
      p.validate();
    } catch (const Error& e) {
      fail(source_name, ": ", e.what());
    }
    return p;
  }

  // The JSON form from_json reads, keys in the order above. Floats are written in their
  // shortest form (0.485, not 0.48500001430511475), which reads back to the same float.
  std::string to_json() const {
    json::Value doc = json::Value::object();
    doc.set("resize", resize);
    doc.set("crop", crop);
    doc.set("mean", triple_value(mean));
    doc.set("std", triple_value(std));
    doc.set("scale", float_value(scale));
    doc.set("channel_order", channel_order);
    doc.set("interpolation", interpolation);
    return json::dump(doc);
  }

 private:
  static json::Value float_value(float f) {
    char buf[32];
    const auto result = std::to_chars(buf, buf + sizeof buf - 1, f);  // shortest for a float
    *result.ptr = '\0';
    return json::Value(std::strtod(buf, nullptr));
  }
  static json::Value triple_value(const std::array<float, 3>& v) {
    json::Value a = json::Value::array();
    for (float f : v)
      a.push_back(float_value(f));
    return a;
  }
};

}  // namespace fovea
