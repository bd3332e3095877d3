// Per-thread CPU priority. Linux gives each thread its own nice value; raising it needs no
// privileges, and a thread inherits its creator's. fovea_serve runs its HTTP threads at the
// process's priority, inference a little below (so health checks, /metrics and 503s are
// answered at once under full load), and image decoding below that (so it fills the gaps
// inference leaves instead of stalling a batch): docs/serving.md, "Priorities". fovea_scan
// decodes below inference for the same reason.
#pragma once

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

namespace fovea::examples {

// Adds `increment` (>= 0) to the calling thread's nice value. A failure only costs speed, so it
// is ignored.
inline void lower_this_thread_priority(int increment) {
  if (increment <= 0) return;
  const auto tid = static_cast<id_t>(syscall(SYS_gettid));
  errno = 0;
  const int nice = getpriority(PRIO_PROCESS, tid);
  if (errno == 0) (void)setpriority(PRIO_PROCESS, tid, nice + increment);
}

}  // namespace fovea::examples
