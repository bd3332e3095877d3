// ScanJournal: where a running scan keeps its records until it finishes, so that a scan killed
// at any moment can be resumed without losing or repeating a record.
//
// Each run appends its records as JSON lines to a journal of its own,
// DIR/.<output>.journal-<host>-<pid>, with one write() per record: a kill, even SIGKILL, leaves
// every record written before it intact in the kernel's page cache, and at most one incomplete
// last line, which resume drops. The first line is a header naming the model, the recipe and
// K; resume takes records only from journals whose header matches. Two runs of one shard (a
// retried Kubernetes pod beside the original, say) write different journals, so neither
// corrupts the other; each then writes the final output whole and renames it into place.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <unordered_set>
#include <vector>

#include "fovea/core/error.hpp"
#include "scan_record.hpp"

namespace fovea::scan {

// "<host>-<pid>": unique among the runs that may share an output directory at one time.
inline std::string run_id() {
  char host[256] = {};
  if (gethostname(host, sizeof host - 1) != 0) std::strcpy(host, "host");
  for (char* c = host; *c != '\0'; ++c) {
    if (*c == '/') *c = '_';
  }
  return std::string(host) + "-" + std::to_string(getpid());
}

// Writes all of `text` to `fd`, retrying short writes; throws naming `path` on failure.
inline void write_all(int fd, const std::string& text, const std::string& path) {
  size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    FOVEA_CHECK(n > 0, path, ": write failed: ", std::strerror(errno));
    done += static_cast<size_t>(n);
  }
}

class ScanJournal {
 public:
  // Creates this run's journal for the output named `output` in `dir`.
  ScanJournal(const std::string& dir, const std::string& output, const Json& header)
      : path_(dir + "/." + output + ".journal-" + run_id()), header_(header) {
    fd_ = ::open(path_.c_str(), O_CREAT | O_TRUNC | O_RDWR | O_APPEND | O_CLOEXEC, 0644);
    FOVEA_CHECK(fd_ >= 0, path_, ": cannot create the scan's journal: ", std::strerror(errno));
    const std::string line = header.dump() + "\n";
    write_all(fd_, line, path_);
    end_ = static_cast<int64_t>(line.size());
  }
  ~ScanJournal() { ::close(fd_); }
  ScanJournal(const ScanJournal&) = delete;
  ScanJournal& operator=(const ScanJournal&) = delete;

  // Appends one record; returns its number (0, 1, ...).
  size_t append(const Json& record) {
    const std::string line = record.dump() + "\n";
    write_all(fd_, line, path_);
    entries_.push_back({record["path"].get<std::string>(), end_, line.size() - 1});
    end_ += static_cast<int64_t>(line.size());
    return entries_.size() - 1;
  }

  size_t size() const { return entries_.size(); }
  const std::string& path_of(size_t i) const { return entries_[i].path; }

  // Record i's JSON text, read back from the file (it may be unlinked by now: the descriptor
  // still reads it), so a scan of millions of images keeps only paths and offsets in memory.
  std::string text_of(size_t i) const {
    const Entry& e = entries_[i];
    std::string text(e.length, '\0');
    size_t done = 0;
    while (done < e.length) {
      const ssize_t n = ::pread(fd_, text.data() + done, e.length - done,
                                static_cast<off_t>(e.offset + static_cast<int64_t>(done)));
      if (n < 0 && errno == EINTR) continue;
      FOVEA_CHECK(n > 0, path_, ": read back failed: ", std::strerror(errno));
      done += static_cast<size_t>(n);
    }
    return text;
  }

  const std::string& path() const { return path_; }
  const Json& header() const { return header_; }

 private:
  struct Entry {
    std::string path;
    int64_t offset;
    size_t length;  // without the newline
  };
  std::string path_;
  Json header_;
  int fd_ = -1;
  int64_t end_ = 0;
  std::vector<Entry> entries_;
};

// Records a resume found: complete lines of matching journals, the first of each path only.
struct ResumedRecords {
  std::vector<Json> records;
  std::vector<std::string> journals;  // the journals they came from, removed once committed
  std::vector<std::string> ignored;   // journals of another model, recipe or K, and why
};

// Reads every journal of `output` in `dir` other than `own`. Only records whose path is in
// `wanted` are taken (a journal of a different input list still contributes what overlaps).
inline ResumedRecords read_journals(const std::string& dir, const std::string& output,
                                    const std::string& own, const Json& header,
                                    const std::unordered_set<std::string>& wanted) {
  ResumedRecords found;
  const std::string prefix = "." + output + ".journal-";
  std::unordered_set<std::string> seen;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    const std::string name = entry.path().filename().string();
    if (name.compare(0, prefix.size(), prefix) != 0 || entry.path().string() == own) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::string line;
    if (!std::getline(in, line) || in.eof()) continue;  // not even a whole header
    const Json theirs = Json::parse(line, nullptr, false);
    if (theirs != header) {
      found.ignored.push_back(entry.path().string() + " (made with another model, recipe or K)");
      continue;
    }
    found.journals.push_back(entry.path().string());
    // A line is taken only when its newline was written: the last one of a killed run may not
    // have been.
    while (std::getline(in, line) && !in.eof()) {
      Json record = Json::parse(line, nullptr, false);
      if (!record.is_object() || !record.contains("path") || !record["path"].is_string()) continue;
      const std::string& path = record["path"].get_ref<const std::string&>();
      if (wanted.count(path) != 0 && seen.insert(path).second)
        found.records.push_back(std::move(record));
    }
  }
  FOVEA_CHECK(!error, dir, ": cannot list it: ", error.message());
  return found;
}

}  // namespace fovea::scan
