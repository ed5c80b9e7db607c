"""photos.py - the chaos campaign's photo set: N distinct files.

Generated from the demo photos (face-api's sample1..6.jpg): random crops
that hold at least one whole face ("face") or none at all ("noface", away
from the faces face-api found on them: .cache/oracle), resized to 320-800 px
on the long side and re-encoded (JPEG of random quality, some progressive;
some PNG), so that every file has different bytes. A few percent are bad
inputs ("bad"): the damaged and hostile files of scripts/make-bad-inputs and
truncated or corrupted copies of generated photos.
"""
import hashlib
import json
import os
import random
import re
import subprocess

import cv2

LONG_SIDE = (320, 800)
BAD_SHARE = 0.05
NOFACE_SHARE = 0.2
PNG_SHARE = 0.1


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 16), b""):
            h.update(chunk)
    return h.hexdigest()


def load_sources(root):
    """The demo photos with the face boxes face-api found on them."""
    demo = os.path.join(root, ".cache/face-api/package/demo")
    sources = []
    for i in range(1, 7):
        img = cv2.imread(os.path.join(demo, f"sample{i}.jpg"))
        if img is None:
            raise SystemExit(f"chaos: {demo}/sample{i}.jpg is missing: run `make models`")
        oracle = os.path.join(root, ".cache/oracle", f"sample{i}.json")
        faces = []
        if os.path.exists(oracle):
            with open(oracle) as f:
                faces = [(b["x"], b["y"], b["w"], b["h"]) for b in json.load(f)["ssd"]["faces"]]
        sources.append((img, faces))
    return sources


def overlaps(rect, box, grow):
    x, y, w, h = rect
    bx, by, bw, bh = box
    bx, by, bw, bh = bx - bw * grow, by - bh * grow, bw * (1 + 2 * grow), bh * (1 + 2 * grow)
    return x < bx + bw and bx < x + w and y < by + bh and by < y + h


def contains(rect, box):
    x, y, w, h = rect
    bx, by, bw, bh = box
    return x <= bx and y <= by and bx + bw <= x + w and by + bh <= y + h


def random_rect(rng, img, min_side):
    H, W = img.shape[:2]
    w = rng.randint(min_side, W)
    h = min(H, max(min_side, int(w * rng.uniform(0.55, 1.4))))
    return rng.randint(0, W - w), rng.randint(0, H - h), w, h


def crop_with_face(rng, img, faces):
    for _ in range(200):
        rect = random_rect(rng, img, 400)
        if not faces or any(contains(rect, f) for f in faces):
            return rect
    return 0, 0, img.shape[1], img.shape[0]


def crop_without_face(rng, img, faces):
    for _ in range(500):
        rect = random_rect(rng, img, 240)
        if faces and not any(overlaps(rect, f, 0.35) for f in faces):
            return rect
    return None


def encode(rng, img, fmt):
    """Resizes to a random long side and encodes; returns (bytes, note)."""
    H, W = img.shape[:2]
    side = rng.randint(*LONG_SIDE)
    scale = side / max(H, W)
    img = cv2.resize(img, (max(16, round(W * scale)), max(16, round(H * scale))),
                     interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    if fmt == "png":
        ok, buf = cv2.imencode(".png", img, [cv2.IMWRITE_PNG_COMPRESSION, rng.randint(1, 6)])
        return buf.tobytes(), "png"
    quality = rng.randint(60, 95)
    progressive = rng.random() < 0.25
    ok, buf = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, quality,
                                         cv2.IMWRITE_JPEG_PROGRESSIVE, int(progressive)])
    return buf.tobytes(), f"jpeg q{quality}{' progressive' if progressive else ''}"


def corpus(root, work):
    """The damaged files of scripts/make-bad-inputs (generated once per run)."""
    out = os.path.join(work, "bad-corpus")
    if not os.path.isdir(out):
        subprocess.run([os.path.join(root, "scripts/make-bad-inputs"), out], check=True,
                       stdout=subprocess.DEVNULL)
    names = sorted(n for n in os.listdir(out) if n.startswith(("bad-", "recover-")))
    return [(n, open(os.path.join(out, n), "rb").read()) for n in names]


def corpus_damaged(root):
    """The names tests/corpus.h expects to decode with warnings (the one
    list of which bad inputs the decoders report damaged)."""
    with open(os.path.join(root, "tests/corpus.h")) as f:
        return set(re.findall(r'\{"([^"]+)",\s*EXPECT_DAMAGED\b', f.read()))


def damaged(rng, data):
    """A truncated or corrupted copy of a generated JPEG."""
    data = bytearray(data)
    if rng.random() < 0.5:
        return bytes(data[:int(len(data) * rng.uniform(0.3, 0.9))]), "truncated"
    for _ in range(rng.randint(3, 20)):
        i = rng.randint(len(data) // 3, len(data) - 3)
        data[i] = rng.randrange(256)
    return bytes(data), "corrupt entropy data"


def generate(root, work, n, seed):
    """Writes n photos into work/photos; returns the manifest (a list of
    dicts: name, path, kind, note, sha256), also saved as manifest.json."""
    rng = random.Random(seed)
    sources = load_sources(root)
    outdir = os.path.join(work, "photos")
    os.makedirs(outdir, exist_ok=True)
    n_bad = max(3, round(n * BAD_SHARE))
    n_noface = max(2, round(n * NOFACE_SHARE))
    kinds = ["bad"] * n_bad + ["noface"] * n_noface + ["face"] * (n - n_bad - n_noface)
    rng.shuffle(kinds)
    bad_pool = corpus(root, work)
    rng.shuffle(bad_pool)
    reported = corpus_damaged(root)
    seen, manifest = set(), []
    for i, kind in enumerate(kinds):
        while True:
            data, note, ext = make_one(rng, sources, kind, bad_pool)
            digest = hashlib.sha256(data).hexdigest()
            if digest not in seen:
                break
        seen.add(digest)
        name = f"p{i:04d}-{kind}.{ext}"
        path = os.path.join(outdir, name)
        with open(path, "wb") as f:
            f.write(data)
        # damaged: the decoders always report it (cut short, or a corpus file
        # that decodes with warnings), so it must end rejected
        corpus_name = note[len("make-bad-inputs "):] if note.startswith("make-bad-inputs ") else ""
        manifest.append({"name": name, "path": path, "kind": kind, "note": note,
                         "sha256": digest,
                         "damaged": note == "truncated" or corpus_name in reported})
    with open(os.path.join(work, "manifest.json"), "w") as f:
        json.dump(manifest, f, indent=1)
    return manifest


def make_one(rng, sources, kind, bad_pool):
    img, faces = rng.choice(sources)
    if kind == "bad":
        if bad_pool:
            name, data = bad_pool.pop()
            return data, f"make-bad-inputs {name}", name.rsplit(".", 1)[1]
        x, y, w, h = random_rect(rng, img, 400)
        data, _ = encode(rng, img[y:y + h, x:x + w], "jpg")
        data, note = damaged(rng, data)
        return data, note, "jpg"
    rect = crop_with_face(rng, img, faces) if kind == "face" else None
    if kind == "noface":
        for _ in range(20):
            img, faces = rng.choice(sources)
            rect = crop_without_face(rng, img, faces)
            if rect:
                break
        else:
            raise SystemExit("chaos: no face-free crop found (is .cache/oracle there? make oracle)")
    x, y, w, h = rect
    fmt = "png" if rng.random() < PNG_SHARE else "jpg"
    data, note = encode(rng, img[y:y + h, x:x + w], fmt)
    return data, note, fmt
