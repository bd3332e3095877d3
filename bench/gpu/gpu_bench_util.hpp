// Shared by the GPU benches: CUDA-event timing, random device tensors, the output check that
// runs before anything is timed, and the summary table printed after the run.
#pragma once

#include <benchmark/benchmark.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <cmath>
#include <exception>
#include <string>
#include <vector>

#include "common/check.hpp"
#include "fovea/cuda/device_tensor.hpp"

namespace fovea::bench {

// Times work queued on `stream` with CUDA events: the GPU's own clock, not the host's.
class EventTimer {
 public:
  explicit EventTimer(cudaStream_t stream) : stream_(stream) {
    FOVEA_CUDA_CHECK(cudaEventCreate(&start_));
    FOVEA_CUDA_CHECK(cudaEventCreate(&stop_));
  }
  ~EventTimer() {
    (void)cudaEventDestroy(start_);
    (void)cudaEventDestroy(stop_);
  }
  EventTimer(const EventTimer&) = delete;
  EventTimer& operator=(const EventTimer&) = delete;

  // Mean seconds per call of `work` over `reps` back-to-back calls.
  template <class Work>
  double seconds_per_call(Work&& work, int reps) {
    FOVEA_CUDA_CHECK(cudaEventRecord(start_, stream_));
    for (int i = 0; i < reps; ++i)
      work();
    FOVEA_CUDA_CHECK(cudaEventRecord(stop_, stream_));
    FOVEA_CUDA_CHECK(cudaEventSynchronize(stop_));
    float ms = 0;
    FOVEA_CUDA_CHECK(cudaEventElapsedTime(&ms, start_, stop_));
    return ms * 1e-3 / reps;
  }

 private:
  cudaStream_t stream_;
  cudaEvent_t start_ = nullptr, stop_ = nullptr;
};

// Evicts the L2 cache by writing a buffer of twice its size (H100: 50 MB, H200: 60 MB), so a
// timed batch of calls starts with its operands in device memory, as in a model where the
// layer before has filled the cache with its own data.
class L2Flusher {
 public:
  L2Flusher() {
    int device = 0, l2_bytes = 0;
    FOVEA_CUDA_CHECK(cudaGetDevice(&device));
    FOVEA_CUDA_CHECK(cudaDeviceGetAttribute(&l2_bytes, cudaDevAttrL2CacheSize, device));
    bytes_ = 2 * static_cast<size_t>(std::max(l2_bytes, 1 << 20));
    FOVEA_CUDA_CHECK(cudaMalloc(&buffer_, bytes_));
  }
  ~L2Flusher() { (void)cudaFree(buffer_); }
  L2Flusher(const L2Flusher&) = delete;
  L2Flusher& operator=(const L2Flusher&) = delete;

  void flush(cudaStream_t stream) {
    FOVEA_CUDA_CHECK(cudaMemsetAsync(buffer_, ++value_ & 0xff, bytes_, stream));
  }

 private:
  void* buffer_ = nullptr;
  size_t bytes_ = 0;
  int value_ = 0;
};

// Our kernel and the vendor library's, timed the same way: each round flushes L2 and times
// kCallsPerRound back-to-back calls of ours with CUDA events, then does the same for theirs, so
// both pay the same launch latency and start from the same cache; a round's figure is the mean
// per call. Rounds alternate, so clock and thermal drift land on both sides alike, and each
// side's result is the median over rounds. Google Benchmark's iterations are the rounds (its
// manual time is ours). `theirs` may be null (no cuDNN for this case): ours alone then.
struct PairedTimes {
  double ours_s = 0, theirs_s = 0;
};

inline constexpr int kCallsPerRound = 20;

// The `theirs` of a case without a peer.
struct NoPeer {
  void operator()() const {}
};
inline constexpr const NoPeer* kNoPeer = nullptr;

inline double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t mid = v.size() / 2;
  return v.size() % 2 == 1 ? v[mid] : 0.5 * (v[mid - 1] + v[mid]);
}

template <class Ours, class Theirs>
PairedTimes time_paired(benchmark::State& state, cudaStream_t stream, Ours&& ours, Theirs* theirs) {
  EventTimer timer(stream);
  L2Flusher flusher;
  timer.seconds_per_call(ours, 3);  // warm-up: first-call costs, clocks up
  if (theirs != nullptr) timer.seconds_per_call(*theirs, 3);
  std::vector<double> ours_rounds, theirs_rounds;
  for (auto _ : state) {
    flusher.flush(stream);
    const double s = timer.seconds_per_call(ours, kCallsPerRound);
    state.SetIterationTime(s);
    ours_rounds.push_back(s);
    if (theirs != nullptr) {
      flusher.flush(stream);
      theirs_rounds.push_back(timer.seconds_per_call(*theirs, kCallsPerRound));
    }
  }
  return {median(ours_rounds), median(theirs_rounds)};
}

template <class T>
cuda::DeviceTensor<T> random_device_tensor(const Shape& shape, Layout layout, uint64_t seed) {
  Tensor<T> host(shape, layout);
  host.fill_uniform(seed, -1, 1);
  cuda::DeviceTensor<T> device = cuda::DeviceTensor<T>::from_host(host);
  // The upload runs on the legacy default stream and a pageable copy may still be in flight
  // when it returns; the benches run on their own non-blocking streams, so wait here.
  cuda::synchronize({});
  return device;
}

// The first image of an NHWC device tensor, copied into its own tensor on `stream`: the device
// reference checks one image of a batch, since its plain double-precision loops would take
// longer than the whole bench on ResNet-50's layers at batch 32.
template <class T>
cuda::DeviceTensor<T> first_image(const cuda::DeviceTensor<T>& t, cudaStream_t stream) {
  Shape one = t.shape();
  one[0] = 1;
  cuda::DeviceTensor<T> image(one, t.layout());
  FOVEA_CUDA_CHECK(cudaMemcpyAsync(image.data(), t.data(), image.size_bytes(),
                                   cudaMemcpyDeviceToDevice, stream));
  return image;
}

// max |ours - theirs| / max |theirs| over two device results of equal shape.
template <class T>
double max_normalized_difference(const cuda::DeviceTensor<T>& ours,
                                 const cuda::DeviceTensor<T>& theirs) {
  const Tensor<T> a = ours.to_host(), b = theirs.to_host();
  double diff = 0, ref = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    const double x = convert<double>(a[i]), y = convert<double>(b[i]);
    if (std::isnan(x) != std::isnan(y)) return INFINITY;
    diff = std::max(diff, std::abs(x - y));
    ref = std::max(ref, std::abs(y));
  }
  return ref > 0 ? diff / ref : diff;
}

// Both sides round inputs the same way and accumulate `length` terms in FP32; each rounds its
// output once. Four times the sum of those errors leaves room for different summation orders.
inline double agreement_tolerance(double unit_roundoff, int64_t length) {
  return 4 * (unit_roundoff + static_cast<double>(length) * 0x1.0p-23);
}

struct SummaryRow {
  std::string name, kernel;
  double ours_s = 0, theirs_s = 0, flops = 0, bytes = 0;
  std::string mismatch;  // why the case failed (wrong output or a failed call); not timed then
};

// Rows collected by the cases, printed by main after the run.
std::vector<SummaryRow>& summary_rows();
void print_summary(const char* provider_column);

// Runs a case; an exception (a failed CUDA, cuDNN or cuBLAS call) marks the case as failed in
// the report and the summary instead of ending the whole run.
template <class Case>
void run_or_report(benchmark::State& state, const std::string& label, Case&& run_case) {
  try {
    run_case();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    summary_rows().push_back({label, "", 0, 0, 0, 0, e.what()});
  }
}

}  // namespace fovea::bench
