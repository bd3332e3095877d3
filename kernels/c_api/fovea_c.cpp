// libfovea_c: the C API of include/fovea/c/fovea.h over fovea's C++ engine (docs/embedding.md).
//
// Every entry point runs its body through guarded(), which turns any exception into a status and
// the thread's last-error message: no C++ exception crosses the C boundary. fovea::Error carries
// no kind, so each step says which status its fovea::Error means (reading a file: IO; parsing
// it: FORMAT; a tensor the caller passed: INVALID_ARGUMENT).
#include "fovea/c/fovea.h"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "fovea/fovea.hpp"
#include "fovea/image/decode.hpp"
#include "fovea/image/preprocess.hpp"
#include "imagenet_classes.hpp"
#include "top_k.hpp"

struct fovea_model {
  std::string path;
  fovea::Preprocessing recipe;
  int64_t channels = 3, height = 0, width = 0;
  int64_t num_classes = 0;
  std::unique_ptr<fovea::nn::Module> model;
  std::vector<std::string> labels;  // fovea_class.label points into these
};

namespace {

thread_local std::string last_error;

// A failure whose status is known where it is thrown.
struct CError {
  fovea_status status;
  std::string message;
};

template <class... Parts>
[[noreturn]] void fail_with(fovea_status status, const Parts&... parts) {
  throw CError{status, fovea::detail::concat(parts...)};
}

fovea_status set_error(fovea_status status, const std::string& message) {
  try {
    last_error = message;
  } catch (...) {  // no memory for the message: keep the status
    last_error.clear();
  }
  return status;
}

// Runs body(); an exception becomes a status and the thread's last error. `function` prefixes
// the message; `error_status` is the status a fovea::Error from body means.
template <class Body>
fovea_status guarded(const char* function, fovea_status error_status, Body&& body) noexcept {
  try {
    body();
    return FOVEA_OK;
  } catch (const CError& e) {
    return set_error(e.status, std::string(function) + ": " + e.message);
  } catch (const fovea::Error& e) {
    return set_error(error_status, std::string(function) + ": " + e.what());
  } catch (const std::bad_alloc&) {
    return set_error(FOVEA_ERROR_OUT_OF_MEMORY, std::string(function) + ": out of memory");
  } catch (const std::exception& e) {
    return set_error(FOVEA_ERROR_INTERNAL, std::string(function) + ": internal error: " + e.what());
  } catch (...) {
    return set_error(FOVEA_ERROR_INTERNAL, std::string(function) + ": unknown internal error");
  }
}

// Runs step(); a fovea::Error from it becomes `status` (other exceptions pass through).
template <class Step>
auto as_status(fovea_status status, Step&& step) -> decltype(step()) {
  try {
    return step();
  } catch (const fovea::Error& e) {
    throw CError{status, e.what()};
  }
}

void require_pointer(const void* pointer, const char* name) {
  if (pointer == nullptr) fail_with(FOVEA_ERROR_INVALID_ARGUMENT, name, " is NULL");
}

// The file must be a readable regular file: what is not is an IO error, before any parsing.
void require_readable_file(const std::string& path, const char* what) {
  std::error_code error;
  const auto status = std::filesystem::status(path, error);
  if (!std::filesystem::exists(status)) {
    fail_with(FOVEA_ERROR_IO, "cannot read ", what, " '", path, "': no such file");
  }
  if (std::filesystem::is_directory(status)) {
    fail_with(FOVEA_ERROR_IO, "cannot read ", what, " '", path, "': it is a directory, not a file");
  }
  if (!std::ifstream(path, std::ios::binary).good()) {
    fail_with(FOVEA_ERROR_IO, "cannot read ", what, " '", path, "': cannot open it (permissions?)");
  }
}

// a * b, or a FOVEA_ERROR_INVALID_ARGUMENT naming `what` when it overflows int64_t.
int64_t checked_product(int64_t a, int64_t b, const char* what) {
  if (a != 0 && b > std::numeric_limits<int64_t>::max() / a) {
    fail_with(FOVEA_ERROR_INVALID_ARGUMENT, what, " overflows 64 bits (", a, " x ", b, ")");
  }
  return a * b;
}

fovea::Tensor<float> probabilities_of(fovea_model& m, const fovea::Tensor<float>& input,
                                      fovea_status error_status) {
  const fovea::Tensor<float> logits =
      as_status(error_status, [&] { return m.model->forward(input); });
  if (logits.rank() != 2 || logits.dim(0) != input.dim(0) || logits.dim(1) != m.num_classes) {
    fail_with(FOVEA_ERROR_INTERNAL, m.path, ": the model's output is ", logits.shape(),
              ", expected (", input.dim(0), ", ", m.num_classes, ")");
  }
  return fovea::softmax(logits, 1);
}

void write_top_k(const fovea_model& m, const fovea::Tensor<float>& probs, int k, fovea_class* out,
                 int* count) {
  const std::vector<int64_t> best = fovea::examples::top_k(probs, 0, k);
  for (size_t i = 0; i < best.size(); ++i) {
    out[i].index = best[i];
    out[i].probability = probs(0, best[i]);
    out[i].label = m.labels[static_cast<size_t>(best[i])].c_str();
  }
  *count = static_cast<int>(best.size());
}

void check_classify_arguments(const fovea_model* model, int k, const fovea_class* out,
                              const int* count) {
  require_pointer(model, "model");
  require_pointer(out, "out");
  require_pointer(count, "count");
  if (k <= 0) fail_with(FOVEA_ERROR_INVALID_ARGUMENT, "k must be at least 1, got ", k);
}

}  // namespace

extern "C" {

const char* fovea_status_name(fovea_status status) {
  switch (status) {
    case FOVEA_OK:
      return "FOVEA_OK";
    case FOVEA_ERROR_INVALID_ARGUMENT:
      return "FOVEA_ERROR_INVALID_ARGUMENT";
    case FOVEA_ERROR_IO:
      return "FOVEA_ERROR_IO";
    case FOVEA_ERROR_FORMAT:
      return "FOVEA_ERROR_FORMAT";
    case FOVEA_ERROR_OUT_OF_MEMORY:
      return "FOVEA_ERROR_OUT_OF_MEMORY";
    case FOVEA_ERROR_INTERNAL:
      return "FOVEA_ERROR_INTERNAL";
  }
  return "FOVEA_UNKNOWN_STATUS";
}

const char* fovea_last_error(void) {
  return last_error.c_str();
}

fovea_status fovea_model_load(const char* path, fovea_model** out) {
  if (out != nullptr) *out = nullptr;
  return guarded("fovea_model_load", FOVEA_ERROR_FORMAT, [&] {
    require_pointer(path, "path");
    require_pointer(out, "out");
    auto m = std::make_unique<fovea_model>();
    m->path = path;
    require_readable_file(m->path, "model file");
    fovea::LoadedModel loaded = fovea::load_model(m->path);
    const auto recipe_it = loaded.metadata.find("preprocessing");
    if (recipe_it != loaded.metadata.end()) {
      m->recipe =
          fovea::Preprocessing::from_json(recipe_it->second, m->path + " metadata 'preprocessing'");
    }
    m->model = std::move(loaded.model);  // prepared for inference by load_model
    m->height = m->width = m->recipe.crop;
    // The warm-up image: the crop, else a square of the resize side, else ImageNet's 224.
    const int64_t side = m->recipe.crop > 0     ? m->recipe.crop
                         : m->recipe.resize > 0 ? m->recipe.resize
                                                : 224;
    const fovea::Tensor<float> warm_up(fovea::Shape{1, m->channels, side, side});  // zeros
    const fovea::Tensor<float> logits = m->model->forward(warm_up);
    FOVEA_CHECK(logits.rank() == 2 && logits.dim(0) == 1 && logits.dim(1) >= 1, m->path,
                ": the model's output is ", logits.shape(),
                ", expected (1, classes): a classifier");
    m->num_classes = logits.dim(1);
    const fovea::examples::ClassList& imagenet = fovea::examples::imagenet_classes();
    if (m->num_classes == imagenet.size()) {
      m->labels = imagenet.labels;
    } else {
      m->labels.reserve(static_cast<size_t>(m->num_classes));
      for (int64_t c = 0; c < m->num_classes; ++c)
        m->labels.push_back("class " + std::to_string(c));
    }
    *out = m.release();
  });
}

void fovea_model_free(fovea_model* model) {
  delete model;  // destructors of the model's parts do not throw
}

fovea_status fovea_set_num_threads(int threads) {
  return guarded("fovea_set_num_threads", FOVEA_ERROR_INVALID_ARGUMENT, [&] {
    if (threads < 1 || threads > 1024) {
      fail_with(FOVEA_ERROR_INVALID_ARGUMENT, "threads must be in [1, 1024], got ", threads);
    }
    as_status(FOVEA_ERROR_INTERNAL, [&] { fovea::set_num_threads(threads); });
  });
}

fovea_status fovea_model_input_shape(const fovea_model* model, int64_t* channels, int64_t* height,
                                     int64_t* width) {
  return guarded("fovea_model_input_shape", FOVEA_ERROR_INVALID_ARGUMENT, [&] {
    require_pointer(model, "model");
    if (channels != nullptr) *channels = model->channels;
    if (height != nullptr) *height = model->height;
    if (width != nullptr) *width = model->width;
  });
}

fovea_status fovea_model_num_classes(const fovea_model* model, int64_t* num_classes) {
  return guarded("fovea_model_num_classes", FOVEA_ERROR_INVALID_ARGUMENT, [&] {
    require_pointer(model, "model");
    require_pointer(num_classes, "num_classes");
    *num_classes = model->num_classes;
  });
}

fovea_status fovea_run(fovea_model* model, const float* input, int64_t batch, int64_t channels,
                       int64_t height, int64_t width, float* probabilities,
                       int64_t probabilities_len) {
  return guarded("fovea_run", FOVEA_ERROR_INVALID_ARGUMENT, [&] {
    require_pointer(model, "model");
    require_pointer(input, "input");
    require_pointer(probabilities, "probabilities");
    if (batch < 1 || channels < 1 || height < 1 || width < 1) {
      fail_with(FOVEA_ERROR_INVALID_ARGUMENT, "the input's shape (", batch, ", ", channels, ", ",
                height, ", ", width, ") must have every dimension >= 1");
    }
    if (channels != model->channels) {
      fail_with(FOVEA_ERROR_INVALID_ARGUMENT, model->path, " takes ", model->channels,
                " input channels, got ", channels);
    }
    if (model->height > 0 && (height != model->height || width != model->width)) {
      fail_with(FOVEA_ERROR_INVALID_ARGUMENT, model->path, " takes ", model->height, "x",
                model->width, " inputs (its recipe's crop), got ", height, "x", width);
    }
    const int64_t outputs = checked_product(batch, model->num_classes, "batch x classes");
    if (probabilities_len != outputs) {
      fail_with(FOVEA_ERROR_INVALID_ARGUMENT, "probabilities_len must be batch x classes = ", batch,
                " x ", model->num_classes, " = ", outputs, ", got ", probabilities_len);
    }
    const int64_t elements =
        checked_product(checked_product(checked_product(batch, channels, "the input's size"),
                                        height, "the input's size"),
                        width, "the input's size");
    fovea::Tensor<float> x = as_status(FOVEA_ERROR_INVALID_ARGUMENT, [&] {
      return fovea::Tensor<float>::uninitialized(fovea::Shape{batch, channels, height, width});
    });
    std::memcpy(x.data(), input, static_cast<size_t>(elements) * sizeof(float));
    const fovea::Tensor<float> probs = probabilities_of(*model, x, FOVEA_ERROR_INVALID_ARGUMENT);
    for (int64_t n = 0; n < batch; ++n) {
      for (int64_t c = 0; c < model->num_classes; ++c) {
        probabilities[n * model->num_classes + c] = probs(n, c);
      }
    }
  });
}

fovea_status fovea_classify_file(fovea_model* model, const char* image_path, int k,
                                 fovea_class* out, int* count) {
  if (count != nullptr) *count = 0;
  return guarded("fovea_classify_file", FOVEA_ERROR_FORMAT, [&] {
    check_classify_arguments(model, k, out, count);
    require_pointer(image_path, "image_path");
    const std::string path = image_path;
    require_readable_file(path, "image file");
    const fovea::DecodeLimits limits;
    const std::vector<uint8_t> bytes = as_status(FOVEA_ERROR_IO, [&] {
      return fovea::detail::read_file_bytes(path, limits.max_file_bytes);
    });
    const fovea::Tensor<float> input = as_status(FOVEA_ERROR_FORMAT, [&] {
      return fovea::preprocess(fovea::decode_image(bytes, path, limits), model->recipe);
    });
    write_top_k(*model, probabilities_of(*model, input, FOVEA_ERROR_FORMAT), k, out, count);
  });
}

fovea_status fovea_classify_encoded(fovea_model* model, const void* bytes, size_t size, int k,
                                    fovea_class* out, int* count) {
  if (count != nullptr) *count = 0;
  return guarded("fovea_classify_encoded", FOVEA_ERROR_FORMAT, [&] {
    check_classify_arguments(model, k, out, count);
    require_pointer(bytes, "bytes");
    if (size == 0) fail_with(FOVEA_ERROR_INVALID_ARGUMENT, "size is 0: no image bytes given");
    const fovea::Tensor<float> input = as_status(FOVEA_ERROR_FORMAT, [&] {
      return fovea::preprocess(
          fovea::decode_image(static_cast<const uint8_t*>(bytes), size, "the encoded image"),
          model->recipe);
    });
    write_top_k(*model, probabilities_of(*model, input, FOVEA_ERROR_FORMAT), k, out, count);
  });
}

}  // extern "C"
