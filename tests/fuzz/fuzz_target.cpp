// libFuzzer's entry point for the target named by FOVEA_FUZZ_TARGET: one small binary per
// target, linked against the targets compiled once (fuzz_targets.cpp).
#include <cstddef>
#include <cstdint>

namespace fovea::fuzz {
void run_named(const char* target, const uint8_t* data, size_t size);
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  fovea::fuzz::run_named(FOVEA_FUZZ_TARGET, data, size);
  return 0;
}
