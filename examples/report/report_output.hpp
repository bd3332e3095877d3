// What every report writes besides its figures: the lineage block (which inputs, by hash, which
// model, which fovea, which command), the JSON file itself (indented, so that a person can read
// and diff it), and the HTML page, which render_report.py draws from that JSON.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "fovea/config.hpp"
#include "fovea/io/json.hpp"
#include "scan_reader.hpp"

namespace fovea::report {

inline std::string fovea_version() {
  return std::to_string(FOVEA_VERSION_MAJOR) + "." + std::to_string(FOVEA_VERSION_MINOR) + "." +
         std::to_string(FOVEA_VERSION_PATCH);
}

// A non-finite number (an undefined ratio) becomes null rather than an exception in dump().
inline json::Value number_or_null(double x) {
  return std::isfinite(x) ? json::Value(x) : json::Value();
}

// The scan's inputs and what produced them. Model identities come from the records' "model"
// field and from the _SUCCESS markers' "model"; the manifest hash only from the markers.
inline json::Value scan_lineage(const Scan& scan) {
  json::Value out = json::Value::object();
  out.set("source", scan.source);
  out.set("predictions", static_cast<int64_t>(scan.records.size()));
  out.set("error_lines_skipped", scan.error_lines);
  out.set("errors_file_records", scan.error_file_records);
  json::Value files = json::Value::array();
  for (const ScanFile& f : scan.files) {
    json::Value o = json::Value::object();
    o.set("path", f.path);
    o.set("sha256", f.sha256);
    o.set("records", f.records);
    o.set("error_lines", f.error_lines);
    files.push_back(std::move(o));
  }
  out.set("files", std::move(files));
  json::Value markers = json::Value::array();
  std::set<std::string> manifests;
  std::map<std::string, std::pair<json::Value, int64_t>> models;  // by sha256 (or name)
  for (const json::Value& m : scan.success_markers) {
    json::Value o = json::Value::object();
    o.set("path", m.at("path"));
    o.set("sha256", m.at("sha256"));
    markers.push_back(std::move(o));
    const json::Value* content = m.find("content");
    if (content == nullptr) continue;
    if (const json::Value* h = content->find("manifest_sha256"); h != nullptr && h->is_string())
      manifests.insert(h->as_string());
    if (const json::Value* model = content->find("model"); model != nullptr && model->is_object()) {
      const json::Value* sha = model->find("sha256");
      const std::string key = sha != nullptr && sha->is_string() ? sha->as_string() : "";
      if (models.count(key) == 0) models[key] = {*model, 0};
    }
  }
  for (const PredictionRecord& r : scan.records) {
    if (r.model_sha256.empty() && r.model_name.empty()) continue;
    auto it = models.find(r.model_sha256);
    if (it == models.end()) {
      json::Value model = json::Value::object();
      model.set("name", r.model_name);
      model.set("version", r.model_version);
      model.set("sha256", r.model_sha256);
      it = models.emplace(r.model_sha256, std::make_pair(std::move(model), 0)).first;
    }
    ++it->second.second;
  }
  out.set("success_markers", std::move(markers));
  json::Value model_list = json::Value::array();
  for (auto& [key, model] : models) {
    json::Value m = model.first;
    m.set("records", model.second);
    model_list.push_back(std::move(m));
  }
  out.set("models", std::move(model_list));
  json::Value manifest_list = json::Value::array();
  for (const std::string& h : manifests)
    manifest_list.push_back(h);
  out.set("manifest_sha256", std::move(manifest_list));
  json::Value warnings = json::Value::array();
  for (const std::string& w : scan.warnings)
    warnings.push_back(w);
  out.set("warnings", std::move(warnings));
  return out;
}

inline json::Value command_line(int argc, char** argv) {
  json::Value out = json::Value::array();
  for (int i = 0; i < argc; ++i)
    out.push_back(std::string(argv[i]));
  return out;
}

namespace detail {

// Arrays of scalars stay on one line (a histogram's counts, a table row's cells); objects and
// other arrays get one member per line.
inline void pretty(std::string& out, const json::Value& v, int indent) {
  const auto flat = [](const json::Value& x) {
    if (!x.is_array() && !x.is_object()) return true;
    if (x.is_object()) return x.size() == 0;
    for (const json::Value& e : x.as_array())
      if (e.is_array() || (e.is_object() && e.size() > 0)) return false;
    return true;
  };
  if (flat(v)) {
    out += json::dump(v);
    return;
  }
  const std::string pad(static_cast<size_t>(indent + 2), ' ');
  bool first = true;
  if (v.is_array()) {
    out += "[\n";
    for (const json::Value& e : v.as_array()) {
      out += first ? "" : ",\n";
      first = false;
      out += pad;
      pretty(out, e, indent + 2);
    }
    out += "\n" + std::string(static_cast<size_t>(indent), ' ') + "]";
    return;
  }
  out += "{\n";
  for (const auto& [key, value] : v.as_object()) {
    out += first ? "" : ",\n";
    first = false;
    out += pad + json::dump(json::Value(key)) + ": ";
    pretty(out, value, indent + 2);
  }
  out += "\n" + std::string(static_cast<size_t>(indent), ' ') + "}";
}

}  // namespace detail

// Writes `report` to `path` (via a temporary file, so a reader never sees half a report).
inline void write_json(const std::string& path, const json::Value& report) {
  std::string text;
  detail::pretty(text, report, 0);
  text += "\n";
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    FOVEA_CHECK(out.is_open(), "cannot open '", temporary, "' for writing");
    out << text;
    out.flush();
    FOVEA_CHECK(out.good(), "error while writing '", temporary, "'");
  }
  std::error_code error;
  std::filesystem::rename(temporary, path, error);
  FOVEA_CHECK(!error, "cannot rename '", temporary, "' to '", path, "': ", error.message());
}

inline void make_directory(const std::string& dir) {
  std::error_code error;
  std::filesystem::create_directories(dir, error);
  FOVEA_CHECK(!error && std::filesystem::is_directory(dir), "cannot create the output directory '",
              dir, "'", error ? ": " + error.message() : std::string());
}

// The renderer: $FOVEA_REPORT_RENDERER, else render_report.py beside this executable (CMake
// copies it there).
inline std::string renderer_path() {
  if (const char* env = std::getenv("FOVEA_REPORT_RENDERER"); env != nullptr && *env != 0)
    return env;
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  return error ? "render_report.py" : (self.parent_path() / "render_report.py").string();
}

// Runs `$FOVEA_PYTHON (default /usr/bin/python3) render_report.py KIND JSON HTML`. Returns ""
// on success, else what went wrong (the renderer's own messages went to stderr already).
inline std::string render_html(const std::string& kind, const std::string& json_path,
                               const std::string& html_path) {
  const char* env = std::getenv("FOVEA_PYTHON");
  const std::string python = env != nullptr && *env != 0 ? env : "/usr/bin/python3";
  const std::string script = renderer_path();
  std::error_code error;
  if (!std::filesystem::is_regular_file(script, error))
    return "the renderer " + script + " is missing (set FOVEA_REPORT_RENDERER)";
  std::vector<std::string> args = {python, script, kind, json_path, html_path};
  std::vector<char*> argv;
  for (std::string& a : args)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::fflush(nullptr);
  const pid_t child = fork();
  if (child < 0) return std::string("cannot start the renderer: ") + std::strerror(errno);
  if (child == 0) {
    execv(python.c_str(), argv.data());
    std::fprintf(stderr, "fovea_report: cannot run %s: %s\n", python.c_str(), std::strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return std::string("waiting for the renderer: ") + std::strerror(errno);
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
    return "cannot run " + python + " (set FOVEA_PYTHON)";
  return python + " " + script + " failed (" +
         (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                            : "signal " + std::to_string(WTERMSIG(status))) +
         ")";
}

}  // namespace fovea::report
