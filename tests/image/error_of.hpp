// error_of(f): the message of the fovea::Error that f throws, or "" if it throws none, so a test
// can check what an error says, not only that one was thrown.
#pragma once

#include <functional>
#include <string>

#include "fovea/core/error.hpp"

namespace fovea::test {

inline std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

}  // namespace fovea::test
