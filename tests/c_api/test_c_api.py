#!/usr/bin/env python3
"""libfovea_c through Python's ctypes (standard library only: no numpy).

  test_c_api.py LIB MODEL IMAGE WORKDIR
      error paths (each a non-OK status with a message, never a crash), fovea_run on an
      array('f') buffer whose probabilities sum to 1, classify_file and classify_encoded.
  test_c_api.py --goldfish LIB CLASSIFY_C RESNET50_INFER IMAGE
      the pretrained ResNet-50 (~/.cache/fovea/resnet50_v1.safetensors, or $FOVEA_CACHE; exit 77
      when absent): classify_c and ctypes give resnet50_infer --json's top-5 indices, with
      probabilities within 1e-5.
"""
import array
import ctypes
import json
import os
import subprocess
import sys
import threading

OK, INVALID_ARGUMENT, IO, FORMAT, OUT_OF_MEMORY, INTERNAL = range(6)
NAMES = ["FOVEA_OK", "FOVEA_ERROR_INVALID_ARGUMENT", "FOVEA_ERROR_IO", "FOVEA_ERROR_FORMAT",
         "FOVEA_ERROR_OUT_OF_MEMORY", "FOVEA_ERROR_INTERNAL"]


class FoveaClass(ctypes.Structure):
    _fields_ = [("index", ctypes.c_int64), ("probability", ctypes.c_float),
                ("label", ctypes.c_char_p)]


def load_library(path):
    lib = ctypes.CDLL(path)
    i64p = ctypes.POINTER(ctypes.c_int64)
    model_p = ctypes.c_void_p
    lib.fovea_status_name.restype = ctypes.c_char_p
    lib.fovea_status_name.argtypes = [ctypes.c_int]
    lib.fovea_last_error.restype = ctypes.c_char_p
    lib.fovea_last_error.argtypes = []
    lib.fovea_model_load.argtypes = [ctypes.c_char_p, ctypes.POINTER(model_p)]
    lib.fovea_model_free.argtypes = [model_p]
    lib.fovea_model_free.restype = None
    lib.fovea_set_num_threads.argtypes = [ctypes.c_int]
    lib.fovea_model_input_shape.argtypes = [model_p, i64p, i64p, i64p]
    lib.fovea_model_num_classes.argtypes = [model_p, i64p]
    lib.fovea_run.argtypes = [model_p, ctypes.c_void_p, ctypes.c_int64, ctypes.c_int64,
                              ctypes.c_int64, ctypes.c_int64, ctypes.c_void_p, ctypes.c_int64]
    lib.fovea_classify_file.argtypes = [model_p, ctypes.c_char_p, ctypes.c_int,
                                        ctypes.POINTER(FoveaClass), ctypes.POINTER(ctypes.c_int)]
    lib.fovea_classify_encoded.argtypes = [model_p, ctypes.c_char_p, ctypes.c_size_t,
                                           ctypes.c_int, ctypes.POINTER(FoveaClass),
                                           ctypes.POINTER(ctypes.c_int)]
    for function in (lib.fovea_model_load, lib.fovea_set_num_threads,
                     lib.fovea_model_input_shape, lib.fovea_model_num_classes, lib.fovea_run,
                     lib.fovea_classify_file, lib.fovea_classify_encoded):
        function.restype = ctypes.c_int
    return lib


failures = []


def expect(lib, what, got, expected):
    message = lib.fovea_last_error().decode()
    if got != expected:
        failures.append(f"{what}: got {NAMES[got] if 0 <= got < 6 else got}, "
                        f"expected {NAMES[expected]} ({message})")
    elif expected != OK and not message:
        failures.append(f"{what}: {NAMES[got]} with an empty message")
    else:
        print(f"ok   {what}: {NAMES[got]}" + (f": {message}" if expected != OK else ""))


def load(lib, path):
    model = ctypes.c_void_p()
    status = lib.fovea_model_load(path.encode(), ctypes.byref(model))
    if status != OK:
        sys.exit(f"fovea_model_load({path}): {NAMES[status]}: {lib.fovea_last_error().decode()}")
    return model


def classify(lib, model, image, k=5):
    out = (FoveaClass * k)()
    count = ctypes.c_int(-1)
    status = lib.fovea_classify_file(model, image.encode(), k, out, ctypes.byref(count))
    if status != OK:
        sys.exit(f"fovea_classify_file({image}): {NAMES[status]}: "
                 f"{lib.fovea_last_error().decode()}")
    return [(out[i].index, out[i].probability, out[i].label.decode()) for i in range(count.value)]


def error_paths(lib_path, model_path, image, workdir):
    os.makedirs(workdir, exist_ok=True)
    lib = load_library(lib_path)
    text = os.path.join(workdir, "not_a_model.txt")
    with open(text, "w") as f:
        f.write("this is a text file, not a model nor an image\n")
    missing = os.path.join(workdir, "no_such_file.safetensors")
    if lib.fovea_last_error().decode() != "":
        failures.append("fovea_last_error is not empty before any failure")
    if lib.fovea_status_name(IO).decode() != "FOVEA_ERROR_IO":
        failures.append("fovea_status_name(IO)")
    if lib.fovea_status_name(99).decode() != "FOVEA_UNKNOWN_STATUS":
        failures.append("fovea_status_name(99)")
    lib.fovea_model_free(None)

    model = load(lib, model_path)
    out = (FoveaClass * 5)()
    count = ctypes.c_int()
    other = ctypes.c_void_p()
    n = ctypes.c_int64()
    expect(lib, "load NULL path", lib.fovea_model_load(None, ctypes.byref(other)),
           INVALID_ARGUMENT)
    expect(lib, "load missing file", lib.fovea_model_load(missing.encode(), ctypes.byref(other)),
           IO)
    expect(lib, "load a text file", lib.fovea_model_load(text.encode(), ctypes.byref(other)),
           FORMAT)
    if other.value is not None:
        failures.append("a failed load left *out non-NULL")
    expect(lib, "num_classes NULL model", lib.fovea_model_num_classes(None, ctypes.byref(n)),
           INVALID_ARGUMENT)
    expect(lib, "classify NULL model",
           lib.fovea_classify_file(None, image.encode(), 5, out, ctypes.byref(count)),
           INVALID_ARGUMENT)
    expect(lib, "classify missing image",
           lib.fovea_classify_file(model, missing.encode(), 5, out, ctypes.byref(count)), IO)
    expect(lib, "classify a text file",
           lib.fovea_classify_file(model, text.encode(), 5, out, ctypes.byref(count)), FORMAT)
    expect(lib, "classify k=0",
           lib.fovea_classify_file(model, image.encode(), 0, out, ctypes.byref(count)),
           INVALID_ARGUMENT)
    expect(lib, "classify_encoded size 0",
           lib.fovea_classify_encoded(model, b"", 0, 5, out, ctypes.byref(count)),
           INVALID_ARGUMENT)

    c, h, w = ctypes.c_int64(), ctypes.c_int64(), ctypes.c_int64()
    expect(lib, "input_shape",
           lib.fovea_model_input_shape(model, ctypes.byref(c), ctypes.byref(h), ctypes.byref(w)),
           OK)
    expect(lib, "num_classes", lib.fovea_model_num_classes(model, ctypes.byref(n)), OK)
    classes, batch = n.value, 3
    size = batch * c.value * h.value * w.value
    pixels = array.array("f", [((i * 7919) % 255) / 127.5 - 1.0 for i in range(size)])
    probs = array.array("f", [0.0] * (batch * classes))
    pixels_p, _ = pixels.buffer_info()
    probs_p, _ = probs.buffer_info()
    expect(lib, "run wrong buffer length",
           lib.fovea_run(model, pixels_p, batch, c, h, w, probs_p, batch * classes - 1),
           INVALID_ARGUMENT)
    expect(lib, "run wrong height",
           lib.fovea_run(model, pixels_p, batch, c, h.value + 1, w, probs_p, batch * classes),
           INVALID_ARGUMENT)
    expect(lib, "run overflowing batch",
           lib.fovea_run(model, pixels_p, 2**62, c, h, w, probs_p, batch * classes),
           INVALID_ARGUMENT)
    expect(lib, "run", lib.fovea_run(model, pixels_p, batch, c, h, w, probs_p, batch * classes),
           OK)
    for b in range(batch):
        row = probs[b * classes:(b + 1) * classes]
        if abs(sum(row) - 1.0) > 1e-4 or min(row) < 0.0:
            failures.append(f"run: image {b}'s probabilities sum to {sum(row)}")

    top = classify(lib, model, image)
    with open(image, "rb") as f:
        encoded = f.read()
    expect(lib, "classify_encoded",
           lib.fovea_classify_encoded(model, encoded, len(encoded), 5, out, ctypes.byref(count)),
           OK)
    from_bytes = [(out[i].index, out[i].probability, out[i].label.decode())
                  for i in range(count.value)]
    if top != from_bytes or len(top) != 5:
        failures.append(f"classify_file {top} != classify_encoded {from_bytes}")
    if [t[2] for t in top] != [f"class {t[0]}" for t in top]:
        failures.append(f"labels of a 10-class model: {top}")

    # One model shared by threads (ctypes releases the GIL during the calls): every answer must
    # equal the serial one to the bit.
    results = []

    def worker():
        for _ in range(3):
            results.append(classify(lib, model, image))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if len(results) != 12 or any(r != top for r in results):
        failures.append(f"concurrent classify differs from serial: {len(results)} results")
    else:
        print("ok   4 threads x 3 classify calls on one model equal the serial answer")
    lib.fovea_model_free(model)


def goldfish(lib_path, classify_c, resnet50_infer, image):
    cache = os.environ.get("FOVEA_CACHE") or os.path.expanduser("~/.cache/fovea")
    weights = os.path.join(cache, "resnet50_v1.safetensors")
    if not os.path.exists(weights):
        print(f"skipped: no pretrained ResNet-50 at {weights} (weights_tools/fetch_resnet50.sh)")
        sys.exit(77)
    infer = subprocess.run([resnet50_infer, "--weights", weights, "--json", "--topk", "5", image],
                           capture_output=True, text=True, check=True)
    expected = [(e["index"], e["probability"], e["label"])
                for e in json.loads(infer.stdout.strip().splitlines()[-1])["topk"]]
    from_c = []
    for line in subprocess.run([classify_c, weights, image], capture_output=True, text=True,
                               check=True).stdout.splitlines():
        index, probability, label = line.split(" ", 2)
        from_c.append((int(index), float(probability), label))
    lib = load_library(lib_path)
    model = load(lib, weights)
    from_ctypes = classify(lib, model, image)
    lib.fovea_model_free(model)
    print("resnet50_infer:", expected)
    print("classify_c:    ", from_c)
    print("ctypes:        ", from_ctypes)
    for name, got in (("classify_c", from_c), ("ctypes", from_ctypes)):
        if [g[0] for g in got] != [e[0] for e in expected]:
            failures.append(f"{name}'s top-5 indices {[g[0] for g in got]} != resnet50_infer's")
            continue
        for g, e in zip(got, expected):
            if abs(g[1] - e[1]) > 1e-5 or g[2] != e[2]:
                failures.append(f"{name}: class {g[0]} {g[1]} '{g[2]}' vs {e[1]} '{e[2]}'")
    if expected[0][0] != 1:
        failures.append(f"the goldfish photo's top class is {expected[0]}, not 1 (goldfish)")


def main():
    if len(sys.argv) == 6 and sys.argv[1] == "--goldfish":
        goldfish(*sys.argv[2:])
    elif len(sys.argv) == 5:
        error_paths(*sys.argv[1:])
    else:
        sys.exit(__doc__)
    for failure in failures:
        print("FAIL", failure)
    print(f"{len(failures)} failures")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
