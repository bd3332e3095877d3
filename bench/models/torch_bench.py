#!/usr/bin/python3
"""Times PyTorch (CPU, eager) on a torchvision model saved by export_models.py:

    torch_bench.py --model resnet50 --state DIR/resnet50.pt --batch 1 --threads 1 --iters 20

prints "median_ms=… iters=… threads=…" like classify --bench: eval(), inference_mode(),
torch.set_num_threads(THREADS), one warm-up forward, then ITERS timed forwards.
"""

import argparse
import os
import sys
import time

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)), "weights_tools"))
from torchvision_models import build_model  # noqa: E402


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--state", required=True)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--size", type=int, default=224)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    model = build_model(args.model, 1000)
    model.load_state_dict(torch.load(args.state, map_location="cpu"))
    model.eval()
    x = torch.rand(args.batch, 3, args.size, args.size) * 2 - 1
    times = []
    with torch.inference_mode():
        model(x)  # warm-up
        for _ in range(args.iters):
            start = time.perf_counter()
            model(x)
            times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    print(f"median_ms={times[len(times) // 2]:.2f} iters={args.iters} "
          f"threads={torch.get_num_threads()} torch={torch.__version__}")


if __name__ == "__main__":
    main()
