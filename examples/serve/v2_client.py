#!/usr/bin/python3
"""A KServe v2 / Open Inference Protocol client for fovea_serve: preprocesses photos as the
model's metadata says (Pillow and NumPy), sends them as one FP32 tensor with Triton's binary
data extension, and prints each photo's top-K, as tritonclient.http would.

    v2_client.py --url http://127.0.0.1:8000 --model resnet50 [--topk 5] [--json] PHOTO...
"""
import argparse
import http.client
import json
import struct
import sys
import urllib.parse

import numpy as np
from PIL import Image


def preprocess(path, recipe):
    """The recipe of fovea's Preprocessing: shorter side to `resize` (Pillow's bilinear), center
    crop, scale, channel order, mean and std; returns (3, H, W) float32."""
    image = Image.open(path).convert("RGB")
    if recipe["resize"] > 0:
        w, h = image.size
        short = recipe["resize"]
        # torchvision's Resize: the longer side is truncated, as int() does.
        size = (short, int(short * h / w)) if w <= h else (int(short * w / h), short)
        if size != image.size:
            image = image.resize(size, Image.BILINEAR)
    if recipe["crop"] > 0:
        w, h = image.size
        c = recipe["crop"]
        left, top = int(round((w - c) / 2.0)), int(round((h - c) / 2.0))
        image = image.crop((left, top, left + c, top + c))
    x = np.asarray(image, dtype=np.float32) * np.float32(recipe["scale"])
    if recipe["channel_order"] == "BGR":
        x = x[:, :, ::-1]
    x = (x - np.array(recipe["mean"], np.float32)) / np.array(recipe["std"], np.float32)
    return np.ascontiguousarray(x.transpose(2, 0, 1), dtype=np.float32)


def call(url, method, path, body=None, headers=None):
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=120)
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    if response.status != 200:
        raise SystemExit(f"v2_client: {method} {path}: HTTP {response.status}: {data[:500]!r}")
    return dict(response.getheaders()), data


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--model", required=True)
    parser.add_argument("--topk", type=int, default=5)
    parser.add_argument("--json", action="store_true", help="one JSON line per photo")
    parser.add_argument("photos", nargs="+")
    args = parser.parse_args()

    _, data = call(args.url, "GET", f"/v2/models/{args.model}")
    metadata = json.loads(data)
    recipe = metadata["parameters"]["preprocessing"]
    batch = np.stack([preprocess(p, recipe) for p in args.photos])
    request = {"inputs": [{"name": metadata["inputs"][0]["name"], "datatype": "FP32",
                           "shape": list(batch.shape),
                           "parameters": {"binary_data_size": batch.nbytes}}],
               "outputs": [{"name": "probabilities", "parameters": {"binary_data": True}}]}
    header = json.dumps(request).encode()
    headers, data = call(args.url, "POST", f"/v2/models/{args.model}/infer",
                         header + batch.tobytes(),
                         {"Inference-Header-Content-Length": str(len(header)),
                          "Content-Type": "application/octet-stream"})
    n = int(headers["Inference-Header-Content-Length"])
    response = json.loads(data[:n])
    output = response["outputs"][0]
    probabilities = np.frombuffer(data[n:n + output["parameters"]["binary_data_size"]],
                                  dtype="<f4").reshape(output["shape"])
    for path, row in zip(args.photos, probabilities):
        best = sorted(range(len(row)), key=lambda c: (-row[c], c))[:args.topk]
        if args.json:
            print(json.dumps({"file": path, "model_version": response["model_version"],
                              "topk": [{"index": c, "probability": float(row[c])}
                                       for c in best]}))
        else:
            print(path)
            for c in best:
                print(f"  {row[c]:6.4f}  {c:4d}")


if __name__ == "__main__":
    main()
