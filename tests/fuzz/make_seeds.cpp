// fovea_fuzz_seeds DIR [TARGET...]: writes each target's seeds to DIR/<target>/seed-<i>, the
// starting corpus scripts/fuzz.sh gives libFuzzer.
#include <filesystem>
#include <fstream>
#include <iostream>

#include "seeds.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: fovea_fuzz_seeds DIR [TARGET...]\n";
    return 2;
  }
  const std::filesystem::path dir = argv[1];
  try {
    std::filesystem::create_directories(dir);
    for (const fovea::fuzz::Target& target : fovea::fuzz::kTargets) {
      bool wanted = argc == 2;
      for (int i = 2; i < argc; ++i)
        wanted = wanted || std::string(argv[i]) == target.name;
      if (!wanted) continue;
      const auto seeds = fovea::fuzz::seeds(target.name, dir.string());
      std::filesystem::create_directories(dir / target.name);
      for (size_t i = 0; i < seeds.size(); ++i) {
        std::ofstream out(dir / target.name / ("seed-" + std::to_string(i)), std::ios::binary);
        out.write(reinterpret_cast<const char*>(seeds[i].data()), std::streamsize(seeds[i].size()));
      }
    }
  } catch (const std::exception& e) {
    std::cerr << "fovea_fuzz_seeds: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
