// Real-time memory: after the first forwards at a shape, a prepared model's forward() at batch 1
// allocates nothing, on one thread or several. This program replaces the C allocator's entry
// points with counting ones (every operator new, std::function and std::vector goes through
// them), so any allocation in a forward, from any thread, is counted.
#include <doctest/doctest.h>

#include <atomic>
#include <cstddef>
#include <memory>
#include <string>

#include "fovea/cpu/thread_pool.hpp"
#include "fovea/models/init.hpp"
#include "fovea/models/registry.hpp"
#include "fovea/plan/inference.hpp"

// glibc's own allocator, under the names it exports for programs that wrap it.
extern "C" void* __libc_malloc(size_t);
extern "C" void* __libc_calloc(size_t, size_t);
extern "C" void* __libc_realloc(void*, size_t);
extern "C" void* __libc_memalign(size_t, size_t);
extern "C" void __libc_free(void*);

namespace {

std::atomic<bool> counting{false};
std::atomic<int64_t> allocations{0};
std::atomic<int64_t> first_size{-1};  // the size of the first counted allocation, for the report

void count(size_t bytes) {
  if (!counting.load(std::memory_order_relaxed)) return;
  if (allocations.fetch_add(1) == 0) first_size.store(static_cast<int64_t>(bytes));
}

}  // namespace

extern "C" {
void* malloc(size_t n) {
  count(n);
  return __libc_malloc(n);
}
void* calloc(size_t count_, size_t n) {
  count(count_ * n);
  return __libc_calloc(count_, n);
}
void* realloc(void* p, size_t n) {
  count(n);
  return __libc_realloc(p, n);
}
void* aligned_alloc(size_t alignment, size_t n) {
  count(n);
  return __libc_memalign(alignment, n);
}
int posix_memalign(void** out, size_t alignment, size_t n) {
  count(n);
  *out = __libc_memalign(alignment, n);
  return *out != nullptr ? 0 : 12;  // ENOMEM
}
void free(void* p) {
  __libc_free(p);
}
}

using fovea::Shape;
using fovea::Tensor;

namespace {

// Allocations made by `forwards` forwards after `warm_up` others, as a demanding caller runs
// them: each output kept while the next is made.
int64_t allocations_per_forward(const std::string& name, int threads) {
  fovea::set_num_threads(threads);
  std::unique_ptr<fovea::nn::Module> model = fovea::build_model(name);
  fovea::init_weights(*model, 1);
  fovea::prepare_for_inference(*model);
  Tensor<float> x(Shape{1, 3, 224, 224});
  x.fill_uniform(2, -1, 1);
  // The first pass packs weights and the next records the arena's plan; more warm up every
  // worker thread's scratch buffers, which grow to the largest task a thread has run.
  Tensor<float> y;
  for (int i = 0; i < 5; ++i)
    y = model->forward(x);
  const Tensor<float> want = y.clone();
  allocations.store(0);
  first_size.store(-1);
  counting.store(true);
  constexpr int kForwards = 3;
  for (int i = 0; i < kForwards; ++i)
    y = model->forward(x);
  counting.store(false);
  CHECK(std::equal(y.begin(), y.end(), want.begin()));
  const int64_t counted = allocations.load();
  MESSAGE(name, " at ", threads, " threads: ", counted, " allocations in ", kForwards,
          " forwards (first of ", first_size.load(), " bytes)");
  return counted;
}

}  // namespace

TEST_SUITE("plan") {
  TEST_CASE("a prepared model's forward at batch 1 allocates nothing after the first") {
    for (const char* name : {"resnet50", "mobilenet_v2", "efficientnet_b0"}) {
      for (const int threads : {1, 2}) {
        INFO(std::string(name), " at ", threads, " threads");
        CHECK(allocations_per_forward(name, threads) == 0);
      }
    }
  }

  TEST_CASE("the counting allocator sees allocations") {  // so the test above can fail
    allocations.store(0);
    counting.store(true);
    auto p = std::make_unique<std::string>(100, 'x');
    counting.store(false);
    CHECK(allocations.load() >= 2);
  }
}
