// The files a shard of a scan leaves in its output directory, and how they are written.
//
//   one shard              N shards (this is shard I)
//   predictions.jsonl|csv  part-I-of-N.jsonl|csv   a record per classified image, by path
//   errors.jsonl           errors-I-of-N.jsonl     {"path", "error"[, "sha256"]} per failure
//   review.json            review-I-of-N.json      Label Studio tasks (with --review K)
//   review_config.xml      review_config.xml       the labeling config the tasks fit
//   _SUCCESS               _SUCCESS-I-of-N         counts and lineage, written last
//
// Each file is written whole under a temporary name, flushed to disk and renamed into place,
// so a reader (or a killed scan) never sees a half-written file, and _SUCCESS appears only once
// everything else is in place.
#pragma once

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <numeric>
#include <optional>
#include <string>
#include <vector>

#include "fovea/core/error.hpp"
#include "review_queue.hpp"
#include "scan_journal.hpp"
#include "servable.hpp"

namespace fovea::scan {

struct ShardFiles {
  std::string records, errors, review, success, format;

  ShardFiles(int64_t index, int64_t count, const std::string& format_name) : format(format_name) {
    const std::string part =
        count == 1 ? "" : "-" + std::to_string(index) + "-of-" + std::to_string(count);
    records = (count == 1 ? "predictions" : "part" + part) + "." + format;
    errors = "errors" + part + ".jsonl";
    review = "review" + part + ".json";
    success = "_SUCCESS" + part;
  }
};

// Writes a file under a temporary name in the same directory, flushes it to disk and renames
// it over `path`: readers see the old file or the new one, never a part.
class AtomicFile {
 public:
  explicit AtomicFile(std::string path)
      : path_(std::move(path)), temporary_(path_ + ".tmp-" + run_id()) {
    file_ = std::fopen(temporary_.c_str(), "wb");
    FOVEA_CHECK(file_ != nullptr, temporary_, ": cannot create: ", std::strerror(errno));
    std::setvbuf(file_, nullptr, _IOFBF, 1 << 20);
  }
  ~AtomicFile() {
    if (file_ != nullptr) {  // not committed: an error is on its way up
      std::fclose(file_);
      std::remove(temporary_.c_str());
    }
  }
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const std::string& text) {
    FOVEA_CHECK(std::fwrite(text.data(), 1, text.size(), file_) == text.size(), temporary_,
                ": write failed: ", std::strerror(errno));
  }

  void commit() {
    const bool flushed = std::fflush(file_) == 0 && ::fsync(fileno(file_)) == 0;
    const int error = errno;
    const bool closed = std::fclose(file_) == 0;
    file_ = nullptr;
    if (!flushed || !closed) {
      std::remove(temporary_.c_str());
      fail(temporary_, ": could not write it to disk: ", std::strerror(error));
    }
    if (std::rename(temporary_.c_str(), path_.c_str()) != 0) {
      const int rename_error = errno;
      std::remove(temporary_.c_str());
      fail(path_, ": cannot rename ", temporary_, " to it: ", std::strerror(rename_error));
    }
  }

 private:
  std::string path_, temporary_;
  std::FILE* file_ = nullptr;
};

// The shard's _SUCCESS when a finished run with the same model, recipe, K, format and inputs
// wrote it; nothing otherwise.
inline std::optional<Json> finished_shard(const std::string& dir, const ShardFiles& files,
                                          const Json& lineage) {
  std::ifstream in(dir + "/" + files.success);
  if (!in) return std::nullopt;
  const Json done = Json::parse(in, nullptr, false);
  if (!done.is_object()) return std::nullopt;
  for (const char* key : {"model", "preprocessing", "topk", "format", "manifest_sha256", "shard"}) {
    if (!done.contains(key) || done[key] != lineage[key]) return std::nullopt;
  }
  if (!done.contains("failed") || !done["failed"].is_number_integer()) return std::nullopt;
  return done;
}

// Writes the shard's outputs from its journal: records sorted by path in the chosen format,
// the errors sorted by path, the review tasks, and _SUCCESS last.
inline void commit_shard(const std::string& dir, const ShardFiles& files,
                         const ScanJournal& journal, std::vector<Json>& errors,
                         const ReviewQueue& review, int64_t topk, const std::string& url_prefix,
                         int64_t num_classes, const examples::Servable& model,
                         const Json& lineage) {
  std::vector<size_t> order(journal.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return journal.path_of(a) < journal.path_of(b); });
  {
    AtomicFile out(dir + "/" + files.records);
    if (files.format == "csv") out.write(csv_header(topk) + "\n");
    for (const size_t i : order) {
      if (files.format == "csv") {
        out.write(csv_row(Json::parse(journal.text_of(i)), topk) + "\n");
      } else {
        out.write(journal.text_of(i) + "\n");
      }
    }
    out.commit();
  }
  {
    std::sort(errors.begin(), errors.end(), [](const Json& a, const Json& b) {
      return a["path"].get_ref<const std::string&>() < b["path"].get_ref<const std::string&>();
    });
    AtomicFile out(dir + "/" + files.errors);
    for (const Json& e : errors)
      out.write(e.dump() + "\n");
    out.commit();
  }
  const std::vector<ReviewQueue::Entry> queue = review.sorted();
  if (!queue.empty()) {
    Json tasks = Json::array();
    for (const ReviewQueue::Entry& e : queue) {
      tasks.push_back(label_studio_task(Json::parse(journal.text_of(e.record)), url_prefix, e.score,
                                        review.kind()));
    }
    AtomicFile out(dir + "/" + files.review);
    out.write(tasks.dump(1) + "\n");
    out.commit();
    std::vector<std::string> labels;
    for (int64_t c = 0; c < num_classes; ++c)
      labels.push_back(model.label(c));
    AtomicFile config(dir + "/review_config.xml");
    config.write(label_studio_config(labels));
    config.commit();
  }
  AtomicFile success(dir + "/" + files.success);
  success.write(lineage.dump(1) + "\n");
  success.commit();
}

}  // namespace fovea::scan
