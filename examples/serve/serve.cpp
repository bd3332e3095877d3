// fovea_serve: an HTTP inference server for fovea classifiers, with dynamic batching,
// Prometheus metrics, drift alerts and reloads that never drop a request. See docs/serving.md.
//
//   fovea_serve --model resnet50=r50.safetensors --port 8000
//   curl --data-binary @photo.jpg 'http://127.0.0.1:8000/v2/models/resnet50/classify?topk=5'
#include <signal.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "command_line.hpp"
#include "inference_server.hpp"

namespace {

using fovea::serve::log_line;

struct Args {
  fovea::serve::ServerOptions server;
  fovea::serve::BatchOptions batch;
  fovea::monitor::DriftOptions drift;
  std::vector<fovea::serve::ModelSource> models;
  std::vector<std::pair<std::string, std::string>> drift_references;  // name, file
  std::string model_dir;
  int64_t threads = 0;
};

const char* kUsage =
    "usage: fovea_serve (--model-dir DIR | --model NAME=FILE ...) [--host H] [--port N]\n"
    "                   [--threads T] [--max-batch B] [--max-delay-us U] [--queue Q]\n"
    "                   [--max-body-bytes S] [--http-threads N] [--read-timeout S]\n"
    "                   [--max-image-pixels P] [--decode-threads N] [--inference-nice N]\n"
    "                   [--decode-nice N]\n"
    "                   [--drift-reference NAME=FILE ...]\n"
    "                   [--drift-window W] [--drift-check-every K] [--drift-false-alarm A]\n"
    "  --model NAME=FILE     serve a weights file (FP32 or INT8) as NAME; repeatable\n"
    "  --model-dir DIR       serve every DIR/NAME.safetensors as NAME, with DIR/NAME.drift.json\n"
    "                        as its drift reference when that file exists\n"
    "  --host H              address to listen on (default 127.0.0.1: this machine only)\n"
    "  --port N              port (default 8000; 0: any free port, printed at start)\n"
    "  --threads T           CPU threads for inference (default: all cores)\n"
    "  --max-batch B         images per batch (default 8)\n"
    "  --max-delay-us U      how long a batch waits for more requests (default 2000)\n"
    "  --queue Q             requests waiting per model before 503 (default 64)\n"
    "  --max-body-bytes S    larger request bodies get 413 (default 16 MiB)\n"
    "  --http-threads N      connections served at once (default 256)\n"
    "  --read-timeout S      seconds a connection may stay silent mid-request (default 5)\n"
    "  --max-image-pixels P  larger decoded images get 400 (default 40000000)\n"
    "  --decode-threads N    threads that decode request images (default 2)\n"
    "  --inference-nice N    nice value added to inference threads, below the HTTP threads'\n"
    "                        (default 5; 0: the same)\n"
    "  --decode-nice N       nice value added to the decode threads (default 10)\n"
    "  --drift-reference NAME=FILE  class and confidence reference for NAME's drift alerts\n"
    "                        (written by fovea_drift_reference); repeatable\n"
    "  --drift-window W      recent predictions compared with the reference (default 2000)\n"
    "  --drift-check-every K predictions between drift tests (default 500)\n"
    "  --drift-false-alarm A chance that one drift test alerts on noise (default 0.001)\n"
    "Signals: SIGHUP reloads every model from its file; SIGTERM or SIGINT stops accepting,\n"
    "answers the requests in flight and exits 0.\n";

// "NAME=FILE", with NAME made of letters, digits, '_', '-' and '.'.
std::pair<std::string, std::string> name_and_file(const std::string& value, const std::string& flag,
                                                  const fovea::examples::CommandLine& options) {
  static const std::regex pattern("([A-Za-z0-9_.-]+)=(.+)");
  std::smatch m;
  if (!std::regex_match(value, m, pattern))
    options.fail(flag + " wants NAME=FILE (NAME of letters, digits, '_', '-', '.'), got '" + value +
                 "'");
  return {m[1].str(), m[2].str()};
}

Args parse_args(int argc, char** argv) {
  Args args;
  fovea::examples::CommandLine options("fovea_serve", kUsage);
  options.custom("--model", [&](const std::string& v) {
    const auto [name, file] = name_and_file(v, "--model", options);
    args.models.push_back({name, file, ""});
  });
  options.custom("--drift-reference", [&](const std::string& v) {
    args.drift_references.push_back(name_and_file(v, "--drift-reference", options));
  });
  options.text("--model-dir", args.model_dir);
  options.text("--host", args.server.host);
  options.whole("--port", args.server.port, 0, 65535);
  options.threads("--threads", args.threads);
  options.whole("--max-batch", args.batch.max_batch, 1, 1024);
  options.whole("--max-delay-us", args.batch.max_delay_us, 0, 10'000'000);
  options.whole("--queue", args.batch.max_queue, 1, 1'000'000);
  options.whole("--max-body-bytes", args.server.max_body_bytes, 1024, int64_t{1} << 32);
  options.whole("--http-threads", args.server.http_threads, 1, 10'000);
  options.whole("--read-timeout", args.server.read_timeout_s, 1, 3600);
  options.whole("--max-image-pixels", args.server.max_image_pixels, 1, fovea::kMaxImagePixels);
  options.whole("--decode-threads", args.server.decode_threads, 1, 256);
  options.whole("--inference-nice", args.batch.nice, 0, 19);
  options.whole("--decode-nice", args.server.decode_nice, 0, 19);
  options.whole("--drift-window", args.drift.window, 100, 100'000);
  options.whole("--drift-check-every", args.drift.check_every, 1, 10'000'000);
  options.real("--drift-false-alarm", args.drift.false_alarm, 1e-5, 0.5);
  options.parse(argc, argv);

  if (args.model_dir.empty() == args.models.empty())
    options.fail("give either --model-dir or one or more --model NAME=FILE");
  if (!args.model_dir.empty()) {
    namespace fs = std::filesystem;
    std::error_code error;
    if (!fs::is_directory(args.model_dir, error))
      options.fail("--model-dir " + args.model_dir + " is not a directory");
    for (const fs::directory_entry& entry : fs::directory_iterator(args.model_dir, error)) {
      const fs::path& path = entry.path();
      if (path.extension() != ".safetensors" || !entry.is_regular_file()) continue;
      const std::string name = path.stem().string();
      const fs::path reference = path.parent_path() / (name + ".drift.json");
      args.models.push_back(
          {name, path.string(), fs::exists(reference) ? reference.string() : std::string()});
    }
    if (error) options.fail("--model-dir " + args.model_dir + ": " + error.message());
    if (args.models.empty())
      options.fail("--model-dir " + args.model_dir + " holds no .safetensors file");
  }
  for (size_t i = 0; i < args.models.size(); ++i)
    for (size_t j = 0; j < i; ++j)
      if (args.models[i].name == args.models[j].name)
        options.fail("two models are named '" + args.models[i].name + "'");
  for (const auto& [name, file] : args.drift_references) {
    bool found = false;
    for (auto& model : args.models) {
      if (model.name == name) model.drift_reference = file, found = true;
    }
    if (!found) options.fail("--drift-reference names '" + name + "', which is not a model");
  }
  // The bootstrap needs about 10 / false_alarm rounds to place the threshold's quantile.
  args.drift.bootstrap_rounds = std::max<int64_t>(
      args.drift.bootstrap_rounds, static_cast<int64_t>(std::ceil(10 / args.drift.false_alarm)));
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  // The signals are taken by sigwait below; every thread started later inherits this mask, so
  // none of them is interrupted.
  sigset_t signals;
  sigemptyset(&signals);
  for (const int s : {SIGHUP, SIGTERM, SIGINT})
    sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  try {
    // The inference threads (fovea's pool, made here, and each batcher's worker) run below the
    // HTTP threads' priority; a thread inherits its creator's, so the pool is made on a thread
    // that lowered its own.
    std::thread([&] {
      fovea::examples::lower_this_thread_priority(args.batch.nice);
      if (args.threads > 0) fovea::set_num_threads(static_cast<int>(args.threads));
      (void)fovea::global_thread_pool();
    }).join();
    fovea::serve::ServerMetrics metrics;
    std::vector<std::unique_ptr<fovea::serve::ModelSlot>> models;
    for (const fovea::serve::ModelSource& source : args.models) {
      models.push_back(
          std::make_unique<fovea::serve::ModelSlot>(source, args.batch, args.drift, metrics));
    }
    fovea::serve::InferenceServer server(args.server, models, args.batch, metrics);
    const int port = server.bind();
    if (port < 0) {
      std::cerr << "fovea_serve: cannot listen on " << args.server.host << ":" << args.server.port
                << " (in use, or not an address of this machine)\n";
      return 1;
    }
    // Tests and scripts read the port from this line.
    std::printf("fovea_serve: listening on http://%s:%d\n", args.server.host.c_str(), port);
    std::fflush(stdout);
    std::thread listener([&] {
      if (!server.listen()) kill(getpid(), SIGTERM);
    });

    // Live from here on; ready once every model is loaded and warmed up.
    bool loaded = true;
    for (auto& slot : models) {
      if (!slot->load().empty()) loaded = false;
    }
    if (!loaded) {
      server.stop();
      listener.join();
      return 1;
    }
    server.set_ready(true);
    log_line("ready: " + std::to_string(models.size()) + " model(s), " +
             std::to_string(fovea::num_threads()) + " inference threads, batches of up to " +
             std::to_string(args.batch.max_batch));

    for (;;) {
      int received = 0;
      sigwait(&signals, &received);
      if (received == SIGHUP) {
        log_line("SIGHUP: reloading every model");
        for (auto& slot : models)
          slot->load();
        continue;
      }
      log_line(std::string(received == SIGTERM ? "SIGTERM" : "SIGINT") +
               ": no new connections; answering the requests in flight");
      break;
    }
    server.set_ready(false);
    server.stop();
    listener.join();
    models.clear();  // each batcher runs what is queued before it ends
    log_line("stopped");
    return 0;
  } catch (const std::exception& e) {
    std::cerr << "fovea_serve: " << e.what() << "\n";
    return 1;
  }
}
