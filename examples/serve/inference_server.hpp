// fovea_serve's HTTP side: the KServe v2 routes, the image classify route, /metrics, and the
// repository's load route, on cpp-httplib (Debian's libcpp-httplib). Handlers run on httplib's
// connection threads; inference waits on the model's Batcher. docs/serving.md describes every
// route and status code.
#pragma once

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "decode_pool.hpp"
#include "fovea/config.hpp"
#include "model_slot.hpp"
#include "top_k.hpp"
#include "v2_protocol.hpp"

namespace fovea::serve {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;  // 0: any free port
  int http_threads = 256;
  int64_t max_body_bytes = int64_t{16} << 20;
  int64_t max_image_pixels = 40'000'000;  // a decoded image's pixels (decompression bombs)
  int decode_threads = 2;  // images decoded at once: each may hold max_image_pixels * 3 bytes
  int decode_nice = 10;    // added to the decode threads' nice value (docs/serving.md)
  int read_timeout_s = 5;
  int retry_after_s = 1;
};

class InferenceServer {
 public:
  InferenceServer(ServerOptions options, std::vector<std::unique_ptr<ModelSlot>>& models,
                  BatchOptions batch, ServerMetrics& metrics)
      : options_(std::move(options)),
        batch_(batch),
        metrics_(metrics),
        decode_pool_(options_.decode_threads, options_.decode_nice) {
    for (auto& slot : models)
      models_[slot->source().name] = slot.get();
    configure();
  }

  // Binds the listening socket; returns the port (the chosen one for port 0), or -1.
  int bind() {
    if (options_.port == 0) return server_.bind_to_any_port(options_.host);
    return server_.bind_to_port(options_.host, options_.port) ? options_.port : -1;
  }
  // Serves until stop(); returns once every connection's request is answered.
  bool listen() {
    const bool served = server_.listen_after_bind();
    listen_returned_ = true;
    return served;
  }
  // Stops accepting; listen() returns after the requests in flight are answered. Callable from
  // another thread at any time after listen() was started on its own thread.
  void stop() {
    // httplib's stop() does nothing until its accept loop has begun, and a stop that came too
    // early would leave listen() waiting forever (a model that fails to load stops the server
    // within microseconds), so wait for the loop to start or for listen() to have given up.
    while (!server_.is_running() && !listen_returned_)
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    server_.stop();
  }

  void set_ready(bool ready) { ready_ = ready; }

 private:
  using Request = httplib::Request;
  using Response = httplib::Response;
  using Json = nlohmann::json;

  static void send_json(Response& res, int status, const Json& body) {
    res.status = status;
    res.set_content(json_text(body), "application/json");
  }
  static void send_error(Response& res, int status, const std::string& message) {
    send_json(res, status, Json{{"error", message}});
  }
  static std::string status_reason(int status) {
    switch (status) {
      case 400:
        return "malformed HTTP request";
      case 404:
        return "no such route";
      case 405:
        return "method not allowed on this route";
      case 413:
        return "the request body is over the server's --max-body-bytes";
      case 414:
        return "the request URI is too long";
      default:
        return "HTTP status " + std::to_string(status);
    }
  }

  // Every route goes through here: the in-flight gauge, the request counter by model,
  // endpoint and status, and a JSON 500 for anything unexpected.
  template <class Handler>
  auto route(const std::string& endpoint, Handler handler) {
    return [this, endpoint, handler](const Request& req, Response& res) {
      metrics_.in_flight.add({}, 1);
      const Clock::time_point start = Clock::now();
      const std::string model = req.matches.size() > 1 ? req.matches[1].str() : "";
      try {
        handler(req, res);
      } catch (const std::exception& e) {
        send_error(res, 500, std::string("internal error: ") + e.what());
      }
      metrics_.in_flight.add({}, -1);
      metrics_.requests.add(
          {{"model", model}, {"endpoint", endpoint}, {"code", std::to_string(res.status)}});
      if (endpoint == "infer" || endpoint == "classify") {
        metrics_.request_seconds.observe(
            {{"model", model}, {"endpoint", endpoint}, {"code", std::to_string(res.status)}},
            std::chrono::duration<double>(Clock::now() - start).count());
      }
    };
  }

  // POST routes read their body themselves: httplib refuses a body sent as
  // application/x-www-form-urlencoded (curl --data-binary's default type) over 8 KB with 413
  // before a plain handler runs. The body limit (--max-body-bytes) still holds.
  template <class Handler>
  auto with_body(Handler handler) {
    return [this, handler](const Request& req, Response& res,
                           const httplib::ContentReader& reader) {
      Request with_body = req;
      const auto limit = static_cast<size_t>(options_.max_body_bytes);
      const std::string declared = req.get_header_value("Content-Length");
      bool too_large = !declared.empty() && std::strtoull(declared.c_str(), nullptr, 10) > limit;
      const bool read = !too_large && reader([&](const char* data, size_t size) {
        too_large = with_body.body.size() + size > limit;
        if (!too_large) with_body.body.append(data, size);
        return !too_large;
      });
      if (!read || too_large) {
        // Still counted by model, endpoint and status.
        route(too_large ? "body_too_large" : "body_unreadable",
              [too_large](const Request&, Response& r) {
                send_error(r, too_large ? 413 : 400,
                           too_large ? status_reason(413) : "the request body could not be read");
              })(req, res);
        return;
      }
      handler(with_body, res);
    };
  }

  // The slot named by the route, or a 404 / 503 answer and null.
  ModelSlot* find_model(const Request& req, Response& res) {
    const std::string name = req.matches[1].str();
    const auto it = models_.find(name);
    if (it == models_.end()) {
      send_error(res, 404, "no model named '" + name + "'");
      return nullptr;
    }
    if (req.matches.size() > 2 && req.matches[2].matched) {
      const auto servable = it->second->current();
      if (!servable || servable->version != req.matches[2].str()) {
        send_error(res, 404,
                   "model '" + name + "' has no version '" + req.matches[2].str() + "' serving" +
                       (servable ? " (version " + servable->version + " is)" : ""));
        return nullptr;
      }
    }
    return it->second;
  }

  std::shared_ptr<const Servable> serving(ModelSlot& slot, Response& res) {
    auto servable = slot.current();
    if (!servable) send_error(res, 503, "model '" + slot.source().name + "' is still loading");
    return servable;
  }

  // A place in the model's queue, or a 503 with Retry-After, answered before the request's
  // body is parsed or decoded.
  std::optional<Batcher::Place> admit(ModelSlot& slot, Response& res) {
    std::optional<Batcher::Place> place = slot.batcher().reserve();
    if (!place) {
      metrics_.rejected.add({{"model", slot.source().name}});
      res.set_header("Retry-After", std::to_string(options_.retry_after_s));
      send_error(res, 503, "model '" + slot.source().name + "' has a full queue; retry later");
    }
    return place;
  }

  // Queues the input in its place and waits for the batch; a tensor the model refuses is
  // answered with 400.
  bool run(ModelSlot& slot, Batcher::Place place, std::shared_ptr<const Servable> servable,
           Tensor<float> input, Response& res, InferenceResult& result) {
    result = slot.batcher().submit(std::move(place), std::move(servable), std::move(input)).get();
    metrics_.queue_seconds.observe({{"model", slot.source().name}}, result.queue_seconds);
    if (!result.error.empty()) {
      send_error(res, 400, "the model refused the input: " + result.error);
      return false;
    }
    return true;
  }

  Json model_metadata(const Servable& s) const {
    const auto dim = [](int64_t d) { return d > 0 ? d : -1; };
    Json outputs = Json::array();
    for (const std::string& name : v2_output_names()) {
      outputs.push_back({{"name", name}, {"datatype", "FP32"}, {"shape", {-1, s.num_classes}}});
    }
    return {{"name", s.name},
            {"versions", {s.version}},
            {"platform", "fovea"},
            {"inputs",
             {{{"name", "input"},
               {"datatype", "FP32"},
               {"shape", {-1, s.channels, dim(s.height), dim(s.width)}}}}},
            {"outputs", outputs},
            {"parameters",
             {{"architecture", s.architecture},
              {"sha256", s.sha256},
              {"max_batch_size", batch_.max_batch},
              {"preprocessing", Json::parse(s.recipe.to_json())}}}};
  }

  void infer(const Request& req, Response& res) {
    ModelSlot* slot = find_model(req, res);
    if (slot == nullptr) return;
    auto servable = serving(*slot, res);
    if (!servable) return;
    std::optional<Batcher::Place> place = admit(*slot, res);
    if (!place) return;
    int64_t json_length = -1;
    if (req.has_header("Inference-Header-Content-Length")) {
      const std::string text = req.get_header_value("Inference-Header-Content-Length");
      size_t used = 0;
      try {
        json_length = std::stoll(text, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != text.size() || json_length < 0) {
        send_error(res, 400,
                   "Inference-Header-Content-Length must be a whole number of bytes, "
                   "got '" +
                       text + "'");
        return;
      }
    }
    InputSpec spec;
    spec.channels = servable->channels;
    spec.height = servable->height;
    spec.width = servable->width;
    spec.max_images = batch_.max_batch;
    V2Request request;
    try {
      request = parse_v2_request(req.body, json_length, spec);
    } catch (const V2Error& e) {
      send_error(res, 400, e.what());
      return;
    }
    InferenceResult result;
    if (!run(*slot, std::move(*place), servable, std::move(request.input), res, result)) return;
    send_v2_response(request, result, res);
  }

  void send_v2_response(const V2Request& request, const InferenceResult& result, Response& res) {
    const Servable& s = *result.servable;
    const Tensor<float> probabilities = softmax(result.logits, 1);
    const int64_t images = result.logits.dim(0), classes = result.logits.dim(1);
    Json body{{"model_name", s.name}, {"model_version", s.version}, {"outputs", Json::array()}};
    if (!request.id.is_null()) body["id"] = request.id;
    std::string binary;
    for (const RequestedOutput& out : request.outputs) {
      const Tensor<float>& values = out.name == "logits" ? result.logits : probabilities;
      Json o{{"name", out.name}};
      if (out.classification > 0) {
        // Triton's classification extension: "score:index:label" strings, best first.
        const int64_t k = std::min(out.classification, classes);
        Json strings = Json::array();
        for (int64_t n = 0; n < images; ++n) {
          for (const int64_t c : examples::top_k(values, n, k)) {
            strings.push_back(std::to_string(values(n, c)) + ":" + std::to_string(c) + ":" +
                              s.label(c));
          }
        }
        o["datatype"] = "BYTES";
        o["shape"] = {images, k};
        o["data"] = strings;
      } else {
        o["datatype"] = "FP32";
        o["shape"] = {images, classes};
        if (out.binary) {
          const size_t bytes = static_cast<size_t>(values.numel()) * sizeof(float);
          binary.append(reinterpret_cast<const char*>(values.data()), bytes);
          o["parameters"] = {{"binary_data_size", bytes}};
        } else {
          o["data"] = std::vector<float>(values.data(), values.data() + values.numel());
        }
      }
      body["outputs"].push_back(o);
    }
    res.status = 200;
    if (binary.empty()) {
      res.set_content(json_text(body), "application/json");
      return;
    }
    const std::string header = json_text(body);
    res.set_header("Inference-Header-Content-Length", std::to_string(header.size()));
    res.set_content(header + binary, "application/octet-stream");
  }

  void classify(const Request& req, Response& res) {
    ModelSlot* slot = find_model(req, res);
    if (slot == nullptr) return;
    auto servable = serving(*slot, res);
    if (!servable) return;
    int64_t topk = 5;
    if (req.has_param("topk")) {
      const std::string text = req.get_param_value("topk");
      size_t used = 0;
      try {
        topk = std::stoll(text, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used == 0 || used != text.size() || topk < 1 || topk > servable->num_classes) {
        send_error(res, 400,
                   "topk must be a whole number in [1, " + std::to_string(servable->num_classes) +
                       "], got '" + text + "'");
        return;
      }
    }
    std::optional<Batcher::Place> place = admit(*slot, res);
    if (!place) return;
    Tensor<float> input;
    std::string refused, failed;  // a bad image (400), anything else (500)
    decode_pool_
        .submit([&] {
          try {
            DecodeLimits limits;
            limits.max_pixels = options_.max_image_pixels;
            const auto* bytes = reinterpret_cast<const uint8_t*>(req.body.data());
            input = preprocess(decode_image(bytes, req.body.size(), "the request body", limits),
                               servable->recipe);
          } catch (const Error& e) {
            refused = e.what();
          } catch (const std::exception& e) {
            failed = e.what();
          }
        })
        .get();
    if (!refused.empty() || !failed.empty()) {
      send_error(res, refused.empty() ? 500 : 400,
                 refused.empty() ? "internal error: " + failed : refused);
      return;
    }
    InferenceResult result;
    if (!run(*slot, std::move(*place), servable, std::move(input), res, result)) return;
    const Tensor<float> probabilities = softmax(result.logits, 1);
    Json best = Json::array();
    for (const int64_t c : examples::top_k(probabilities, 0, topk)) {
      best.push_back({{"index", c},
                      {"label", result.servable->label(c)},
                      {"probability", probabilities(0, c)}});
    }
    send_json(res, 200,
              {{"model_name", result.servable->name},
               {"model_version", result.servable->version},
               {"topk", best}});
  }

  void load(const Request& req, Response& res) {
    ModelSlot* slot = find_model(req, res);
    if (slot == nullptr) return;
    const std::string problem = slot->load();
    if (!problem.empty()) {
      send_error(res, 400, "the new version was refused; the old one still serves: " + problem);
      return;
    }
    const auto servable = slot->current();
    send_json(
        res, 200,
        {{"name", servable->name}, {"version", servable->version}, {"sha256", servable->sha256}});
  }

  void configure() {
    server_.new_task_queue = [threads = options_.http_threads] {
      return new httplib::ThreadPool(static_cast<size_t>(threads));
    };
    server_.set_payload_max_length(static_cast<size_t>(options_.max_body_bytes));
    server_.set_read_timeout(options_.read_timeout_s, 0);
    server_.set_keep_alive_max_count(1000);
    server_.set_keep_alive_timeout(2);
    // httplib writes the headers and the body separately; with Nagle's algorithm the body of a
    // small answer then waits for the client's delayed ACK (40 ms on Linux): 650 health checks
    // a second at 64 connections before, measured.
    server_.set_tcp_nodelay(true);
    // Statuses httplib sets itself (404 for an unknown path, 413, 400 for a malformed request)
    // get a JSON body too.
    server_.set_error_handler([](const Request&, Response& res) {
      if (!res.body.empty()) return;
      send_error(res, res.status, status_reason(res.status));
    });
    server_.set_exception_handler([](const Request&, Response& res, std::exception_ptr) {
      send_error(res, 500, "internal error");
    });

    const std::string model = "/v2/models/([^/]+)(?:/versions/([^/]+))?";
    server_.Get("/v2/health/live", route("live", [](const Request&, Response& res) {
                  send_json(res, 200, {{"live", true}});
                }));
    server_.Get("/v2/health/ready", route("ready", [this](const Request&, Response& res) {
                  send_json(res, ready_ ? 200 : 503, {{"ready", ready_.load()}});
                }));
    server_.Get(
        "/v2", route("server_metadata", [](const Request&, Response& res) {
          send_json(res, 200,
                    {{"name", "fovea"},
                     {"version", std::to_string(FOVEA_VERSION_MAJOR) + "." +
                                     std::to_string(FOVEA_VERSION_MINOR) + "." +
                                     std::to_string(FOVEA_VERSION_PATCH)},
                     {"extensions", {"binary_tensor_data", "classification", "model_repository"}}});
        }));
    server_.Get(model, route("metadata", [this](const Request& req, Response& res) {
                  ModelSlot* slot = find_model(req, res);
                  if (slot == nullptr) return;
                  if (auto s = serving(*slot, res)) send_json(res, 200, model_metadata(*s));
                }));
    server_.Get(
        model + "/ready", route("model_ready", [this](const Request& req, Response& res) {
          ModelSlot* slot = find_model(req, res);
          if (slot == nullptr) return;
          const bool ready = ready_ && slot->current() != nullptr;
          send_json(res, ready ? 200 : 503, {{"name", slot->source().name}, {"ready", ready}});
        }));
    server_.Post(
        model + "/infer",
        with_body(route("infer", [this](const Request& req, Response& res) { infer(req, res); })));
    server_.Post(model + "/classify",
                 with_body(route("classify", [this](const Request& req, Response& res) {
                   classify(req, res);
                 })));
    server_.Post("/v2/repository/models/([^/]+)/load",
                 route("load", [this](const Request& req, Response& res) { load(req, res); }));
    server_.Post("/v2/repository/index", route("index", [this](const Request&, Response& res) {
                   Json index = Json::array();
                   for (const auto& [name, slot] : models_) {
                     const auto s = slot->current();
                     index.push_back({{"name", name},
                                      {"version", s ? s->version : ""},
                                      {"state", s ? "READY" : "LOADING"}});
                   }
                   send_json(res, 200, index);
                 }));
    server_.Get("/metrics", route("metrics", [this](const Request&, Response& res) {
                  for (const auto& [name, slot] : models_)
                    metrics_.queue_depth.set({{"model", name}},
                                             static_cast<double>(slot->batcher().depth()));
                  res.set_content(metrics_.render(), "text/plain; version=0.0.4; charset=utf-8");
                }));
  }

  ServerOptions options_;
  BatchOptions batch_;
  ServerMetrics& metrics_;
  std::map<std::string, ModelSlot*> models_;
  DecodePool decode_pool_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> listen_returned_{false};
  httplib::Server server_;
};

}  // namespace fovea::serve
