// classify: runs any zoo model on an NCHW float32 .npy batch and writes the logits as .npy, so
// any tool (PyTorch, NumPy, ONNX Runtime) can compare its own output with fovea's.
//
//   classify --model resnet18 --weights r18.safetensors --input-npy x.npy --dump-logits y.npy
//   classify --model mobilenet_v2 --random-init 1 --input-shape 2,3,224,224
//   classify --model resnet50 --random-init 1 --input-shape 1,3,224,224 --bench 20 --threads 1
//   classify --model resnet50 --random-init 1 --input-shape 8,3,224,224 --device cuda --dtype f16
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "command_line.hpp"
#include "fovea/fovea.hpp"
#include "fovea/plan/activation_memory.hpp"
#include "fovea/plan/batch_runner.hpp"
#include "fovea/plan/inference.hpp"
#include "model_device.hpp"

namespace {

struct Args {
  std::string model, weights, input_npy, dump_logits;
  std::vector<int64_t> input_shape;
  int64_t random_init_seed = -1;
  int64_t num_classes = 1000;
  int topk = 5;
  int64_t bench_iters = 0;     // > 0: time this many forwards after the first and print the median
  int64_t batch = 0;           // > 0: replaces N of --input-shape
  int64_t threads = 0;         // > 0: CPU kernel threads
  bool report_memory = false;  // with --bench: peak activation memory of one forward
  std::string device = "cpu", dtype = "f16";
  std::string layout = "auto";  // with --bench on the CPU: what the convs compute in
};

std::string usage_text() {
  std::string text =
      "usage: classify [--model NAME] (--weights FILE | --random-init SEED)\n"
      "                (--input-npy X.npy | --input-shape N,C,H,W) [--dump-logits Y.npy]\n"
      "                [--num-classes K] [--topk K]\n"
      "                [--bench ITERS [--report-memory]] [--batch B] [--threads T]\n"
      "                [--layout auto|nchw|nhwc] [--device cpu|cuda] [--dtype f16|bf16|f32]\n"
      "--bench folds batch norms and caches packed weights (prepare_for_inference),\n"
      "then prints median_ms over ITERS forwards, each taking its activations from one\n"
      "planned arena; --report-memory also prints the peak activation memory of one\n"
      "forward (weights excluded), the arena's size, and the whole footprint: weights,\n"
      "packed weights and arenas; --layout forces the layout the\n"
      "convs compute in (auto: NHWC, except for batches of models with depthwise\n"
      "convs, which run NCHW)\n"
      "--device cuda runs the model on the GPU (batch norms folded) in --dtype\n"
      "(default f16; f32 runs as TF32); its --bench times upload, run and download\n"
      "models:";
  for (const std::string& name : fovea::model_names())
    text += " " + name;
  return text + "\n";
}

// "N,C,H,W" as four whole numbers.
std::vector<int64_t> parse_shape(const std::string& text,
                                 const fovea::examples::CommandLine& options) {
  std::vector<int64_t> dims;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string part = text.substr(start, comma - start);
    size_t used = 0;
    try {
      dims.push_back(std::stoll(part, &used));
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != part.size() || dims.back() < 1)
      options.fail("--input-shape wants N,C,H,W, got '" + text + "'");
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (dims.size() != 4) options.fail("--input-shape wants 4 dimensions, got '" + text + "'");
  return dims;
}

Args parse_args(int argc, char** argv) {
  Args args;
  fovea::examples::CommandLine options("classify", usage_text());
  options.text("--model", args.model);
  options.text("--weights", args.weights);
  options.text("--input-npy", args.input_npy);
  options.custom("--input-shape",
                 [&](const std::string& v) { args.input_shape = parse_shape(v, options); });
  options.text("--dump-logits", args.dump_logits);
  options.whole("--random-init", args.random_init_seed);
  options.whole("--num-classes", args.num_classes, 1, fovea::kMaxClasses);
  options.whole("--topk", args.topk, 0);
  options.whole("--bench", args.bench_iters, 1);
  options.whole("--batch", args.batch, 1);
  options.threads("--threads", args.threads);
  options.text("--device", args.device);
  options.text("--dtype", args.dtype);
  options.text("--layout", args.layout);
  options.toggle("--report-memory", args.report_memory);
  options.parse(argc, argv);
  if (args.weights.empty() == (args.random_init_seed < 0))
    options.fail("give exactly one of --weights and --random-init");
  if (args.weights.empty() && args.model.empty()) options.fail("--random-init needs --model");
  if (args.input_npy.empty() == args.input_shape.empty())
    options.fail("give exactly one of --input-npy and --input-shape");
  if (args.report_memory && args.device != "cpu")
    options.fail("--report-memory measures the CPU path; it does not apply to --device " +
                 args.device);
  if (args.layout != "auto" && args.layout != "nchw" && args.layout != "nhwc")
    options.fail("--layout must be auto, nchw or nhwc, got '" + args.layout + "'");
  if (args.layout != "auto" && args.device != "cpu")
    options.fail("--layout chooses the CPU path's layout; it does not apply to --device " +
                 args.device);
  if (args.batch > 0) {
    if (args.input_shape.empty()) options.fail("--batch needs --input-shape");
    args.input_shape[0] = args.batch;
  }
  return args;
}

void print_topk(const fovea::Tensor<float>& logits, int k) {
  const fovea::Tensor<float> probs = fovea::softmax(logits, 1);
  const int64_t classes = probs.dim(1);
  k = static_cast<int>(std::min<int64_t>(k, classes));
  for (int64_t n = 0; n < probs.dim(0); ++n) {
    std::vector<int64_t> order(static_cast<size_t>(classes));
    for (int64_t c = 0; c < classes; ++c)
      order[static_cast<size_t>(c)] = c;
    std::partial_sort(order.begin(), order.begin() + k, order.end(),
                      [&](int64_t a, int64_t b) { return probs(n, a) > probs(n, b); });
    std::printf("image %lld:", static_cast<long long>(n));
    for (int i = 0; i < k; ++i) {
      const int64_t c = order[static_cast<size_t>(i)];
      std::printf(" %lld (%.4f)", static_cast<long long>(c), probs(n, c));
    }
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  const Args args = parse_args(argc, argv);
  try {
    using Clock = std::chrono::steady_clock;
    if (args.threads > 0) fovea::set_num_threads(static_cast<int>(args.threads));
    const auto t0 = Clock::now();
    std::unique_ptr<fovea::nn::Module> model;
    if (!args.weights.empty()) {
      model = fovea::load_model(args.weights, args.model).model;
    } else {
      fovea::ModelOptions options;
      options.num_classes = args.num_classes;
      model = fovea::build_model(args.model, options);
      fovea::init_weights(*model, static_cast<uint64_t>(args.random_init_seed));
    }
    fovea::Tensor<float> input;
    if (!args.input_npy.empty()) {
      input = fovea::read_npy<float>(args.input_npy);
    } else {
      input = fovea::Tensor<float>(fovea::Shape(args.input_shape));
      input.fill_uniform(0, -1.0, 1.0);
    }
    FOVEA_CHECK(input.rank() == 4, args.input_npy, ": input must be NCHW (rank 4), got ",
                input.shape());
    fovea::examples::ModelOnDevice runner(*model, fovea::examples::parse_device(args.device),
                                          fovea::examples::parse_device_dtype(args.dtype));
    const auto t1 = Clock::now();
    const fovea::Tensor<float> logits = runner.forward(input);
    const auto t2 = Clock::now();
    print_topk(logits, args.topk);
    if (!args.dump_logits.empty()) fovea::write_npy(args.dump_logits, logits);
    const auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    std::fprintf(stderr, "load_ms=%.1f forward_ms=%.1f input=%s logits=%s\n", ms(t1 - t0),
                 ms(t2 - t1), input.shape().str().c_str(), logits.shape().str().c_str());
    if (args.bench_iters > 0) {
      // CPU: a BatchRunner runs the images one at a time, side by side on the threads, each
      // pass in a planned arena. CUDA: the whole batch in one forward, in one arena.
      fovea::Layout layout = fovea::Layout::nhwc;  // the CUDA path's activations (docs/cuda.md)
      std::unique_ptr<fovea::BatchRunner> batch_runner;
      fovea::ActivationArena arena;
      if (args.device == "cpu") {
        const fovea::InferenceLayout wanted = args.layout == "nchw" ? fovea::InferenceLayout::nchw
                                              : args.layout == "nhwc"
                                                  ? fovea::InferenceLayout::nhwc
                                                  : fovea::InferenceLayout::automatic;
        layout = fovea::prepare_for_inference(*model, wanted).layout_for_batch(1);
        batch_runner = std::make_unique<fovea::BatchRunner>(*model);
      }
      const auto forward = [&] {
        if (batch_runner) {
          batch_runner->forward(input);
        } else {
          fovea::ArenaScope scope(arena);
          runner.forward(input);
        }
      };
      forward();  // packs the weights (CPU) or allocates activations (CUDA) once; records
      std::vector<double> times;
      for (int64_t i = 0; i < args.bench_iters; ++i) {
        const auto start = Clock::now();
        forward();
        times.push_back(ms(Clock::now() - start));
      }
      std::nth_element(times.begin(), times.begin() + times.size() / 2, times.end());
      std::printf("median_ms=%.2f iters=%lld threads=%d layout=%s\n", times[times.size() / 2],
                  static_cast<long long>(args.bench_iters), fovea::num_threads(),
                  fovea::layout_name(layout));
      if (args.report_memory) {
        const fovea::AllocationStats mem = fovea::measure_activation_peak(*model, input.shape());
        const auto mib = [](int64_t bytes) { return static_cast<double>(bytes) / (1 << 20); };
        std::printf("activation_peak_mib=%.2f largest_allocation_mib=%.2f allocations=%lld\n",
                    mib(mem.peak_bytes), mib(mem.largest_bytes),
                    static_cast<long long>(mem.allocations));
        std::printf("activation_arena_mib=%.2f arena_served=%lld arena_heap=%lld\n",
                    mib(batch_runner->arena_bytes()),
                    static_cast<long long>(batch_runner->arena_served()),
                    static_cast<long long>(batch_runner->arena_from_heap()));
        // The whole footprint: the weights, what the kernels keep packed, and the arenas.
        const int64_t weights = fovea::weight_bytes(*model);
        const int64_t packed = fovea::measure_packed_weights(*model, input.shape());
        std::printf("weights_mib=%.2f packed_weights_mib=%.2f footprint_mib=%.2f\n", mib(weights),
                    mib(packed), mib(weights + packed + batch_runner->arena_bytes()));
      }
    }
  } catch (const fovea::Error& e) {
    std::cerr << "classify: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
