"""Integration test of fovea_serve: every endpoint and every error code, batching, metrics,
reloads (by request and SIGHUP, under load), drift wiring and a draining SIGTERM.

    test_serve.py FOVEA_SERVE TEST_CLASSIFIER_MODEL WORK_DIR PHOTO
"""
import json
import os
import shutil
import signal
import struct
import sys
import threading
import time

from serve_harness import Check, Server, metric_value, parallel

server_binary, make_model, work, photo = sys.argv[1:5]
os.makedirs(work, exist_ok=True)
check = Check()


def make(path, seed):
    assert os.spawnv(os.P_WAIT, make_model, [make_model, path, str(seed)]) == 0, path


model_a = os.path.join(work, "model_a.safetensors")
model_b = os.path.join(work, "model_b.safetensors")
make(model_a, 1)
make(model_b, 2)
served = os.path.join(work, "tiny.safetensors")
shutil.copy(model_a, served)
with open(photo, "rb") as f:
    jpeg = f.read()

# A drift reference whose predictions were mostly class 0 with confidences spread over 0.5-0.9:
# the random test model's predictions are far from it, so an alert must start once the window
# (100 predictions) is full.
reference = os.path.join(work, "reference.drift.json")
with open(reference, "w") as f:
    json.dump({"format": "fovea-drift-reference", "version": 1, "num_classes": 10,
               "class_counts": [1000] + [1] * 9,
               "confidences": [0.5 + 0.4 * (i % 10) / 10 for i in range(1009)],
               "description": "server test: class 0 only"}, f)

server = Server(server_binary,
                ["--model", f"tiny={served}", "--threads", "2", "--max-batch", "8",
                 "--max-delay-us", "20000", "--queue", "16", "--max-body-bytes", "200000",
                 "--drift-reference", f"tiny={reference}", "--drift-window", "100",
                 "--drift-check-every", "50"],
                os.path.join(work, "server.log"))


def tensor_body(images, fill=0.5, binary=False, **extra):
    shape = [images, 3, 32, 32]
    count = images * 3 * 32 * 32
    values = [fill + (i % 97) / 97.0 for i in range(count)]
    request = {"id": "req-1", "inputs": [{"name": "input", "datatype": "FP32", "shape": shape}]}
    request.update(extra)
    if not binary:
        request["inputs"][0]["data"] = values
        return json.dumps(request).encode(), {"Content-Type": "application/json"}
    request["inputs"][0]["parameters"] = {"binary_data_size": count * 4}
    header = json.dumps(request).encode()
    return header + struct.pack(f"<{count}f", *values), {
        "Inference-Header-Content-Length": str(len(header)),
        "Content-Type": "application/octet-stream"}


# Health and metadata.
status, _, body = server.json("GET", "/v2/health/live")
check(status == 200 and body == {"live": True}, f"live: {status} {body}")
status, _, body = server.json("GET", "/v2/health/ready")
check(status == 200 and body["ready"] is True, f"ready: {status} {body}")
status, _, body = server.json("GET", "/v2")
check(status == 200 and "binary_tensor_data" in body["extensions"], f"server metadata: {body}")
status, _, body = server.json("GET", "/v2/models/tiny")
check(status == 200 and body["inputs"][0]["shape"] == [-1, 3, 32, 32]
      and body["versions"] == ["1"] and body["outputs"][0]["shape"] == [-1, 10],
      f"model metadata: {body}")
check(body["parameters"]["preprocessing"]["crop"] == 32, f"metadata recipe: {body}")
status, _, body = server.json("GET", "/v2/models/tiny/versions/1")
check(status == 200, f"metadata of version 1: {status}")
status, _, body = server.json("GET", "/v2/models/tiny/ready")
check(status == 200 and body["ready"], f"model ready: {status} {body}")
for path, code in [("/v2/models/nope", 404), ("/v2/models/tiny/versions/7", 404),
                   ("/nowhere", 404)]:
    status, _, body = server.json("GET", path)
    check(status == code and "error" in body, f"GET {path}: {status} {body}")

# Inference: JSON, nested JSON, binary in and out, classification; a batch of 3 equals each
# image alone.
data, headers = tensor_body(1)
status, _, body = server.json("POST", "/v2/models/tiny/infer", data, headers)
check(status == 200 and body["id"] == "req-1" and body["model_version"] == "1"
      and {o["name"] for o in body["outputs"]} == {"logits", "probabilities"},
      f"JSON infer: {status} {body if status != 200 else ''}")
logits_json = next(o for o in body["outputs"] if o["name"] == "logits")["data"]
check(len(logits_json) == 10, f"logits length {len(logits_json)}")
probabilities = next(o for o in body["outputs"] if o["name"] == "probabilities")["data"]
check(abs(sum(probabilities) - 1) < 1e-4, f"probabilities sum {sum(probabilities)}")

request = json.loads(data)
flat = request["inputs"][0]["data"]
request["inputs"][0]["data"] = [[[flat[c * 1024 + y * 32:c * 1024 + y * 32 + 32]
                                  for y in range(32)] for c in range(3)]]
status, _, body = server.json("POST", "/v2/models/tiny/infer", json.dumps(request).encode())
check(status == 200 and next(o for o in body["outputs"] if o["name"] == "logits")["data"]
      == logits_json, f"nested data gives the same logits: {status}")

data, headers = tensor_body(1, binary=True,
                            outputs=[{"name": "logits", "parameters": {"binary_data": True}}])
status, response_headers, raw = server.request("POST", "/v2/models/tiny/infer", data, headers)
check(status == 200, f"binary infer: {status} {raw[:200]}")
header_length = int(response_headers.get("Inference-Header-Content-Length", "-1"))
header = json.loads(raw[:header_length])
size = header["outputs"][0]["parameters"]["binary_data_size"]
logits_binary = list(struct.unpack("<10f", raw[header_length:header_length + size]))
check(size == 40 and all(abs(a - b) <= 1e-6 * max(1, abs(a)) for a, b in
                         zip(logits_binary, logits_json)),
      f"binary logits equal JSON logits: {logits_binary} {logits_json}")

data, headers = tensor_body(1, outputs=[{"name": "probabilities",
                                         "parameters": {"classification": 3}}])
status, _, body = server.json("POST", "/v2/models/tiny/infer", data, headers)
check(status == 200 and body["outputs"][0]["datatype"] == "BYTES"
      and body["outputs"][0]["shape"] == [1, 3]
      and body["outputs"][0]["data"][0].count(":") == 2, f"classification extension: {body}")

singles = []
for fill in (0.1, 0.2, 0.3):
    d, h = tensor_body(1, fill=fill, binary=True,
                       outputs=[{"name": "logits", "parameters": {"binary_data": True}}])
    status, rh, raw = server.request("POST", "/v2/models/tiny/infer", d, h)
    n = int(rh["Inference-Header-Content-Length"])
    singles.append(raw[n:])
batch = b""
for fill in (0.1, 0.2, 0.3):
    d, _ = tensor_body(1, fill=fill, binary=True)
    batch += d[int(_["Inference-Header-Content-Length"]):]
request = {"inputs": [{"name": "input", "datatype": "FP32", "shape": [3, 3, 32, 32],
                       "parameters": {"binary_data_size": len(batch)}}],
           "outputs": [{"name": "logits", "parameters": {"binary_data": True}}]}
header = json.dumps(request).encode()
status, rh, raw = server.request("POST", "/v2/models/tiny/infer", header + batch,
                                 {"Inference-Header-Content-Length": str(len(header))})
check(status == 200 and raw[int(rh["Inference-Header-Content-Length"]):] == b"".join(singles),
      "a batch of 3 gives each image's logits alone, bit for bit")

# Classify an encoded photo, with and without a content type; topk.
for headers in ({}, {"Content-Type": "image/jpeg"}):
    status, _, body = server.json("POST", "/v2/models/tiny/classify?topk=3", jpeg, headers)
    check(status == 200 and len(body["topk"]) == 3 and body["model_name"] == "tiny"
          and set(body["topk"][0]) == {"index", "label", "probability"},
          f"classify {headers}: {status} {body}")

# Dynamic batching: 16 concurrent requests run in fewer than 16 batches.
before = metric_value(server.metrics(), "fovea_batch_size_count", model="tiny")
results = parallel(16, lambda i: server.json("POST", "/v2/models/tiny/classify", jpeg)[0])
check(all(r == 200 for r in results), f"16 concurrent classifies: {results}")
after = metric_value(server.metrics(), "fovea_batch_size_count", model="tiny")
check(after - before < 16, f"16 concurrent requests ran in {after - before} batches")

# Every error the API promises.
short_header = json.dumps({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 3, 32, 32],
                                       "parameters": {"binary_data_size": 12}}]}).encode()
errors = [
    ("malformed JSON", "/v2/models/tiny/infer", b"{\"inputs\": [", {}, 400, "not valid JSON"),
    ("JSON not an object", "/v2/models/tiny/infer", b"[1, 2]", {}, 400, "JSON object"),
    ("no inputs", "/v2/models/tiny/infer", b"{}", {}, 400, "needs \"inputs\""),
    ("wrong input name", "/v2/models/tiny/infer",
     json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3, 32, 32],
                             "data": [0] * 3072}]}).encode(), {}, 400, "name must be"),
    ("wrong dtype", "/v2/models/tiny/infer",
     json.dumps({"inputs": [{"name": "input", "datatype": "INT64", "shape": [1, 3, 32, 32],
                             "data": [0] * 3072}]}).encode(), {}, 400, "datatype FP32"),
    ("wrong shape", "/v2/models/tiny/infer",
     json.dumps({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 3, 31, 32],
                             "data": [0] * 2976}]}).encode(), {}, 400, "H must be 32"),
    ("batch over --max-batch", "/v2/models/tiny/infer",
     json.dumps({"inputs": [{"name": "input", "datatype": "FP32", "shape": [9, 3, 32, 32],
                             "data": [0] * 10}]}).encode(), {}, 400, "N must be in [1, 8]"),
    ("too few numbers", "/v2/models/tiny/infer",
     json.dumps({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 3, 32, 32],
                             "data": [0] * 3071}]}).encode(), {}, 400, "holds 3071"),
    ("a string in data", "/v2/models/tiny/infer",
     json.dumps({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 3, 32, 32],
                             "data": ["a"] * 3072}]}).encode(), {}, 400, "numbers only"),
    ("unknown output", "/v2/models/tiny/infer",
     json.dumps({"inputs": [{"name": "input", "datatype": "FP32", "shape": [1, 3, 32, 32],
                             "data": [0] * 3072}], "outputs": [{"name": "features"}]}).encode(),
     {}, 400, "unknown output"),
    ("binary size mismatch", "/v2/models/tiny/infer", short_header + b"abcdefghijkl",
     {"Inference-Header-Content-Length": str(len(short_header))}, 400, "needs 12288 bytes"),
    ("header length past body", "/v2/models/tiny/infer", b"{}",
     {"Inference-Header-Content-Length": "99"}, 400, "has only 2 bytes"),
    ("header length not a number", "/v2/models/tiny/infer", b"{}",
     {"Inference-Header-Content-Length": "1e3"}, 400, "whole number of bytes"),
    ("NaN in binary data", "/v2/models/tiny/infer", None, None, 400, "not finite"),
    ("corrupt image", "/v2/models/tiny/classify", b"\xff\xd8\xff" + b"\x00" * 500, {}, 400,
     "request body"),
    ("truncated JPEG", "/v2/models/tiny/classify", jpeg[:len(jpeg) // 3], {}, 400,
     "corrupt or truncated"),
    ("not an image", "/v2/models/tiny/classify", b"hello world", {}, 400, "not a JPEG"),
    ("empty body", "/v2/models/tiny/classify", b"", {}, 400, "empty"),
    ("bad topk", "/v2/models/tiny/classify?topk=11", jpeg, {}, 400, "topk must be"),
    ("unknown model", "/v2/models/none/classify", jpeg, {}, 404, "no model named"),
    ("body over the limit", "/v2/models/tiny/classify", b"x" * 200001, {}, 413,
     "max-body-bytes"),
    ("GET on a POST route", "/v2/models/tiny/infer", None, {}, 404, ""),
]
nan_body = b"{\"inputs\": [{\"name\": \"input\", \"datatype\": \"FP32\", \"shape\": [1, 3, 32, " \
           b"32], \"parameters\": {\"binary_data_size\": 12288}}]}"
for what, path, body, headers, code, text in errors:
    method = "GET" if what.startswith("GET") else "POST"
    if what == "NaN in binary data":
        body = nan_body + struct.pack("<f", float("nan")) * 3072
        headers = {"Inference-Header-Content-Length": str(len(nan_body))}
    status, _, raw = server.request(method, path, body, headers)
    try:
        message = json.loads(raw)["error"]
    except (ValueError, KeyError, TypeError):
        message = None
    check(status == code and message is not None and text in message,
          f"{what}: expected {code} with '{text}', got {status} {raw[:300]}")

# A decompression bomb: a valid PNG header claiming 20000 x 20000 pixels.
import zlib
def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
bomb = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)) \
    + png_chunk(b"IDAT", zlib.compress(b"\x00" * 20001 * 50)) + png_chunk(b"IEND", b"")
status, _, body = server.json("POST", "/v2/models/tiny/classify", bomb)
check(status == 400 and "over the decode limit" in body["error"], f"bomb: {status} {body}")

# 120 more predictions, so the drift window (100) fills and the tests run.
for fill in range(15):
    d, h = tensor_body(8, fill=fill / 15, binary=True)
    status, _, _ = server.request("POST", "/v2/models/tiny/infer", d, h)
    check(status == 200, f"batch of 8 for drift: {status}")

# Metrics: names, labels, histograms, model info, drift gauges.
text = server.metrics()
for code in ("200", "400", "404", "413"):
    check(metric_value(text, "fovea_requests_total", code=code) > 0, f"requests_total code {code}")
check(metric_value(text, "fovea_requests_total", model="tiny", endpoint="classify", code="200") > 0,
      "requests_total by model and endpoint")
for name in ("fovea_request_duration_seconds_bucket", "fovea_queue_wait_seconds_count",
             "fovea_batch_compute_seconds_sum", "fovea_top1_confidence_count",
             "fovea_predictions_total", "process_resident_memory_bytes"):
    check(metric_value(text, name) > 0, f"metric {name}")
check('le="0.0005"' in text and 'le="5"' in text and 'le="+Inf"' in text, "latency buckets")
check(metric_value(text, "fovea_model_info", model="tiny", version="1") == 1, "model_info v1")
check("# TYPE fovea_requests_total counter" in text and
      "# TYPE fovea_request_duration_seconds histogram" in text, "TYPE lines")
check(metric_value(text, "fovea_drift_alert", model="tiny") >= 1,
      "a drift alert is on after 100+ predictions far from the reference")
for test in ("class_mix", "confidence", "mean_confidence_cusum"):
    check(metric_value(text, "fovea_drift_threshold", model="tiny", test=test) > 0,
          f"drift threshold gauge of {test}")
check(metric_value(text, "fovea_drift_window_predictions", model="tiny") == 100, "drift window")
check("drift alert started" in server.read_log(), "the drift alert's start is logged")

# Reloads: by request, a refused file, and SIGHUP, while requests keep coming.
stop = threading.Event()
load_results = []
def load_loop():
    while not stop.is_set():
        status, _, _ = server.request("POST", "/v2/models/tiny/classify", jpeg)
        load_results.append(status)
workers = [threading.Thread(target=load_loop) for _ in range(4)]
for w in workers:
    w.start()
time.sleep(0.5)
shutil.copy(model_b, served)
status, _, body = server.json("POST", "/v2/repository/models/tiny/load")
check(status == 200 and body["version"] == "2", f"load by request: {status} {body}")
with open(served, "wb") as f:
    f.write(b"not a model")
status, _, body = server.json("POST", "/v2/repository/models/tiny/load")
check(status == 400 and "old one still serves" in body["error"], f"refused load: {status} {body}")
status, _, body = server.json("GET", "/v2/models/tiny")
check(body["versions"] == ["2"], f"version 2 still serves after a refused file: {body}")
shutil.copy(model_a, served)
server.signal(signal.SIGHUP)
deadline = time.time() + 60
while time.time() < deadline and server.json("GET", "/v2/models/tiny")[2]["versions"] != ["3"]:
    time.sleep(0.1)
time.sleep(0.5)
stop.set()
for w in workers:
    w.join()
check(len(load_results) > 10 and all(s == 200 for s in load_results),
      f"{len(load_results)} requests during 3 reloads, failed: "
      f"{[s for s in load_results if s != 200]}")
text = server.metrics()
check(metric_value(text, "fovea_model_info", model="tiny", version="3") == 1
      and metric_value(text, "fovea_model_info", model="tiny", version="1") == 0,
      "model_info shows version 3 only")
check(metric_value(text, "fovea_model_loads_total", model="tiny", result="failed") == 1,
      "a failed load is counted")
status, _, body = server.json("POST", "/v2/repository/index")
check(status == 200 and body[0]["version"] == "3" and body[0]["state"] == "READY", f"index {body}")

# SIGTERM drains: requests in flight are answered, then the server exits 0. Each client has
# sent all of its request but the last byte when the signal comes.
import socket
request_bytes = (b"POST /v2/models/tiny/classify HTTP/1.1\r\nHost: x\r\nContent-Length: "
                 + str(len(jpeg)).encode() + b"\r\n\r\n" + jpeg)
clients = []
for _ in range(6):
    c = socket.create_connection(("127.0.0.1", server.port), timeout=30)
    c.sendall(request_bytes[:-1])
    clients.append(c)
time.sleep(0.3)
server.signal(signal.SIGTERM)
time.sleep(0.3)
answers = []
for c in clients:
    c.sendall(request_bytes[-1:])
    answers.append(c.recv(64).split(b"\r\n", 1)[0])
    c.close()
code = server.stop()
check(code == 0, f"exit status after SIGTERM: {code}")
check(all(a == b"HTTP/1.1 200 OK" for a in answers), f"requests in flight at SIGTERM: {answers}")
check("stopped" in server.read_log(), "the shutdown is logged")

# A full queue answers 503 with Retry-After at once. This server's batches wait 3 s for company
# and its queue holds 2 requests, so of 5 requests sent at once 3 are refused.
busy = Server(server_binary, ["--model", f"tiny={model_a}", "--threads", "1", "--max-batch", "8",
                             "--max-delay-us", "3000000", "--queue", "2"],
              os.path.join(work, "server_busy.log"))
def timed_classify(_):
    start = time.time()
    status, headers, _ = busy.request("POST", "/v2/models/tiny/classify", jpeg)
    return status, headers.get("Retry-After"), time.time() - start
results = parallel(5, timed_classify)
rejected = [r for r in results if not isinstance(r, Exception) and r[0] == 503]
accepted = [r for r in results if not isinstance(r, Exception) and r[0] == 200]
check(len(rejected) == 3 and len(accepted) == 2, f"2 answered and 3 refused: {results}")
check(all(r[1] == "1" and r[2] < 1.0 for r in rejected),
      f"503s come at once with Retry-After: {rejected}")
text = busy.metrics()
check(metric_value(text, "fovea_requests_total", endpoint="classify", code="503") == 3
      and metric_value(text, "fovea_requests_rejected_total", model="tiny") == 3,
      "refusals are counted")
check(busy.stop() == 0, "the second server stops cleanly")
check.finish("test_serve")
