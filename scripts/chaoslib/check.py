"""check.py - what the chaos campaign verifies at the end, from outside the
programs: the images table (psql), both buckets (botocore: ListObjectsV2,
GetObject) and both queues (RabbitMQ's management API), against the photo
files and the answers the uploaders got.

For every photo that got a 2xx: exactly one row, with the id every 2xx
named; the row `done`, or `rejected` with a reason for a bad input (a
damaged one, cut short or from the corpus's recover-* files but
recover-zero-quant, always `rejected`: the workers run without
ANON_ACCEPT_DAMAGED, so damaged photos fail closed); a done
image has exactly one output object, which decodes, has the original's
size, differs from the original inside every face box the worker recorded,
and is identical to it everywhere else but the blocks the masks touch
(JPEG: the block-wise writer keeps every other 8x8/16x16 block's
coefficients, so decoded pixels are bit-identical; PNG: lossless). No
object in either bucket without its row (orphans), no output for a rejected
image, no row for bytes nobody sent, and no message left in the queue or
the dead-letter queue unless its image is finished. Originals follow the
default retention (0): once a final `anonctl purge` has run, as the retry
CronJob runs it, no finished image's original is left in the input bucket
and each row records that it was deleted; an unfinished image's original
is always there.
"""
import hashlib
import json
import math
import os

import botocore.config
import botocore.session
import cv2
import numpy as np

from chaoslib.system import mgmt, psql

MASK_SCALE = 1.3          # src/redact/blur.c: DEFAULT_MASK_SCALE
FEATHER = (0.15, 2, 16)   # FEATHER_FRACTION, FEATHER_MIN, FEATHER_MAX
MCU = 16                  # the largest JPEG block the writer rewrites
FACE_CHANGE_MIN = 2.0     # mean |original - output| over a face box's core


def damaged(photo):
    """Whether a bad input is damaged in a way the decoders always report
    (the manifest says: chaoslib/photos.py)."""
    return photo["kind"] == "bad" and photo.get("damaged", False)


class Checks:
    def __init__(self):
        self.results = []          # (name, passed, detail)

    def add(self, name, failures, total_what=""):
        detail = "; ".join(failures[:5]) + (f" (+{len(failures) - 5} more)" if len(failures) > 5 else "")
        self.results.append((name, not failures, detail or total_what))

    def passed(self):
        return all(ok for _, ok, _ in self.results)


def s3_client(env):
    session = botocore.session.get_session()
    return session.create_client(
        "s3", endpoint_url=env["ANON_S3_ENDPOINT"], region_name=env["ANON_S3_REGION"],
        aws_access_key_id=env["ANON_S3_ACCESS_KEY"], aws_secret_access_key=env["ANON_S3_SECRET_KEY"],
        config=botocore.config.Config(s3={"addressing_style": "path"}, signature_version="s3v4",
                                      retries={"max_attempts": 5}))


def list_bucket(s3, bucket):
    objects = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        for o in page.get("Contents", []):
            objects[o["Key"]] = o["ETag"].strip('"')
    return objects


def load_rows(env):
    out = psql(env, "SELECT coalesce(json_agg(t ORDER BY id), '[]') FROM (SELECT id, camera, sha256,"
                    " status, attempts, faces, boxes, error, input_key, output_key, worker,"
                    " extract(epoch from created_at) AS created,"
                    " extract(epoch from finished_at) AS finished,"
                    " original_deleted_at IS NOT NULL AS original_deleted FROM images) t",
               timeout=120)
    if out is None:
        raise RuntimeError("cannot read the images table")
    return json.loads(out)


def decode(data):
    """cv2's decode, with libjpeg's warnings about damaged inputs kept off
    the campaign's output."""
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def mask_region(box, shape, jpeg):
    """The pixels the worker may have changed for one recorded box: the
    mask's reach (the box enlarged by MASK_SCALE plus the soft edge; the
    recorded box is rounded down to whole pixels, hence the slack), for JPEG
    widened to whole blocks plus one block, since chroma upsampling blends
    each pixel with the neighbouring block's samples."""
    H, W = shape[:2]
    x, y, w, h = box["x"], box["y"], box["w"], box["h"]
    cx, cy = x + (w + 1) / 2, y + (h + 1) / 2
    rx, ry = (w + 1) * MASK_SCALE / 2, (h + 1) * MASK_SCALE / 2
    feather = min(max(FEATHER[0] * min(rx, ry), FEATHER[1]), FEATHER[2])
    x0, x1 = math.floor(cx - rx - feather) - 2, math.ceil(cx + rx + feather) + 2
    y0, y1 = math.floor(cy - ry - feather) - 2, math.ceil(cy + ry + feather) + 2
    if jpeg:
        x0, y0 = (x0 // MCU - 1) * MCU, (y0 // MCU - 1) * MCU
        x1, y1 = (-(-x1 // MCU) + 1) * MCU, (-(-y1 // MCU) + 1) * MCU
    return max(x0, 0), max(y0, 0), min(x1, W), min(y1, H)


def check_output(photo, row, data, stats):
    """Returns the problems of one done image's output (empty: fine)."""
    out = decode(data)
    if out is None:
        return ["output does not decode"]
    original = decode(open(photo["path"], "rb").read())
    if original is None:
        return []                  # a bad input cv2 cannot read: decoding the output is all
    if original.shape != out.shape:
        return [f"output is {out.shape[1]}x{out.shape[0]}, original "
                f"{original.shape[1]}x{original.shape[0]}"]
    problems = []
    diff = np.abs(original.astype(np.int16) - out.astype(np.int16)).max(axis=2)
    jpeg = photo["name"].endswith(".jpg")
    allowed = np.zeros(diff.shape, bool)
    for b in row["boxes"] or []:
        x0, y0, x1, y1 = mask_region(b, diff.shape, jpeg)
        allowed[y0:y1, x0:x1] = True
        cx0, cy0 = max(b["x"] + b["w"] // 4, 0), max(b["y"] + b["h"] // 4, 0)
        core = np.abs(original[cy0:b["y"] + 3 * b["h"] // 4, cx0:b["x"] + 3 * b["w"] // 4]
                      .astype(np.int16) - out[cy0:b["y"] + 3 * b["h"] // 4,
                                              cx0:b["x"] + 3 * b["w"] // 4].astype(np.int16))
        if core.size == 0:
            continue
        change = float(core.mean())
        stats["min_face_change"] = min(stats.get("min_face_change", 1e9), change)
        if change < FACE_CHANGE_MIN:
            problems.append(f"face at {b['x']},{b['y']} {b['w']}x{b['h']} unchanged "
                            f"(mean difference {change:.2f})")
    if photo["kind"] != "bad":     # a damaged file decodes differently in each decoder
        outside = diff[~allowed]
        changed = int((outside > 0).sum())
        if changed:
            problems.append(f"{changed} pixels changed outside the masks' blocks "
                            f"(largest difference {int(outside.max())})")
    return problems


def run(env, stack, manifest, queue_name):
    """Returns (checks, counts) where counts feed the campaign's table."""
    checks = Checks()
    rows = load_rows(env)
    by_sha = {}
    for r in rows:
        by_sha.setdefault(r["sha256"], []).append(r)
    s3 = s3_client(env)
    inputs = list_bucket(s3, env["ANON_INPUT_BUCKET"])
    outputs = list_bucket(s3, env["ANON_OUTPUT_BUCKET"])
    accepted = [p for p in manifest if p["accepted_at"] is not None]
    counts = {"sent": len(manifest), "accepted": len(accepted), "done": 0, "rejected": 0,
              "lost": 0, "duplicated": 0, "refused": sum(p["refused"] is not None for p in manifest),
              "never_accepted": [p["name"] for p in manifest
                                 if p["accepted_at"] is None and p["refused"] is None]}
    one_row, finished, good_done, reasons, outputs_ok, faces_ok, rest_ok = ([] for _ in range(7))
    damaged_done = []
    no_output_rejected, lost, dups, stats = [], [], [], {}
    longest = (0.0, None)
    for p in accepted:
        mine = by_sha.get(p["sha256"], [])
        name = f"{p['name']} ({p['via']}, {p['camera']})"
        if len(mine) != 1 or {r["id"] for r in mine} != p["ids"]:
            one_row.append(f"{name}: {len(mine)} rows {[r['id'] for r in mine]}, "
                           f"2xx named {sorted(map(str, p['ids']))}")
            (dups if len(mine) > 1 or len(p["ids"]) > 1 else lost).append(name)
            continue
        r = mine[0]
        if r["camera"] != p["camera"]:
            one_row.append(f"{name}: row has camera {r['camera']}")
        if r["status"] not in ("done", "rejected"):
            finished.append(f"{name}: row {r['id']} still {r['status']} after {r['attempts']} "
                            f"attempts ({r['error']})")
            lost.append(name)
            continue
        if r["finished"] and r["created"]:
            wait = r["finished"] - r["created"]
            if wait > longest[0]:
                longest = (wait, f"{p['name']} (row {r['id']}, {r['attempts']} attempts)")
        if r["status"] == "rejected":
            counts["rejected"] += 1
            if p["kind"] != "bad":
                good_done.append(f"{name}: row {r['id']} rejected: {r['error']}")
                lost.append(name)
            if not r["error"]:
                reasons.append(f"{name}: row {r['id']} rejected without a reason")
            if r["output_key"] in outputs or r["input_key"] in outputs:
                no_output_rejected.append(f"{name}: rejected row {r['id']} has an output object")
            continue
        counts["done"] += 1
        if damaged(p):
            damaged_done.append(f"{name}: row {r['id']} done ({p['note']})")
        key = r["output_key"]
        if key not in outputs:
            outputs_ok.append(f"{name}: row {r['id']} done, no output object {key}")
            lost.append(name)
            continue
        prefix = p["camera"] + "/" + p["sha256"]
        extra = [k for k in outputs if k.startswith(prefix) and k != key]
        if extra:
            dups.append(name)
            outputs_ok.append(f"{name}: more than one output object: {[key] + extra}")
        data = s3.get_object(Bucket=env["ANON_OUTPUT_BUCKET"], Key=key)["Body"].read()
        for problem in check_output(p, r, data, stats):
            (faces_ok if "face" in problem else rest_ok if "outside" in problem
             else outputs_ok).append(f"{name}: row {r['id']}: {problem}")
    checks.add("every_accepted_image_has_exactly_one_row", one_row,
               f"{len(accepted)} accepted images, {len(rows)} rows")
    checks.add("every_row_finished", finished)
    refused_good = [f"{p['name']}: refused: {p['refused']}" for p in manifest
                    if p["refused"] is not None and p["kind"] != "bad"]
    checks.add("good_photos_accepted", refused_good)
    checks.add("good_photos_done_bad_inputs_done_or_rejected", good_done)
    checks.add("rejections_have_a_reason", reasons)
    checks.add("damaged_inputs_rejected_not_published", damaged_done)
    checks.add("one_output_per_done_image_and_it_decodes", outputs_ok)
    checks.add("faces_changed_inside_every_recorded_box", faces_ok,
               f"smallest mean change in a face box {stats.get('min_face_change', 0):.1f}")
    checks.add("nothing_changed_outside_the_masks_blocks", rest_ok)
    checks.add("no_output_for_rejected_images", no_output_rejected)
    checks.add("no_duplicate_rows", duplicate_rows(rows, manifest))
    checks.add("no_orphaned_objects", orphans(rows, inputs, outputs, manifest))
    checks.add("originals_of_finished_images_deleted", originals_left(rows, inputs))
    checks.add("queues_empty_or_accounted_for", queue_leftovers(stack, queue_name, rows))
    counts.update(lost=len(set(lost)), duplicated=len(set(dups)), longest_wait=longest)
    return checks, counts


def duplicate_rows(rows, manifest):
    known = {p["sha256"] for p in manifest}
    seen, problems = {}, []
    for r in rows:
        if r["sha256"] not in known:
            problems.append(f"row {r['id']} is for bytes no uploader sent")
        if r["sha256"] in seen:
            problems.append(f"rows {seen[r['sha256']]} and {r['id']} hold the same photo")
        seen.setdefault(r["sha256"], r["id"])
    return problems


def orphans(rows, inputs, outputs, manifest):
    md5 = {p["sha256"]: hashlib.md5(open(p["path"], "rb").read()).hexdigest() for p in manifest}
    in_keys = {r["input_key"]: r for r in rows}
    done_keys = {r["output_key"] for r in rows if r["status"] == "done"}
    problems = [f"input object {k} has no row" for k in inputs if k not in in_keys]
    problems += [f"output object {k} has no done row" for k in outputs if k not in done_keys]
    for k, r in in_keys.items():
        if finished(r):
            continue   # originals_left judges those
        if k not in inputs:
            problems.append(f"row {r['id']}: its original {k} is not in the input bucket")
        elif inputs[k] != md5.get(r["sha256"], inputs[k]):
            problems.append(f"row {r['id']}: the stored original {k} is not the bytes sent")
    return problems


def finished(row):
    return row["status"] in ("done", "rejected")


def originals_left(rows, inputs):
    """With the default retention (0) and a last purge run, the original of
    every finished image is gone from the input bucket and its row says so."""
    problems = []
    for r in rows:
        if not finished(r):
            continue
        if r["input_key"] in inputs:
            problems.append(f"row {r['id']} ({r['status']}): its original {r['input_key']} "
                            f"is still in the input bucket")
        elif not r["original_deleted"]:
            problems.append(f"row {r['id']} ({r['status']}): original gone, but the row does "
                            f"not record its deletion")
    return problems


def queue_leftovers(stack, queue_name, rows):
    """Every message still in the queue or the dead-letter queue must be a
    redundant copy for a finished image; anything else is unaccounted for."""
    status = {r["id"]: r["status"] for r in rows}
    problems = []
    for q in (queue_name, queue_name + ".dead"):
        info = mgmt(stack, f"queues/%2f/{q}")
        if not info.get("messages", 0) and not info.get("messages_unacknowledged", 0):
            continue
        got = mgmt(stack, f"queues/%2f/{q}/get", {"count": 100000, "ackmode": "ack_requeue_true",
                                                 "encoding": "auto", "truncate": 100000})
        for m in got:
            try:
                job_id = json.loads(m["payload"])["id"]
            except (ValueError, KeyError, TypeError):
                problems.append(f"{q}: unreadable message {m['payload'][:60]!r}")
                continue
            if status.get(job_id) not in ("done", "rejected"):
                problems.append(f"{q}: message for image {job_id} ({status.get(job_id, 'no row')})")
    return problems
