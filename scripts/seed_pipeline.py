#!/usr/bin/python3
"""The anchor for `make bench`: the usual Python + OpenCV face-blur script.

imread -> OpenCV DNN forward of the converted tiny face model at 416 ->
decode + NMS -> medianBlur over each box -> imwrite. This is what users
would write instead of anon, so benchmarks run it side by side with
`anonctl blur` on the same photos in the same run.

usage: seed_pipeline.py [--boxes FILE] MODEL_DIR OUTDIR PHOTO...
(prints one JSON line; --boxes also writes each photo's boxes to FILE as
JSON lines {"path", "faces": [{x, y, w, h, score}]}, so that
scripts/eval-detection's scorer can compare its recall with anonctl's)
"""
import json
import os
import sys
import time

import cv2
import numpy as np

ANCHORS = [(1.603231, 2.094468), (6.041143, 7.080126), (2.882459, 3.518061),
           (4.266906, 5.178857), (9.041765, 10.66308)]
MEAN_RGB = (117.001, 114.697, 97.404)
SIZE = 416


def detect(net, img, thresh=0.5):
    h, w = img.shape[:2]
    blob = cv2.dnn.blobFromImage(img, 1 / 255.0, (SIZE, SIZE), MEAN_RGB, swapRB=True)
    net.setInput(blob)
    out = net.forward()[0]                      # 25 x 13 x 13
    grid = out.shape[1]
    out = out.reshape(5, 5, grid, grid)         # anchor, (x y w h score), row, col
    boxes, scores = [], []
    sig = lambda v: 1 / (1 + np.exp(-v))
    for a, (aw, ah) in enumerate(ANCHORS):
        score = sig(out[a, 4])
        for r, c in zip(*np.nonzero(score > thresh)):
            cx = (c + sig(out[a, 0, r, c])) / grid
            cy = (r + sig(out[a, 1, r, c])) / grid
            bw = np.exp(out[a, 2, r, c]) * aw / grid
            bh = np.exp(out[a, 3, r, c]) * ah / grid
            boxes.append([int((cx - bw / 2) * w), int((cy - bh / 2) * h),
                          int(bw * w), int(bh * h)])
            scores.append(float(score[r, c]))
    keep = cv2.dnn.NMSBoxes(boxes, scores, thresh, 0.4) if boxes else []
    return [boxes[i] + [scores[i]] for i in np.array(keep).flatten()]


def blur_boxes(img, boxes):
    h, w = img.shape[:2]
    for x, y, bw, bh, _ in boxes:
        x0, y0, x1, y1 = max(x, 0), max(y, 0), min(x + bw, w), min(y + bh, h)
        if x1 - x0 > 2 and y1 - y0 > 2:
            k = max(3, (min(x1 - x0, y1 - y0) // 4) | 1)
            img[y0:y1, x0:x1] = cv2.medianBlur(img[y0:y1, x0:x1], k)


def main():
    args = sys.argv[1:]
    boxes_out = None
    if args[:1] == ["--boxes"]:
        boxes_out = open(args[1], "w")
        args = args[2:]
    model_dir, outdir, photos = args[0], args[1], args[2:]
    cv2.setNumThreads(1)
    start = time.monotonic()
    net = cv2.dnn.readNetFromDarknet(os.path.join(model_dir, "tiny.cfg"),
                                     os.path.join(model_dir, "tiny.weights"))
    faces = 0
    for path in photos:
        img = cv2.imread(path)
        boxes = detect(net, img)
        faces += len(boxes)
        if boxes_out:
            boxes_out.write(json.dumps({"path": path, "faces": [
                {"x": x, "y": y, "w": w, "h": h, "score": sc} for x, y, w, h, sc in boxes]}) + "\n")
        blur_boxes(img, boxes)
        cv2.imwrite(os.path.join(outdir, os.path.basename(path)), img)
    secs = time.monotonic() - start
    if boxes_out:
        boxes_out.close()
    print(json.dumps({"images": len(photos), "faces": faces, "seconds": secs,
                      "images_per_s": len(photos) / secs}))


if __name__ == "__main__":
    main()
