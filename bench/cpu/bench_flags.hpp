// The CPU benches' own flags, taken out of argv before Google Benchmark parses the rest.
#pragma once

#include <cstring>
#include <string>

namespace fovea::bench {

// Takes and removes "--flag value" from argv; the value, or `fallback` if the flag is absent.
inline std::string take_flag(int& argc, char** argv, const char* flag,
                             const std::string& fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (std::strcmp(argv[i], flag) == 0) {
      const std::string value = argv[i + 1];
      for (int j = i; j + 2 < argc + 1; ++j)
        argv[j] = argv[j + 2];
      argc -= 2;
      return value;
    }
  }
  return fallback;
}

// Takes and removes "--flag"; whether it was there.
inline bool take_switch(int& argc, char** argv, const char* flag) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], flag) == 0) {
      for (int j = i; j + 1 < argc + 1; ++j)
        argv[j] = argv[j + 1];
      argc -= 1;
      return true;
    }
  }
  return false;
}

}  // namespace fovea::bench
