// A served model name: the version serving now, its batcher, its drift monitor, and how to load
// a new version. A load builds and warms the new version beside the old one and then swaps the
// pointer, so requests see one version or the other, never a half-loaded model; requests
// already queued finish on the version they were preprocessed for. A file that fails to load
// leaves the old version serving.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>
#include <mutex>
#include <string>

#include "batcher.hpp"
#include "fovea/monitor/drift.hpp"
#include "server_metrics.hpp"

namespace fovea::serve {

struct ModelSource {
  std::string name, path;
  std::string drift_reference;  // empty: no drift monitoring for this model
};

// A log line on stderr, with the UTC time first.
inline void log_line(const std::string& text) {
  char stamp[32];
  const std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%SZ", &utc);
  std::fprintf(stderr, "%s fovea_serve: %s\n", stamp, text.c_str());
}

class ModelSlot {
 public:
  ModelSlot(ModelSource source, BatchOptions batch_options, monitor::DriftOptions drift_options,
            ServerMetrics& metrics)
      : source_(std::move(source)),
        metrics_(metrics),
        batcher_(batch_options, [this](const Servable& s, const Tensor<float>& logits,
                                       double seconds) { observe(s, logits, seconds); }) {
    if (!source_.drift_reference.empty()) {
      drift_ = std::make_unique<monitor::DriftMonitor>(
          monitor::DriftReference::load(source_.drift_reference), drift_options);
      publish_drift_state();
    }
  }

  const ModelSource& source() const { return source_; }
  Batcher& batcher() { return batcher_; }

  // The version serving now; null before the first load succeeds.
  std::shared_ptr<const Servable> current() const {
    std::lock_guard<std::mutex> lock(current_mutex_);
    return current_;
  }

  // Loads the source file as the next version. Returns an empty string when it now serves, or
  // why the file was refused (the old version, if any, still serves).
  std::string load() {
    std::lock_guard<std::mutex> one_load_at_a_time(load_mutex_);
    const std::string version = std::to_string(loads_ + 1);
    std::shared_ptr<Servable> next;
    try {
      next = load_servable(source_.name, source_.path, version);
      if (drift_) {
        const int64_t classes = drift_->reference().num_classes;
        FOVEA_CHECK(next->num_classes == classes, source_.path, ": the model has ",
                    next->num_classes, " classes but its drift reference ", source_.drift_reference,
                    " has ", classes);
      }
    } catch (const std::exception& e) {
      metrics_.model_loads.add({{"model", source_.name}, {"result", "failed"}});
      log_line("model " + source_.name + ": load of " + source_.path +
               " failed, the serving version stays: " + e.what());
      return e.what();
    }
    ++loads_;
    std::shared_ptr<const Servable> previous;
    {
      std::lock_guard<std::mutex> lock(current_mutex_);
      previous = std::move(current_);
      current_ = next;
    }
    if (previous) metrics_.model_info.remove(info_labels(*previous));
    metrics_.model_info.set(info_labels(*next), 1);
    metrics_.model_loads.add({{"model", source_.name}, {"result", "ok"}});
    log_line("model " + source_.name + ": version " + version + " serving (" + next->architecture +
             ", " + std::to_string(next->num_classes) + " classes, sha256 " + next->sha256 + ", " +
             source_.path + ")");
    return "";
  }

 private:
  static Labels info_labels(const Servable& s) {
    return {{"model", s.name},
            {"version", s.version},
            {"architecture", s.architecture},
            {"sha256", s.sha256}};
  }

  // After each batch, on the batcher's thread: class counts, confidences and drift.
  void observe(const Servable& servable, const Tensor<float>& logits, double compute_seconds) {
    const Labels model{{"model", source_.name}};
    metrics_.compute_seconds.observe(model, compute_seconds);
    metrics_.batch_size.observe(model, static_cast<double>(logits.dim(0)));
    const Tensor<float> probabilities = softmax(logits, 1);
    const int64_t classes = probabilities.dim(1);
    std::lock_guard<std::mutex> lock(drift_mutex_);
    for (int64_t n = 0; n < probabilities.dim(0); ++n) {
      int64_t top1 = 0;
      for (int64_t c = 1; c < classes; ++c)
        if (probabilities(n, c) > probabilities(n, top1)) top1 = c;
      const double confidence = probabilities(n, top1);
      metrics_.predictions.add({{"model", source_.name}, {"class", std::to_string(top1)}});
      metrics_.confidence.observe(model, confidence);
      if (drift_ && classes == drift_->reference().num_classes) {
        for (const monitor::DriftEvent& event : drift_->add({top1, confidence})) {
          log_line("model " + source_.name + " (version " + servable.version + "): drift alert " +
                   (event.started ? "started" : "ended") + ": test " + event.test + ", statistic " +
                   std::to_string(event.statistic) + ", threshold " +
                   std::to_string(event.threshold) + ", at prediction " +
                   std::to_string(event.prediction));
        }
      }
    }
    if (drift_) publish_drift_state();
  }

  void publish_drift_state() {
    for (const monitor::DriftTestState& test : drift_->state()) {
      const Labels labels{{"model", source_.name}, {"test", test.test}};
      metrics_.drift_statistic.set(labels, test.statistic);
      metrics_.drift_threshold.set(labels, test.threshold);
      metrics_.drift_alert.set(labels, test.alert ? 1 : 0);
    }
    const int64_t window = std::min(drift_->predictions(), drift_->options().window);
    metrics_.drift_window.set({{"model", source_.name}}, static_cast<double>(window));
  }

  ModelSource source_;
  ServerMetrics& metrics_;
  std::mutex load_mutex_;
  mutable std::mutex current_mutex_;
  std::shared_ptr<const Servable> current_;
  int64_t loads_ = 0;
  std::mutex drift_mutex_;
  std::unique_ptr<monitor::DriftMonitor> drift_;
  Batcher batcher_;  // last: its worker calls observe(), which uses the members above
};

}  // namespace fovea::serve
