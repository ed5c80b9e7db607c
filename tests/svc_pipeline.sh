#!/usr/bin/env bash
# svc_pipeline.sh - the batch system end to end on the real stack:
# upload through the intake -> two drain workers -> every row done, every
# output decodes, faces changed, the rest of the photo kept, no metadata;
# a worker killed with -9 mid-run, then retry + drain: nothing lost, no
# duplicate rows, outputs identical to the clean run's; RabbitMQ stopped
# during uploads and drains: everything acknowledged ends done; corrupt,
# oversized and damaged (cut short) inputs end rejected with a reason while
# workers go on; with ANON_ACCEPT_DAMAGED=1 the damaged ones end done.
SUITE=svc_pipeline
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/intake_lib.sh"
source "$(dirname "$0")/pipeline_lib.sh"

# ---------------------------------------------------------------- clean run
"$ANONCTL" upload --camera e2e$$-a --json "$TMP/photos" >"$TMP/upload-a.json" 2>&1
[ $? -eq 0 ] && [ "$(rows_of e2e$$-a)" = $N ] && ok upload_accepted || not_ok upload_accepted "$(tail -2 "$TMP/upload-a.json")"
drain 0 & d0=$!
drain 1 & d1=$!
wait $d0; rc0=$?; wait $d1; rc1=$?
[ $rc0 = 0 ] && [ $rc1 = 0 ] && ok two_workers_exit_0_when_idle || not_ok two_workers_exit_0_when_idle "exit $rc0 $rc1"
[ "$(count e2e$$-a done)" = $N ] && ok every_row_done || not_ok every_row_done "$(sql "SELECT status, count(*) FROM images WHERE camera='e2e$$-a' GROUP BY 1")"
unnamed=$(sql "SELECT count(*) FROM images WHERE camera = 'e2e$$-a' AND worker !~ '/[01]$'")
grep -q '"worker":"[^"]*/0"' "$TMP/drain-0.log" && grep -q '"worker":"[^"]*/1"' "$TMP/drain-1.log" && [ "$unnamed" = 0 ] \
    && ok worker_ids_from_completion_index || not_ok worker_ids_from_completion_index "$unnamed rows without a worker id"
status=$("$ANONCTL" status --camera e2e$$-a --json)
[ -n "$status" ] && echo "$status" | jq -e ".total == $N and .by_status.done == $N and .queue.ready == 0" >/dev/null \
    && ok status_counts_match || not_ok status_counts_match "$status"

fetch_outputs e2e$$-a "$TMP/out-a" && ok outputs_downloaded || not_ok outputs_downloaded
sql "SELECT original_name, boxes FROM images WHERE camera = 'e2e$$-a'" >"$TMP/boxes-a"
check outputs_decode_faces_changed_rest_kept /usr/bin/python3 - "$TMP/photos" "$TMP/out-a" "$TMP/boxes-a" <<'PY'
import json, sys
import cv2, numpy as np
src, out, boxes = sys.argv[1:4]
for line in open(boxes):
    name, b = line.rstrip("\n").split("|", 1)
    a = cv2.imread(f"{src}/{name}").astype(np.float32)
    o = cv2.imread(f"{out}/{name}")
    assert o is not None, f"{name}: output does not decode"
    o = o.astype(np.float32)
    assert a.shape == o.shape, name
    faces = json.loads(b)
    assert faces, f"{name}: no faces recorded"
    keep = np.ones(a.shape[:2], bool)
    for f in faces:
        x, y, w, h = f["x"], f["y"], f["w"], f["h"]
        core = np.abs(a[y + h // 4:y + 3 * h // 4, x + w // 4:x + 3 * w // 4] -
                      o[y + h // 4:y + 3 * h // 4, x + w // 4:x + 3 * w // 4]).mean()
        assert core > 4, f"{name}: face at {x},{y} barely changed ({core:.1f})"
        cx, cy = x + w / 2, y + h / 2
        keep[max(int(cy - h), 0):int(cy + h), max(int(cx - w), 0):int(cx + w)] = False
    rest = np.abs(a - o)[keep].mean()
    assert rest < 3, f"{name}: pixels away from faces changed by {rest:.2f}"
PY
check outputs_have_no_metadata /usr/bin/python3 - "$TMP/out-a" <<'PY'
import os, sys
for name in os.listdir(sys.argv[1]):
    d = open(os.path.join(sys.argv[1], name), "rb").read()
    i = 2
    while i + 4 <= len(d) and d[i] == 0xFF and d[i + 1] != 0xDA:
        assert d[i + 1] not in (0xE1, 0xED, 0xFE), f"{name}: marker {d[i + 1]:#x}"
        i += 2 + int.from_bytes(d[i + 2:i + 4], "big")
PY

# ---------------------------------------------------------------- kill -9 a worker
"$ANONCTL" upload --camera e2e$$-b "$TMP/photos" >/dev/null 2>&1
JOB_COMPLETION_INDEX=0 "$ANONCTL" drain --idle-exit 30 >"$TMP/victim.log" 2>&1 & victim=$!
for _ in $(seq 1 600); do
    grep -q '"outcome":"done"' "$TMP/victim.log" && break
    sleep 0.1
done
sleep 0.5   # let it be inside the next image
kill -9 $victim; wait $victim 2>/dev/null
in_flight=$(sql "SELECT count(*) FROM images WHERE camera = 'e2e$$-b' AND status <> 'done'")
[ "$in_flight" -gt 0 ] && ok killed_mid_run || not_ok killed_mid_run "all done before the kill"
sleep 1
"$ANONCTL" retry --processing-age 1 --received-age 1 --queued-age 1 >"$TMP/retry.log" 2>&1 \
    && ok retry_after_kill || not_ok retry_after_kill "$(cat "$TMP/retry.log")"
drain 2
[ "$(count e2e$$-b done)" = $N ] && ok kill9_nothing_lost || not_ok kill9_nothing_lost "$(sql "SELECT status, count(*) FROM images WHERE camera='e2e$$-b' GROUP BY 1")"
[ "$(rows_of e2e$$-b)" = $N ] && ok kill9_no_duplicate_rows || not_ok kill9_no_duplicate_rows "$(rows_of e2e$$-b) rows"
fetch_outputs e2e$$-b "$TMP/out-b"
if [ "$(cd "$TMP/out-a" && sha256sum * )" = "$(cd "$TMP/out-b" && sha256sum *)" ]; then
    ok kill9_outputs_identical_to_clean_run
else
    not_ok kill9_outputs_identical_to_clean_run
fi
[ "$(sql "SELECT max(attempts) FROM images WHERE camera = 'e2e$$-b'")" -ge 1 ] && ok attempts_counted || not_ok attempts_counted

# ---------------------------------------------------------------- RabbitMQ down mid-run
mkdir -p "$TMP/photos-c"
for i in 1 2 3 4 5 6; do    # distinct bytes: a comment appended after EOI
    { cat "$DEMO/sample$i.jpg"; printf 'e2e$$-c %s' "$i"; } >"$TMP/photos-c/c$i.jpg"
done
drain 3 & dc=$!
"$ANONCTL" upload --camera e2e$$-c --jobs 2 "$TMP/photos-c" >"$TMP/upload-c1.log" 2>&1 & up=$!
sleep 0.3
"$ROOT/scripts/stack" stop rabbitmq >/dev/null 2>&1
sleep 2
"$ROOT/scripts/stack" start rabbitmq >/dev/null 2>&1
wait $up
wait $dc
# The user's recovery: rerun the upload (idempotent), run retry, drain.
"$ANONCTL" upload --camera e2e$$-c "$TMP/photos-c" >"$TMP/upload-c2.log" 2>&1 \
    && ok upload_rerun_after_outage || not_ok upload_rerun_after_outage "$(tail -3 "$TMP/upload-c2.log")"
"$ANONCTL" retry --received-age 1 --queued-age 1 --processing-age 1 >/dev/null 2>&1
drain 4
[ "$(count e2e$$-c done)" = 6 ] && [ "$(rows_of e2e$$-c)" = 6 ] && ok broker_outage_everything_done \
    || not_ok broker_outage_everything_done "$(sql "SELECT status, count(*) FROM images WHERE camera='e2e$$-c' GROUP BY 1")"

# ---------------------------------------------------------------- bad inputs
mkdir -p "$TMP/bad"
/usr/bin/python3 - "$TMP/bad" "$DEMO/sample1.jpg" <<'PY'
import struct, sys, zlib
import cv2, numpy as np
out, good = sys.argv[1:3]
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
# A PNG whose header is fine and whose pixel data is garbage.
ihdr = struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0)
open(f"{out}/corrupt.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                                       chunk(b"IDAT", b"not zlib at all" * 8) + chunk(b"IEND", b""))
# 3000x2000 = 6 MP: over the workers' limit below, under the intake's.
big = np.full((2000, 3000, 3), 128, np.uint8)
cv2.imwrite(f"{out}/oversized.jpg", big, [cv2.IMWRITE_JPEG_QUALITY, 50])
# Photos cut short (damaged: the decoders recover their top part only).
jpg = open(good, "rb").read()
open(f"{out}/cut.jpg", "wb").write(jpg[: len(jpg) // 2])
png = cv2.imencode(".png", cv2.imread(good))[1].tobytes()
open(f"{out}/cut.png", "wb").write(png[: len(png) // 2])
PY
cp "$DEMO/sample2.jpg" "$TMP/bad/good.jpg"
"$ANONCTL" upload --camera e2e$$-d "$TMP/bad" >/dev/null 2>&1
ANON_MAX_PIXELS=4000000 drain 5
[ "$(count e2e$$-d rejected)" = 4 ] && [ "$(count e2e$$-d done)" = 1 ] && ok bad_inputs_rejected_good_done \
    || not_ok bad_inputs_rejected_good_done "$(sql "SELECT original_name, status, error FROM images WHERE camera='e2e$$-d'")"
reasons=$(sql "SELECT original_name || ': ' || error FROM images WHERE camera = 'e2e$$-d' AND status = 'rejected' ORDER BY 1")
echo "$reasons" | grep -q 'corrupt.png: ..*' && echo "$reasons" | grep -qi 'oversized.jpg: .*pixels' \
    && ok rejections_have_readable_reasons || not_ok rejections_have_readable_reasons "$reasons"
# Damaged photos fail closed: rejected at once (no retry) naming the damage.
echo "$reasons" | grep -q '^cut.jpg: damaged JPEG: Premature end' && echo "$reasons" | grep -q '^cut.png: damaged PNG: ' \
    && [ "$(sql "SELECT max(attempts) FROM images WHERE camera = 'e2e$$-d' AND original_name LIKE 'cut.%'")" = 1 ] \
    && ok damaged_rejected_with_reason || not_ok damaged_rejected_with_reason "$reasons"
# With ANON_ACCEPT_DAMAGED=1 on the worker the same photos end done, the
# damage accepted in the job's log line.
mkdir -p "$TMP/cut" && cp "$TMP/bad"/cut.* "$TMP/cut/"
"$ANONCTL" upload --camera e2e$$-e "$TMP/cut" >/dev/null 2>&1
ANON_ACCEPT_DAMAGED=1 drain 6
[ "$(count e2e$$-e done)" = 2 ] && ok damaged_accepted_done \
    || not_ok damaged_accepted_done "$(sql "SELECT original_name, status, error FROM images WHERE camera='e2e$$-e'")"
[ "$(grep '"event":"job"' "$TMP/drain-6.log" | jq -s '[.[] | select(.outcome == "done" and (.warnings | length) > 0 and .covered.h > 0)] | length')" = 2 ] \
    && ok damaged_accepted_warnings_logged || not_ok damaged_accepted_warnings_logged "$(grep '"event":"job"' "$TMP/drain-6.log")"
"$ANONCTL" get "$(sql "SELECT id FROM images WHERE camera = 'e2e$$-d' AND original_name = 'corrupt.png'")" -o "$TMP/x.png" >/dev/null 2>&1
[ $? = 1 ] && [ ! -e "$TMP/x.png" ] && ok get_of_rejected_gives_nothing || not_ok get_of_rejected_gives_nothing

# Sanitizers stayed quiet in every worker.
! grep -l 'runtime error\|AddressSanitizer\|LeakSanitizer' "$TMP"/drain-*.log "$TMP/victim.log" >/dev/null 2>&1 \
    && ok workers_sanitizer_clean || not_ok workers_sanitizer_clean
