// CommandLine: the option parsing the example programs share. Each program declares its
// options bound to its own variables, then parses; anything malformed (an unknown option, a
// missing value, "--epochs ten", a number below its minimum) prints the program's name, the
// problem and its usage text, and exits with status 2. --help prints the usage on stdout and
// exits with status 0.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "fovea/cpu/thread_pool.hpp"

namespace fovea::examples {

class CommandLine {
 public:
  // `usage` is printed after any problem and for --help; it should end with a newline.
  CommandLine(std::string program, std::string usage)
      : program_(std::move(program)), usage_(std::move(usage)) {}

  // --flag VALUE into a string.
  void text(const std::string& flag, std::string& target) {
    valued_[flag] = [&target](const std::string& value) { target = value; };
  }
  // --flag N, a whole number in [min, max]; max defaults to the largest the target holds.
  template <class Int>
  void whole(const std::string& flag, Int& target, int64_t min = 0, int64_t max = largest<Int>()) {
    const bool stated_max = max < largest<Int>();
    valued_[flag] = [this, flag, &target, min, max, stated_max](const std::string& value) {
      target = static_cast<Int>(parse_whole(flag, value, min, max, stated_max));
    };
  }
  // --flag T, a thread count: 1 up to the most a thread pool takes.
  template <class Int>
  void threads(const std::string& flag, Int& target) {
    whole(flag, target, 1, ThreadPool::kMaxThreads);
  }
  // --flag X, a finite real number in [min, max].
  void real(const std::string& flag, double& target,
            double min = -std::numeric_limits<double>::infinity(),
            double max = std::numeric_limits<double>::infinity()) {
    valued_[flag] = [this, flag, &target, min, max](const std::string& value) {
      target = parse_real(flag, value, min, max);
    };
  }
  // --flag VALUE handed to a function, which calls fail() if the value is malformed.
  void custom(const std::string& flag, std::function<void(const std::string&)> handle) {
    valued_[flag] = std::move(handle);
  }
  // --flag alone sets target to true.
  void toggle(const std::string& flag, bool& target) { toggles_[flag] = &target; }
  // Arguments that are not options are collected here; without this they are an error.
  void positional(std::vector<std::string>& target) { positional_ = &target; }

  void parse(int argc, char** argv) const {
    for (int i = 1; i < argc; ++i) {
      const std::string arg = argv[i];
      if (arg == "--help" || arg == "-h") {
        std::cout << usage_;
        std::exit(0);
      }
      if (const auto t = toggles_.find(arg); t != toggles_.end()) {
        *t->second = true;
      } else if (const auto v = valued_.find(arg); v != valued_.end()) {
        if (i + 1 >= argc) fail(arg + " needs a value");
        v->second(argv[++i]);
      } else if (positional_ != nullptr && (arg.size() < 2 || arg[0] != '-')) {
        positional_->push_back(arg);
      } else {
        fail("unknown option " + arg);
      }
    }
  }

  [[noreturn]] void fail(const std::string& problem) const {
    std::cerr << program_ << ": " << problem << "\n" << usage_;
    std::exit(2);
  }

 private:
  // The largest value of Int that int64 holds too.
  template <class Int>
  static constexpr int64_t largest() {
    return static_cast<int64_t>(std::min<uint64_t>(std::numeric_limits<Int>::max(), INT64_MAX));
  }

  int64_t parse_whole(const std::string& flag, const std::string& value, int64_t min, int64_t max,
                      bool stated_max) const {
    size_t used = 0;
    int64_t n = 0;
    try {
      n = std::stoll(value, &used);
    } catch (const std::exception&) {
      used = 0;  // not a number, or past int64
    }
    if (used == 0 || used != value.size() || n < min || n > max) {
      std::ostringstream wanted;
      wanted << flag << " wants a whole number ";
      if (stated_max || (used != 0 && n > max)) {
        wanted << "in [" << min << ", " << max << "]";
      } else {
        wanted << ">= " << min;
      }
      fail(wanted.str() + ", got '" + value + "'");
    }
    return n;
  }

  double parse_real(const std::string& flag, const std::string& value, double min,
                    double max) const {
    size_t used = 0;
    double x = 0;
    try {
      x = std::stod(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    // NaN fails every comparison; infinities are refused even where no bound is given.
    if (used == 0 || used != value.size() || !std::isfinite(x) || !(x >= min && x <= max)) {
      std::ostringstream wanted;
      wanted << flag << " wants a number";
      if (std::isfinite(min) && std::isfinite(max)) {
        wanted << " in [" << min << ", " << max << "]";
      } else if (std::isfinite(min)) {
        wanted << " >= " << min;
      } else if (std::isfinite(max)) {
        wanted << " <= " << max;
      }
      fail(wanted.str() + ", got '" + value + "'");
    }
    return x;
  }

  std::string program_, usage_;
  std::map<std::string, std::function<void(const std::string&)>> valued_;
  std::map<std::string, bool*> toggles_;
  std::vector<std::string>* positional_ = nullptr;
};

}  // namespace fovea::examples
