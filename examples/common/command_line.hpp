// CommandLine: the option parsing the example programs share. Each program declares its
// options bound to its own variables, then parses; anything malformed (an unknown option, a
// missing value, "--epochs ten", a number below its minimum) prints the program's name, the
// problem and its usage text, and exits with status 2. --help prints the usage on stdout and
// exits with status 0.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <vector>

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
  // --flag N, a whole number >= min.
  template <class Int>
  void whole(const std::string& flag, Int& target, int64_t min = 0) {
    valued_[flag] = [this, flag, &target, min](const std::string& value) {
      target = static_cast<Int>(parse_whole(flag, value, min));
    };
  }
  // --flag X, a real number >= min.
  void real(const std::string& flag, double& target,
            double min = -std::numeric_limits<double>::infinity()) {
    valued_[flag] = [this, flag, &target, min](const std::string& value) {
      target = parse_real(flag, value, min);
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
  int64_t parse_whole(const std::string& flag, const std::string& value, int64_t min) const {
    size_t used = 0;
    int64_t n = 0;
    try {
      n = std::stoll(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != value.size() || n < min)
      fail(flag + " wants a whole number >= " + std::to_string(min) + ", got '" + value + "'");
    return n;
  }

  double parse_real(const std::string& flag, const std::string& value, double min) const {
    size_t used = 0;
    double x = 0;
    try {
      x = std::stod(value, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != value.size() || !(x >= min)) {
      std::ostringstream bound;
      if (min > -std::numeric_limits<double>::infinity()) bound << " >= " << min;
      fail(flag + " wants a number" + bound.str() + ", got '" + value + "'");
    }
    return x;
  }

  std::string program_, usage_;
  std::map<std::string, std::function<void(const std::string&)>> valued_;
  std::map<std::string, bool*> toggles_;
  std::vector<std::string>* positional_ = nullptr;
};

}  // namespace fovea::examples
