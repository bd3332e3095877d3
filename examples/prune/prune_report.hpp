// prune's closing report: the dense and the pruned model side by side, as a table for people
// and as key=value lines for scripts.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace fovea::examples {

// What prune measures of one model; negative: not measured.
struct ModelFigures {
  int64_t macs = 0, parameters = 0, file_bytes = 0;
  double latency_b1_ms = -1, latency_b8_ms = -1;
  double top1 = -1;  // test accuracy in [0, 1]
};

namespace detail {

inline std::string scaled(double value, const char* unit) {
  char text[32];
  if (value >= 1e9)
    std::snprintf(text, sizeof text, "%.3f G%s", value / 1e9, unit);
  else if (value >= 1e6)
    std::snprintf(text, sizeof text, "%.3f M%s", value / 1e6, unit);
  else if (value >= 1e3)
    std::snprintf(text, sizeof text, "%.3f k%s", value / 1e3, unit);
  else
    std::snprintf(text, sizeof text, "%.0f %s", value, unit);
  return text;
}

inline void row(const char* name, const std::string& before, const std::string& after,
                const std::string& note) {
  std::printf("%-18s %16s %16s   %s\n", name, before.c_str(), after.c_str(), note.c_str());
}

inline std::string ratio_note(double before, double after, const char* what) {
  char text[48];
  std::snprintf(text, sizeof text, "%.2fx %s", before / after, what);
  return text;
}

inline std::string fixed(double value, const char* format) {
  char text[32];
  std::snprintf(text, sizeof text, format, value);
  return text;
}

}  // namespace detail

// `sparse`: the pruned model keeps its shapes and zeroes weights, so its MACs and parameters
// count the nonzero weights only (what a kernel that skips zeros has to do).
inline void print_comparison(const ModelFigures& before, const ModelFigures& after, bool sparse) {
  using detail::fixed;
  using detail::ratio_note;
  using detail::row;
  using detail::scaled;
  std::printf("\n%-18s %16s %16s\n", "", "dense", sparse ? "sparse" : "pruned");
  row(sparse ? "nonzero MACs" : "MACs", scaled(double(before.macs), ""),
      scaled(double(after.macs), ""), ratio_note(double(before.macs), double(after.macs), "fewer"));
  row(sparse ? "nonzero params" : "parameters", scaled(double(before.parameters), ""),
      scaled(double(after.parameters), ""),
      ratio_note(double(before.parameters), double(after.parameters), "fewer"));
  row("file size", scaled(double(before.file_bytes), "B"), scaled(double(after.file_bytes), "B"),
      ratio_note(double(before.file_bytes), double(after.file_bytes), "smaller"));
  if (before.latency_b1_ms >= 0) {
    row("latency batch 1", fixed(before.latency_b1_ms, "%.2f ms"),
        fixed(after.latency_b1_ms, "%.2f ms"),
        ratio_note(before.latency_b1_ms, after.latency_b1_ms, "faster"));
    row("latency batch 8", fixed(before.latency_b8_ms, "%.2f ms"),
        fixed(after.latency_b8_ms, "%.2f ms"),
        ratio_note(before.latency_b8_ms, after.latency_b8_ms, "faster"));
  }
  if (before.top1 >= 0)
    row("test top-1", fixed(100 * before.top1, "%.2f %%"), fixed(100 * after.top1, "%.2f %%"),
        fixed(100 * (after.top1 - before.top1), "%+.2f points"));
  std::printf("\n");
  const auto keys = [](const char* when, const ModelFigures& f) {
    std::printf("macs_%s=%lld parameters_%s=%lld file_bytes_%s=%lld", when,
                static_cast<long long>(f.macs), when, static_cast<long long>(f.parameters), when,
                static_cast<long long>(f.file_bytes));
    if (f.latency_b1_ms >= 0)
      std::printf(" latency_b1_ms_%s=%.3f latency_b8_ms_%s=%.3f", when, f.latency_b1_ms, when,
                  f.latency_b8_ms);
    if (f.top1 >= 0) std::printf(" top1_%s=%.4f", when, f.top1);
    std::printf("\n");
  };
  keys("before", before);
  keys("after", after);
}

}  // namespace fovea::examples
