// The fuzz targets compiled once for every libFuzzer binary (fuzz_target.cpp): with the
// sanitizers on, the engine's headers take minutes to compile, once rather than per target.
#include <cstdio>
#include <cstdlib>

#include "targets.hpp"

namespace fovea::fuzz {

void run_named(const char* target, const uint8_t* data, size_t size) {
  static const Target* const found = [target] {
    const Target* t = find_target(target);
    if (t == nullptr) {
      std::fprintf(stderr, "no fuzz target named %s\n", target);
      std::abort();
    }
    return t;
  }();
  run_one(*found, data, size);
}

}  // namespace fovea::fuzz
