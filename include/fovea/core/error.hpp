// The one exception type fovea throws, and the check macro that builds its message.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace fovea {

// Every failure fovea reports (bad shapes, corrupt files, unknown names) is an Error whose
// message names the thing at fault and the expected-versus-got values.
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& what) : std::runtime_error(what) {}
};

namespace detail {

template <class... Parts>
std::string concat(const Parts&... parts) {
  std::ostringstream out;
  (out << ... << parts);
  return out.str();
}

}  // namespace detail

template <class... Parts>
[[noreturn]] void fail(const Parts&... parts) {
  throw Error(detail::concat(parts...));
}

}  // namespace fovea

// FOVEA_CHECK(cond, parts...) throws fovea::Error with the concatenated parts when cond is false.
#define FOVEA_CHECK(cond, ...)               \
  do {                                       \
    if (!(cond)) ::fovea::fail(__VA_ARGS__); \
  } while (0)
