// How an op's entry point chooses among its kernels (STYLE.md pattern 1), the switch that forces
// the reference, and the record of which kernel ran.
//
// Each op keeps a table of KernelEntry rows {name, priority, supports, run}. The entry point
// runs the highest-priority row whose supports() accepts the problem, else the reference. The
// policy KernelPolicy::reference_only (or FOVEA_KERNELS=reference in the environment) skips the
// table, so tests and users can compare the two paths on the same model.
#pragma once

#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace fovea {

enum class KernelPolicy {
  best,            // the highest-priority kernel that supports the problem
  reference_only,  // always the reference op
};

namespace detail {

inline KernelPolicy policy_from_environment() {
  const char* v = std::getenv("FOVEA_KERNELS");
  return v != nullptr && std::strcmp(v, "reference") == 0 ? KernelPolicy::reference_only
                                                          : KernelPolicy::best;
}

inline KernelPolicy& kernel_policy_slot() {
  static KernelPolicy policy = policy_from_environment();
  return policy;
}

// Looked up by string_view (std::less<>), so that recording a kernel allocates nothing once
// its names are in the maps: an inference forward is meant to allocate nothing at all.
struct KernelLog {
  std::mutex mutex;
  std::map<std::string, std::string, std::less<>> last;  // op -> the kernel that ran last
  std::map<std::string, int64_t, std::less<>> counts;    // kernel name -> times run
};

inline KernelLog& kernel_log() {
  static KernelLog log;
  return log;
}

}  // namespace detail

inline void set_kernel_policy(KernelPolicy p) {
  detail::kernel_policy_slot() = p;
}
inline KernelPolicy kernel_policy() {
  return detail::kernel_policy_slot();
}

// Notes that `kernel` ran for `op`; entry points call it once per call.
inline void record_kernel(std::string_view op, std::string_view kernel) {
  detail::KernelLog& log = detail::kernel_log();
  std::lock_guard<std::mutex> lock(log.mutex);
  auto last = log.last.find(op);
  if (last == log.last.end()) last = log.last.emplace(std::string(op), std::string()).first;
  last->second.assign(kernel.data(), kernel.size());
  auto count = log.counts.find(kernel);
  if (count == log.counts.end()) count = log.counts.emplace(std::string(kernel), 0).first;
  ++count->second;
}

// The kernel that ran last for `op` ("conv2d", "linear", …), or "" if none has.
inline std::string last_kernel(const std::string& op) {
  detail::KernelLog& log = detail::kernel_log();
  std::lock_guard<std::mutex> lock(log.mutex);
  auto it = log.last.find(op);
  return it == log.last.end() ? std::string() : it->second;
}

// How many times each kernel has run since the last reset, by name (for --verbose summaries).
inline std::map<std::string, int64_t> kernel_counts() {
  detail::KernelLog& log = detail::kernel_log();
  std::lock_guard<std::mutex> lock(log.mutex);
  return {log.counts.begin(), log.counts.end()};
}

inline void reset_kernel_log() {
  detail::KernelLog& log = detail::kernel_log();
  std::lock_guard<std::mutex> lock(log.mutex);
  log.last.clear();
  log.counts.clear();
}

// One row of an op's kernel table. `Problem` is what supports() inspects (the op's Params plus
// whatever else matters, such as the layout); `Run` is the kernel's call signature.
template <class Problem, class Run>
struct KernelEntry {
  std::string name;  // conv2d_<in>_<layout>_<algorithm>_<isa>, as STYLE.md pattern 4
  int priority = 0;  // higher wins among the rows that support a problem
  std::function<bool(const Problem&)> supports;
  Run run;
};

// The row to run for `problem`, or nullptr for the reference (no row supports it, or the policy
// says reference_only).
template <class Problem, class Run>
const KernelEntry<Problem, Run>* choose_kernel(const std::vector<KernelEntry<Problem, Run>>& table,
                                               const Problem& problem) {
  if (kernel_policy() == KernelPolicy::reference_only) return nullptr;
  const KernelEntry<Problem, Run>* best = nullptr;
  for (const auto& entry : table) {
    if ((best == nullptr || entry.priority > best->priority) && entry.supports(problem))
      best = &entry;
  }
  return best;
}

}  // namespace fovea
