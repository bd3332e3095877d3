"""Starts fovea_serve on a free loopback port and talks to it over HTTP (standard library only),
for the server's integration and hostile-traffic tests."""
import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time


class Server:
    def __init__(self, binary, args, log_path):
        self.log = open(log_path, "w+")
        self.proc = subprocess.Popen([binary, "--port", "0"] + args, stdout=subprocess.PIPE,
                                     stderr=self.log, text=True)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            self.proc.kill()
            raise RuntimeError(f"fovea_serve did not start: {line!r}\n{self.read_log()}")
        self.port = int(line.rsplit(":", 1)[1])
        self.wait_ready()

    def wait_ready(self, seconds=120):
        deadline = time.time() + seconds
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"fovea_serve exited with {self.proc.returncode}\n"
                                   f"{self.read_log()}")
            try:
                status, _, _ = self.request("GET", "/v2/health/ready")
                if status == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise RuntimeError("fovea_serve was not ready in time\n" + self.read_log())

    def request(self, method, path, body=None, headers=None, timeout=60):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            conn.close()

    def json(self, method, path, body=None, headers=None):
        status, response_headers, data = self.request(method, path, body, headers)
        return status, response_headers, json.loads(data) if data else None

    def metrics(self):
        status, _, data = self.request("GET", "/metrics")
        assert status == 200, status
        return data.decode()

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self, timeout=60):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            raise

    def read_log(self):
        self.log.flush()
        with open(self.log.name) as f:
            return f.read()


def metric_value(text, name, **labels):
    """The value of one sample of /metrics (0 if absent): labels must all match."""
    total = None
    for line in text.splitlines():
        if line.startswith("#") or not line.startswith(name):
            continue
        head, value = line.rsplit(" ", 1)
        metric = head.split("{", 1)[0]
        if metric != name:
            continue
        found = dict(p.split("=", 1) for p in head[len(name) + 1:-1].split(",")) if "{" in head else {}
        found = {k: v.strip('"') for k, v in found.items()}
        if all(found.get(k) == str(v) for k, v in labels.items()):
            total = (total or 0) + float(value)
    return total or 0


class Check:
    """Counts failed expectations, so one run reports every problem."""

    def __init__(self):
        self.failures = 0
        self.passed = 0

    def __call__(self, condition, what):
        if condition:
            self.passed += 1
        else:
            self.failures += 1
            print(f"FAILED: {what}", flush=True)

    def finish(self, name):
        print(f"{name}: {self.passed} checks passed, {self.failures} failed", flush=True)
        sys.exit(1 if self.failures else 0)


def parallel(count, fn):
    """Runs fn(i) on `count` threads; returns the results in order."""
    results = [None] * count

    def run(i):
        try:
            results[i] = fn(i)
        except Exception as e:  # the test reports it as a result
            results[i] = e

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results
