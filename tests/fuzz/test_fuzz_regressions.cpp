// The fuzz targets (targets.hpp) in the normal suite: every seed is a valid input its target
// accepts, and every input a fuzzer found (regressions/<target>/) is refused with fovea::Error
// or accepted, never a crash or another exception. scripts/fuzz.sh runs the targets under
// libFuzzer; docs/robustness.md says how a finding becomes a file here.
#include <doctest/doctest.h>

#include <filesystem>
#include <string>

#include "seeds.hpp"
#include "targets.hpp"

namespace fs = std::filesystem;
using fovea::fuzz::Bytes;
using fovea::fuzz::kTargets;
using fovea::fuzz::Target;

TEST_SUITE("io") {
  TEST_CASE("every fuzz target accepts each of its seeds") {
    const std::string scratch = FOVEA_BINARY_DIR;
    for (const Target& target : kTargets) {
      const std::vector<Bytes> seeds = fovea::fuzz::seeds(target.name, scratch);
      CHECK(!seeds.empty());
      for (size_t i = 0; i < seeds.size(); ++i) {
        INFO("target ", std::string(target.name), ", seed ", i);
        CHECK_NOTHROW(target.run(seeds[i].data(), seeds[i].size()));
      }
    }
  }

  TEST_CASE("inputs the fuzzers found are refused cleanly") {
    const fs::path root = fs::path(FOVEA_SOURCE_DIR) / "tests/fuzz/regressions";
    int inputs = 0;
    for (const fs::directory_entry& dir : fs::directory_iterator(root)) {
      const Target* target = fovea::fuzz::find_target(dir.path().filename().string());
      INFO("regressions folder ", dir.path().string());
      REQUIRE(target != nullptr);
      for (const fs::directory_entry& file : fs::directory_iterator(dir.path())) {
        INFO("input ", file.path().string());
        const Bytes bytes = fovea::io::read_file(file.path().string());
        CHECK_NOTHROW(fovea::fuzz::run_one(*target, bytes.data(), bytes.size()));
        ++inputs;
      }
    }
    MESSAGE(inputs, " fuzzer findings replayed");
  }
}
