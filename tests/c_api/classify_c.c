/* classify_c: a C99 program over libfovea_c (include/fovea/c/fovea.h). Loads MODEL, classifies
 * IMAGE and prints its top-5 classes as "index probability label" lines on stdout. With
 * --errors WORKDIR it first checks the error paths (NULL handles and pointers, a missing file,
 * a text file as model and as image, a wrong buffer length, k = 0, ...) and a fovea_run whose
 * probabilities must sum to 1; each failure is reported on stderr and makes the exit code 1.
 *
 *   classify_c MODEL IMAGE [--errors WORKDIR]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fovea/c/fovea.h"

static int failures = 0;

/* The call returned `expected`, and a failed call left a non-empty message. */
static void expect_status(const char* what, fovea_status got, fovea_status expected) {
  const char* message = fovea_last_error();
  if (got != expected) {
    fprintf(stderr, "FAIL %s: got %s, expected %s (%s)\n", what, fovea_status_name(got),
            fovea_status_name(expected), message);
    ++failures;
  } else if (expected != FOVEA_OK && (message == NULL || message[0] == '\0')) {
    fprintf(stderr, "FAIL %s: %s with an empty message\n", what, fovea_status_name(got));
    ++failures;
  } else {
    fprintf(stderr, "ok   %s: %s%s%s\n", what, fovea_status_name(got),
            expected != FOVEA_OK ? ": " : "", expected != FOVEA_OK ? message : "");
  }
}

static int write_text_file(const char* path) {
  FILE* f = fopen(path, "w");
  if (f == NULL) return 0;
  fputs("this is a text file, not a model nor an image\n", f);
  return fclose(f) == 0;
}

static unsigned char* read_whole_file(const char* path, size_t* size) {
  FILE* f = fopen(path, "rb");
  unsigned char* bytes = NULL;
  long length;
  if (f == NULL) return NULL;
  if (fseek(f, 0, SEEK_END) == 0 && (length = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
    bytes = (unsigned char*)malloc((size_t)length);
    if (bytes != NULL && fread(bytes, 1, (size_t)length, f) != (size_t)length) {
      free(bytes);
      bytes = NULL;
    }
    *size = (size_t)length;
  }
  fclose(f);
  return bytes;
}

static void check_errors(fovea_model* model, const char* image, const char* workdir) {
  char missing[4096], text[4096];
  fovea_model* other = (fovea_model*)&failures; /* must be overwritten with NULL */
  fovea_class top[5];
  int count = -1;
  int64_t channels = 0, height = 0, width = 0, classes = 0, i;
  float* input;
  float* probs;
  double sum = 0.0;
  float pixel[3] = {0.0f, 0.0f, 0.0f};
  unsigned char* bytes;
  size_t size = 0;

  snprintf(missing, sizeof missing, "%s/no_such_file.safetensors", workdir);
  snprintf(text, sizeof text, "%s/not_a_model.txt", workdir);
  if (!write_text_file(text)) {
    fprintf(stderr, "FAIL cannot write %s\n", text);
    ++failures;
    return;
  }

  expect_status("fovea_status_name", FOVEA_OK, FOVEA_OK);
  if (strcmp(fovea_status_name(FOVEA_ERROR_IO), "FOVEA_ERROR_IO") != 0) {
    fprintf(stderr, "FAIL fovea_status_name(FOVEA_ERROR_IO) is %s\n",
            fovea_status_name(FOVEA_ERROR_IO));
    ++failures;
  }
  fovea_model_free(NULL);

  /* NULL handles and pointers */
  expect_status("load NULL path", fovea_model_load(NULL, &other), FOVEA_ERROR_INVALID_ARGUMENT);
  if (other != NULL) {
    fprintf(stderr, "FAIL a failed load left *out non-NULL\n");
    ++failures;
  }
  expect_status("load NULL out", fovea_model_load(text, NULL), FOVEA_ERROR_INVALID_ARGUMENT);
  expect_status("num_classes NULL model", fovea_model_num_classes(NULL, &classes),
                FOVEA_ERROR_INVALID_ARGUMENT);
  expect_status("input_shape NULL model", fovea_model_input_shape(NULL, &channels, NULL, NULL),
                FOVEA_ERROR_INVALID_ARGUMENT);
  expect_status("classify NULL model", fovea_classify_file(NULL, image, 5, top, &count),
                FOVEA_ERROR_INVALID_ARGUMENT);
  expect_status("classify NULL path", fovea_classify_file(model, NULL, 5, top, &count),
                FOVEA_ERROR_INVALID_ARGUMENT);
  expect_status("classify NULL out", fovea_classify_file(model, image, 5, NULL, &count),
                FOVEA_ERROR_INVALID_ARGUMENT);
  expect_status("run NULL model", fovea_run(NULL, pixel, 1, 3, 1, 1, pixel, 1),
                FOVEA_ERROR_INVALID_ARGUMENT);

  /* files that are missing or not what they claim */
  expect_status("load missing file", fovea_model_load(missing, &other), FOVEA_ERROR_IO);
  expect_status("load a directory", fovea_model_load(workdir, &other), FOVEA_ERROR_IO);
  expect_status("load a text file", fovea_model_load(text, &other), FOVEA_ERROR_FORMAT);
  expect_status("classify missing image", fovea_classify_file(model, missing, 5, top, &count),
                FOVEA_ERROR_IO);
  expect_status("classify a text file", fovea_classify_file(model, text, 5, top, &count),
                FOVEA_ERROR_FORMAT);
  expect_status("classify_encoded text", fovea_classify_encoded(model, "hello", 5, 5, top, &count),
                FOVEA_ERROR_FORMAT);
  expect_status("classify_encoded size 0", fovea_classify_encoded(model, "x", 0, 5, top, &count),
                FOVEA_ERROR_INVALID_ARGUMENT);
  expect_status("classify k=0", fovea_classify_file(model, image, 0, top, &count),
                FOVEA_ERROR_INVALID_ARGUMENT);
  expect_status("classify k=-3", fovea_classify_file(model, image, -3, top, &count),
                FOVEA_ERROR_INVALID_ARGUMENT);
  expect_status("set_num_threads 0", fovea_set_num_threads(0), FOVEA_ERROR_INVALID_ARGUMENT);

  /* fovea_run: sizes checked, then probabilities that sum to 1 */
  expect_status("input_shape", fovea_model_input_shape(model, &channels, &height, &width),
                FOVEA_OK);
  expect_status("num_classes", fovea_model_num_classes(model, &classes), FOVEA_OK);
  if (height == 0) height = width = 224;
  input = (float*)calloc((size_t)(2 * channels * height * width), sizeof(float));
  probs = (float*)calloc((size_t)(2 * classes + 1), sizeof(float));
  if (input == NULL || probs == NULL) {
    fprintf(stderr, "FAIL out of memory in the test\n");
    ++failures;
    free(input);
    free(probs);
    return;
  }
  for (i = 0; i < 2 * channels * height * width; ++i)
    input[i] = (float)((i % 17) - 8) / 8.0f;
  expect_status("run wrong buffer length",
                fovea_run(model, input, 2, channels, height, width, probs, 2 * classes + 1),
                FOVEA_ERROR_INVALID_ARGUMENT);
  expect_status("run NULL input",
                fovea_run(model, NULL, 2, channels, height, width, probs, 2 * classes),
                FOVEA_ERROR_INVALID_ARGUMENT);
  expect_status("run wrong channels",
                fovea_run(model, input, 2, channels + 1, height, width, probs, 2 * classes),
                FOVEA_ERROR_INVALID_ARGUMENT);
  expect_status("run batch 0", fovea_run(model, input, 0, channels, height, width, probs, 0),
                FOVEA_ERROR_INVALID_ARGUMENT);
  expect_status("run overflowing batch",
                fovea_run(model, input, INT64_MAX / 2, channels, height, width, probs, 2),
                FOVEA_ERROR_INVALID_ARGUMENT);
  expect_status("run", fovea_run(model, input, 2, channels, height, width, probs, 2 * classes),
                FOVEA_OK);
  for (i = 0; i < classes; ++i)
    sum += probs[classes + i];
  if (fabs(sum - 1.0) > 1e-4) {
    fprintf(stderr, "FAIL the second image's probabilities sum to %.7f, not 1\n", sum);
    ++failures;
  }
  free(input);
  free(probs);

  /* the encoded bytes give what the file gives */
  bytes = read_whole_file(image, &size);
  if (bytes == NULL) {
    fprintf(stderr, "FAIL cannot read %s\n", image);
    ++failures;
  } else {
    fovea_class from_file[5];
    int file_count = 0, j;
    expect_status("classify_encoded", fovea_classify_encoded(model, bytes, size, 5, top, &count),
                  FOVEA_OK);
    expect_status("classify_file", fovea_classify_file(model, image, 5, from_file, &file_count),
                  FOVEA_OK);
    for (j = 0; j < count && j < file_count; ++j) {
      if (top[j].index != from_file[j].index || top[j].probability != from_file[j].probability) {
        fprintf(stderr, "FAIL classify_encoded and classify_file differ at rank %d\n", j);
        ++failures;
      }
    }
    if (count != file_count) ++failures;
    free(bytes);
  }
}

int main(int argc, char** argv) {
  fovea_model* model = NULL;
  fovea_class top[5];
  int count = 0, i;
  fovea_status status;
  if (argc != 3 && !(argc == 5 && strcmp(argv[3], "--errors") == 0)) {
    fprintf(stderr, "usage: classify_c MODEL IMAGE [--errors WORKDIR]\n");
    return 2;
  }
  status = fovea_model_load(argv[1], &model);
  if (status != FOVEA_OK) {
    fprintf(stderr, "classify_c: %s: %s\n", fovea_status_name(status), fovea_last_error());
    return 1;
  }
  if (argc == 5) check_errors(model, argv[2], argv[4]);
  status = fovea_classify_file(model, argv[2], 5, top, &count);
  if (status != FOVEA_OK) {
    fprintf(stderr, "classify_c: %s: %s\n", fovea_status_name(status), fovea_last_error());
    fovea_model_free(model);
    return 1;
  }
  for (i = 0; i < count; ++i) {
    printf("%lld %.9g %s\n", (long long)top[i].index, top[i].probability, top[i].label);
  }
  fovea_model_free(model);
  if (failures > 0) fprintf(stderr, "classify_c: %d checks failed\n", failures);
  return failures > 0 ? 1 : 0;
}
