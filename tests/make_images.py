#!/usr/bin/python3
"""make_images.py - generated test photos for the intake tests and benchmark.

    tests/make_images.py OUTDIR COUNT [--kb KB] [--png] [--prefix NAME]

Writes COUNT distinct images of about KB kilobytes (default 200): one
noise-and-gradient picture sized to the target, then COUNT variants that
differ by a few bytes after the end-of-image marker, which every decoder
ignores - so every file has its own SHA-256 (no deduplication) at no extra
encoding cost. Needs Debian's python3-opencv (run with /usr/bin/python3).
"""
import argparse
import os

import cv2
import numpy as np


def picture(width, height, seed):
    rng = np.random.default_rng(seed)
    noise = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    ramp = np.linspace(0, 255, width, dtype=np.float32)[None, :, None]
    return (0.7 * noise + 0.3 * ramp).astype(np.uint8)


def encode(img, png):
    ok, data = cv2.imencode(".png" if png else ".jpg", img,
                            [] if png else [cv2.IMWRITE_JPEG_QUALITY, 92])
    assert ok
    return data.tobytes()


def sized(kb, png, seed):
    """Scales a 4:3 picture until its encoding is within 10% of kb."""
    width = 320
    for _ in range(12):
        data = encode(picture(width, width * 3 // 4, seed), png)
        ratio = kb * 1024 / len(data)
        if 0.9 < ratio < 1.1:
            break
        width = max(16, int(width * ratio ** 0.5))
    return data


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("count", type=int)
    ap.add_argument("--kb", type=int, default=200)
    ap.add_argument("--png", action="store_true")
    ap.add_argument("--prefix", default="img")
    ap.add_argument("--seed", type=int, default=7)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    base = sized(a.kb, a.png, a.seed)
    ext = "png" if a.png else "jpg"
    for i in range(a.count):
        suffix = f"{a.prefix}-{a.seed}-{i:08d}".encode()
        with open(os.path.join(a.outdir, f"{a.prefix}-{i:05d}.{ext}"), "wb") as f:
            f.write(base + suffix)


if __name__ == "__main__":
    main()
