/* fovea's C API: load an image classifier, run it on preprocessed tensors or classify photos.
 * A C99 header for libfovea_c.so (CMake target fovea_c); usable from C, C++ and any language
 * with a C foreign-function interface (Python's ctypes, Go's cgo, Rust, ...). See
 * docs/embedding.md.
 *
 * Errors: every function returns a fovea_status. FOVEA_OK is 0; on any other status,
 * fovea_last_error() returns a message naming the file or argument at fault and what was
 * expected against what was found. No C++ exception ever leaves the library.
 *
 * Ownership: a fovea_model is created by fovea_model_load and destroyed by fovea_model_free.
 * Strings returned by the library (fovea_status_name, fovea_last_error, fovea_class.label) are
 * owned by it: fovea_status_name's live forever, fovea_last_error's until the next call into
 * the library on the same thread, a label as long as its model. Buffers passed in (inputs,
 * outputs, paths) stay the caller's; the library keeps no pointer to them after a call.
 *
 * Threads:
 *  - One loaded model may be shared by any number of threads: fovea_run, fovea_classify_file,
 *    fovea_classify_encoded, fovea_model_input_shape and fovea_model_num_classes may be called
 *    on the same model at the same time, each with its own buffers. (A prepared fovea model
 *    allows concurrent forwards; the kernels' thread pool runs one parallel loop at a time, so
 *    concurrent calls share the cores rather than oversubscribe them.)
 *  - fovea_model_free must not run while another thread uses that model.
 *  - fovea_set_num_threads is process-wide: call it before forwards start, not while another
 *    thread is inside fovea_run or a classify call.
 *  - fovea_last_error is per thread.
 */
#ifndef FOVEA_C_FOVEA_H
#define FOVEA_C_FOVEA_H

#include <stddef.h>
#include <stdint.h>

#if defined(_WIN32)
#if defined(FOVEA_C_BUILDING)
#define FOVEA_C_EXPORT __declspec(dllexport)
#else
#define FOVEA_C_EXPORT __declspec(dllimport)
#endif
#elif defined(__GNUC__)
#define FOVEA_C_EXPORT __attribute__((visibility("default")))
#else
#define FOVEA_C_EXPORT
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* The outcome of a call. Values are stable: new codes are only ever appended. */
typedef enum fovea_status {
  FOVEA_OK = 0,
  FOVEA_ERROR_INVALID_ARGUMENT = 1, /* a NULL pointer, a size that does not match, k <= 0 */
  FOVEA_ERROR_IO = 2,               /* a file is missing, unreadable, a directory, too large */
  FOVEA_ERROR_FORMAT = 3,           /* a file's or buffer's content is not a valid model/image */
  FOVEA_ERROR_OUT_OF_MEMORY = 4,    /* an allocation failed */
  FOVEA_ERROR_INTERNAL = 5          /* anything else (a bug: please report it) */
} fovea_status;

/* An opaque, loaded and prepared classifier. */
typedef struct fovea_model fovea_model;

/* One class of a top-k answer. label is owned by the model: ImageNet's class names when the
 * model has 1000 classes, "class N" otherwise. */
typedef struct fovea_class {
  int64_t index;
  float probability;
  const char* label;
} fovea_class;

/* "FOVEA_OK", "FOVEA_ERROR_IO", ...; "FOVEA_UNKNOWN_STATUS" for a value not listed above. */
FOVEA_C_EXPORT const char* fovea_status_name(fovea_status status);

/* The message of the last call on this thread that did not return FOVEA_OK; "" when none has
 * failed yet. A successful call leaves the message as it was. Never NULL. */
FOVEA_C_EXPORT const char* fovea_last_error(void);

/* Loads a classifier from a .safetensors file (FP32 weights, or an INT8 model as fovea's
 * quantize writes), folds and packs its weights for inference, reads its preprocessing recipe
 * from the file's metadata (torchvision's ImageNet recipe when it has none) and runs one
 * warm-up forward. On success *out is the new model; on failure *out is NULL. */
FOVEA_C_EXPORT fovea_status fovea_model_load(const char* path, fovea_model** out);

/* Frees a model and its labels. NULL is allowed and does nothing. */
FOVEA_C_EXPORT void fovea_model_free(fovea_model* model);

/* Sets how many threads the CPU kernels use, process-wide, 1 to 1024 (the default is one per
 * hardware thread). Not while another thread runs a model. */
FOVEA_C_EXPORT fovea_status fovea_set_num_threads(int threads);

/* The input fovea_run expects: channels, and height and width where the model's recipe fixes
 * them (its center crop); height and width are 0 when any size is taken. Any output pointer
 * may be NULL when that value is not wanted. */
FOVEA_C_EXPORT fovea_status fovea_model_input_shape(const fovea_model* model, int64_t* channels,
                                                    int64_t* height, int64_t* width);

/* The number of classes the model scores. */
FOVEA_C_EXPORT fovea_status fovea_model_num_classes(const fovea_model* model, int64_t* num_classes);

/* Runs the model on `batch` images already preprocessed (NCHW floats, contiguous, normalized
 * as the model's recipe says) and writes the softmax probabilities, batch x classes in row
 * order, to `probabilities`, whose length probabilities_len must equal batch * classes. */
FOVEA_C_EXPORT fovea_status fovea_run(fovea_model* model, const float* input, int64_t batch,
                                      int64_t channels, int64_t height, int64_t width,
                                      float* probabilities, int64_t probabilities_len);

/* Decodes a JPEG, PNG or BMP file, preprocesses it with the model's recipe, runs the model and
 * writes the k most probable classes to out[0..*count), most probable first (ties: the lower
 * class index first). out must have room for k entries; *count is min(k, classes). */
FOVEA_C_EXPORT fovea_status fovea_classify_file(fovea_model* model, const char* image_path, int k,
                                                fovea_class* out, int* count);

/* As fovea_classify_file, on the encoded bytes of an image held in memory. */
FOVEA_C_EXPORT fovea_status fovea_classify_encoded(fovea_model* model, const void* bytes,
                                                   size_t size, int k, fovea_class* out,
                                                   int* count);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FOVEA_C_FOVEA_H */
