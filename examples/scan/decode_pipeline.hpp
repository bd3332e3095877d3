// DecodePipeline: reads, hashes, decodes and preprocesses a list of image files on its own
// threads while the caller runs inference, so the inference threads never wait for a decode.
//
// The threads take the next path from a shared counter and put what they made in a bounded
// queue; next() hands the results out in the order they finish (the scan sorts its output, so
// order does not matter, and a slow image does not hold back the ones behind it). The queue's
// bound keeps at most `capacity` preprocessed images in memory. The threads run at a lower
// priority than inference (common/thread_priority.hpp): decoding fills the gaps the inference
// threads leave instead of taking a core from a batch in flight.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "fovea/image/decode.hpp"
#include "fovea/image/preprocess.hpp"
#include "sha256.hpp"
#include "thread_priority.hpp"

namespace fovea::scan {

// One input after decoding: its tensor (1, C, H, W), or why it failed.
struct DecodedImage {
  std::string path;
  std::string sha256;  // of the file's bytes; empty when it could not be read
  Tensor<float> tensor;
  std::string error;  // non-empty: the image failed; tensor is empty
};

class DecodePipeline {
 public:
  DecodePipeline(std::vector<std::string> paths, Preprocessing recipe, DecodeLimits limits,
                 int threads, int nice, size_t capacity)
      : paths_(std::move(paths)),
        recipe_(std::move(recipe)),
        limits_(limits),
        capacity_(capacity),
        running_(threads) {
    for (int i = 0; i < threads; ++i) {
      workers_.emplace_back([this, nice] {
        examples::lower_this_thread_priority(nice);
        run();
      });
    }
  }

  ~DecodePipeline() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    space_.notify_all();
    for (std::thread& t : workers_)
      t.join();
  }
  DecodePipeline(const DecodePipeline&) = delete;
  DecodePipeline& operator=(const DecodePipeline&) = delete;

  // The next decoded image, waiting for one; nothing once every path has been handed out.
  std::optional<DecodedImage> next() {
    std::unique_lock<std::mutex> lock(mutex_);
    ready_.wait(lock, [&] { return !done_.empty() || running_ == 0; });
    if (done_.empty()) return std::nullopt;
    DecodedImage image = std::move(done_.front());
    done_.pop_front();
    space_.notify_one();
    return image;
  }

  // Images waiting in the queue now: next() returns at once for this many.
  size_t ready_count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return done_.size();
  }

 private:
  void run() {
    for (;;) {
      const size_t i = next_path_.fetch_add(1);
      if (i >= paths_.size()) break;
      DecodedImage image = decode(paths_[i]);
      std::unique_lock<std::mutex> lock(mutex_);
      space_.wait(lock, [&] { return stopping_ || done_.size() < capacity_; });
      if (stopping_) break;
      done_.push_back(std::move(image));
      ready_.notify_one();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (--running_ == 0) ready_.notify_all();
  }

  // Errors are kept as values: every failure of one file, including running out of memory for
  // it, becomes that file's error record and the scan goes on.
  DecodedImage decode(const std::string& path) const {
    DecodedImage image;
    image.path = path;
    try {
      const std::vector<uint8_t> bytes = detail::read_file_bytes(path, limits_.max_file_bytes);
      image.sha256 = examples::Sha256().update(bytes.data(), bytes.size()).hex();
      image.tensor = preprocess(decode_image(bytes, path, limits_), recipe_);
    } catch (const std::exception& e) {
      image.error = e.what();
      image.tensor = Tensor<float>();
    }
    return image;
  }

  const std::vector<std::string> paths_;
  const Preprocessing recipe_;
  const DecodeLimits limits_;
  const size_t capacity_;
  std::atomic<size_t> next_path_{0};
  std::mutex mutex_;
  std::condition_variable ready_, space_;
  std::deque<DecodedImage> done_;
  int running_;
  bool stopping_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace fovea::scan
