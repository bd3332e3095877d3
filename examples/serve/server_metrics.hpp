// The metrics fovea_serve exports (docs/serving.md lists them with their labels), and the
// process's own (resident memory, start time) read from /proc when /metrics is scraped.
#pragma once

#include <unistd.h>

#include <chrono>
#include <fstream>
#include <string>

#include "metrics.hpp"

namespace fovea::serve {

// End-to-end, queue-wait and compute latency: 0.5 ms to 5 s.
inline std::vector<double> latency_buckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
}

struct ServerMetrics {
  using Kind = ValueFamily::Kind;

  ValueFamily requests{"fovea_requests_total",
                       "HTTP requests answered, by model, endpoint and status code", Kind::counter};
  HistogramFamily request_seconds{"fovea_request_duration_seconds",
                                  "Time from a request's arrival (its body read) to its "
                                  "answer, by model, endpoint (infer, classify) and status code",
                                  latency_buckets()};
  HistogramFamily queue_seconds{"fovea_queue_wait_seconds",
                                "Time a request waited in its model's queue before its batch ran",
                                latency_buckets()};
  HistogramFamily compute_seconds{"fovea_batch_compute_seconds",
                                  "Time one batch's forward took, by model", latency_buckets()};
  HistogramFamily batch_size{
      "fovea_batch_size", "Images per batch run, by model", {1, 2, 4, 8, 16, 32, 64, 128, 256}};
  ValueFamily queue_depth{"fovea_queue_depth", "Requests waiting in a model's queue", Kind::gauge};
  ValueFamily in_flight{"fovea_requests_in_flight", "Requests being handled now", Kind::gauge};
  ValueFamily rejected{"fovea_requests_rejected_total",
                       "Requests refused at once because a model's queue was full (503)",
                       Kind::counter};
  ValueFamily predictions{"fovea_predictions_total", "Images classified, by model and top-1 class",
                          Kind::counter};
  HistogramFamily confidence{"fovea_top1_confidence",
                             "Top-1 probability of each image, by model",
                             {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95, 0.99}};
  ValueFamily model_info{"fovea_model_info",
                         "1 for the version of each model now serving: its version, file and "
                         "the file's sha256",
                         Kind::gauge};
  ValueFamily model_loads{"fovea_model_loads_total",
                          "Model loads and reloads, by model and result (ok, failed)",
                          Kind::counter};
  ValueFamily drift_statistic{"fovea_drift_statistic",
                              "Latest value of each drift test's statistic, by model and test",
                              Kind::gauge};
  ValueFamily drift_threshold{"fovea_drift_threshold",
                              "Alert threshold of each drift test, by model and test", Kind::gauge};
  ValueFamily drift_alert{"fovea_drift_alert", "1 while a drift test is alerting, else 0",
                          Kind::gauge};
  ValueFamily drift_window{"fovea_drift_window_predictions",
                           "Predictions in each model's drift window", Kind::gauge};
  double start_time_seconds =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();

  std::string render() const {
    std::string out;
    for (const ValueFamily* f :
         {&requests, &in_flight, &queue_depth, &rejected, &predictions, &model_info, &model_loads,
          &drift_statistic, &drift_threshold, &drift_alert, &drift_window}) {
      f->render(out);
    }
    for (const HistogramFamily* h :
         {&request_seconds, &queue_seconds, &compute_seconds, &batch_size, &confidence}) {
      h->render(out);
    }
    render_process(out);
    return out;
  }

 private:
  // /proc/self/statm gives sizes in pages: total program size, then resident set.
  void render_process(std::string& out) const {
    long long pages_total = 0, pages_resident = 0;
    std::ifstream statm("/proc/self/statm");
    statm >> pages_total >> pages_resident;
    const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
    detail::write_header(out, "process_resident_memory_bytes", "Resident memory size in bytes.",
                         "gauge");
    out += "process_resident_memory_bytes " + detail::format_value(pages_resident * page) + "\n";
    detail::write_header(out, "process_virtual_memory_bytes", "Virtual memory size in bytes.",
                         "gauge");
    out += "process_virtual_memory_bytes " + detail::format_value(pages_total * page) + "\n";
    detail::write_header(out, "process_start_time_seconds",
                         "Start time of the process since the Unix epoch in seconds.", "gauge");
    out += "process_start_time_seconds " + detail::format_value(start_time_seconds) + "\n";
  }
};

}  // namespace fovea::serve
