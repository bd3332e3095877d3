"""Writes the reference data that test_image_pil_parity.cpp compares fovea's image pipeline to.

Usage: make_pil_fixtures.py OUT_DIR GOLDFISH_JPEG

Everything here is computed by Pillow and torchvision (Debian's /usr/bin/python3), so the C++
test measures fovea against the libraries the ImageNet models were evaluated with:
  resize_<name>_{in,out}.npy     random uint8 images and Pillow's BILINEAR resize of them
  resize_cases.txt               one line per case: name in_h in_w out_h out_w
  random.png, random_rgb.npy     a random image as PNG and its pixels
  random_torchvision.npy         torchvision's ImageNet transform of random.png, (3, 224, 224)
  random_caffe.npy               Keras' caffe recipe (BGR minus mean) after Resize+CenterCrop
  goldfish_rgb.npy               Pillow's (libjpeg) decoding of the goldfish JPEG
  goldfish_torchvision.npy       torchvision's ImageNet transform of it, (3, 224, 224)
"""
import os
import sys

import numpy as np
import torchvision.transforms as T
from PIL import Image

RESIZE_CASES = [
    # name, in_h, in_w, out_h, out_w
    ("halve", 32, 48, 16, 24),
    ("odd_shrink", 37, 53, 11, 17),
    ("enlarge", 20, 30, 45, 61),
    ("width_only", 64, 40, 64, 23),
    ("height_only", 30, 30, 7, 30),
    ("mixed", 13, 17, 100, 3),
    ("imagenet_short_side", 375, 500, 256, 341),
    ("strong_shrink", 480, 640, 60, 37),
]

IMAGENET = T.Compose([
    T.Resize(256),
    T.CenterCrop(224),
    T.ToTensor(),
    T.Normalize(mean=[0.485, 0.456, 0.406], std=[0.229, 0.224, 0.225]),
])


def caffe(img):
    cropped = T.CenterCrop(224)(T.Resize(256)(img))
    bgr = np.asarray(cropped, dtype=np.float32)[..., ::-1]
    mean = np.array([103.939, 116.779, 123.68], dtype=np.float32)
    return np.ascontiguousarray((bgr - mean).transpose(2, 0, 1))


def main():
    out_dir, goldfish = sys.argv[1], sys.argv[2]
    os.makedirs(out_dir, exist_ok=True)
    rng = np.random.RandomState(2024)

    with open(os.path.join(out_dir, "resize_cases.txt"), "w") as manifest:
        for name, in_h, in_w, out_h, out_w in RESIZE_CASES:
            # Smooth gradients plus noise: flat regions and sharp edges both get exercised.
            yy, xx = np.mgrid[0:in_h, 0:in_w]
            base = np.stack([255 * xx / max(in_w - 1, 1), 255 * yy / max(in_h - 1, 1),
                             127 + 0 * xx], axis=-1)
            noise = rng.randint(-60, 61, size=(in_h, in_w, 3))
            pixels = np.clip(base + noise, 0, 255).astype(np.uint8)
            resized = np.asarray(Image.fromarray(pixels).resize((out_w, out_h), Image.BILINEAR))
            np.save(os.path.join(out_dir, f"resize_{name}_in.npy"), pixels)
            np.save(os.path.join(out_dir, f"resize_{name}_out.npy"), resized)
            manifest.write(f"{name} {in_h} {in_w} {out_h} {out_w}\n")

    random_rgb = rng.randint(0, 256, size=(300, 451, 3)).astype(np.uint8)
    Image.fromarray(random_rgb).save(os.path.join(out_dir, "random.png"))
    img = Image.open(os.path.join(out_dir, "random.png")).convert("RGB")
    np.save(os.path.join(out_dir, "random_rgb.npy"), random_rgb)
    np.save(os.path.join(out_dir, "random_torchvision.npy"), IMAGENET(img).numpy())
    np.save(os.path.join(out_dir, "random_caffe.npy"), caffe(img))

    img = Image.open(goldfish).convert("RGB")
    np.save(os.path.join(out_dir, "goldfish_rgb.npy"), np.asarray(img))
    np.save(os.path.join(out_dir, "goldfish_torchvision.npy"), IMAGENET(img).numpy())


if __name__ == "__main__":
    main()
