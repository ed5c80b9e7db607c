#!/usr/bin/env bash
# svc_cli.sh - anonctl's service commands as a user meets them, on the real
# stack: drain's --model/--preset flags and its ISO 8601 log times; list's
# next-page hint keeps the filters, and rejected images show their reason;
# get writes to standard output with -o -, exits 4 when the object store is
# down and refuses a name whose extension is not the image's format;
# status still shows PostgreSQL's counts with RabbitMQ stopped.
SUITE=svc_cli
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/intake_lib.sh"
source "$(dirname "$0")/pipeline_lib.sh"
STACK=$ROOT/scripts/stack
CAM=cli$$
rabbit_stopped=0
trap '[ "$rabbit_stopped" = 1 ] && "$STACK" start rabbitmq >/dev/null 2>&1; cleanup' EXIT

mkdir -p "$TMP/a" "$TMP/b"
cp "$DEMO"/sample{1,2,3}.jpg "$TMP/a/"
/usr/bin/python3 - "$TMP/b" "$DEMO/sample4.jpg" <<'PY'
import struct, sys, zlib
import cv2
out, src = sys.argv[1:3]
cv2.imwrite(f"{out}/photo.png", cv2.resize(cv2.imread(src), (480, 320)))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
ihdr = struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0)
open(f"{out}/corrupt.png", "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                                       chunk(b"IDAT", b"not zlib at all" * 8) + chunk(b"IEND", b""))
PY
"$ANONCTL" upload -q --camera "$CAM-a" "$TMP/a" >/dev/null 2>&1
"$ANONCTL" upload -q --camera "$CAM-b" "$TMP/b" >/dev/null 2>&1

# ---------------------------------------------------------------- drain
# Every log line has the intake's time format; the flags override the
# environment (a second worker, on the queue left empty).
drain 0
log=$TMP/drain-0.log
ANON_MODEL=ssd ANON_PRESET=thorough drain 1 --model tiny --preset fast --idle-exit 1
head -n1 "$TMP/drain-1.log" >"$TMP/start.json"
if json_true "$TMP/start.json" '.event == "start" and .model == "tiny" and .preset == "fast"'; then
    ok drain_model_preset_flags_override_env
else
    not_ok drain_model_preset_flags_override_env "$(cat "$TMP/start.json")"
fi
iso='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}Z$'
intake_time=$(jq -r 'select(.time) | .time' "$INTAKE_LOG" | head -n1)
bad=$(jq -r '.time' "$log" 2>&1 | grep -Evc "$iso")
lines=$(jq -s 'length' "$log" 2>/dev/null)
if [ "$bad" = 0 ] && [ "${lines:-0}" -ge 7 ] && [[ "$intake_time" =~ $iso ]]; then
    ok drain_log_times_iso8601_like_intake
else
    not_ok drain_log_times_iso8601_like_intake "$bad lines off; drain $(jq -r .time "$log" | head -n2 | tr '\n' ' ') intake $intake_time"
fi
[ "$(count "$CAM-a" done)" = 3 ] && [ "$(count "$CAM-b" rejected)" = 1 ] && [ "$(count "$CAM-b" done)" = 1 ] \
    && ok drained || not_ok drained "$(sql "SELECT camera, status, count(*) FROM images WHERE camera LIKE '$CAM-%' GROUP BY 1, 2")"

# ---------------------------------------------------------------- list
"$ANONCTL" list --camera "$CAM-a" --status done --limit 2 >"$TMP/page1" 2>&1
hint=$(tail -n1 "$TMP/page1")
if [[ "$hint" =~ ^more:\ anonctl\ list\ --camera\ $CAM-a\ --status\ done\ --limit\ 2\ --after\ [0-9]+$ ]]; then
    ok list_hint_repeats_filters
else
    not_ok list_hint_repeats_filters "$hint"
fi
# The hint, run as printed, gives the rest of the same selection.
"$BIN/anonctl" ${hint#more: anonctl } >"$TMP/page2" 2>&1
rows=$(grep -c "^[0-9]" "$TMP/page2")
[ "$rows" = 1 ] && ! grep -q '^more:' "$TMP/page2" && ok list_hint_gives_next_page \
    || not_ok list_hint_gives_next_page "$(cat "$TMP/page2")"
"$ANONCTL" list --since 1h --limit 1 | tail -n1 | grep -Eq -- '--since [0-9]+(\.[0-9]+)? --limit 1 --after' \
    && ok list_hint_keeps_since_window || not_ok list_hint_keeps_since_window
"$ANONCTL" list --camera "$CAM-b" --status rejected >"$TMP/rejected"
reason=$(sql "SELECT error FROM images WHERE camera = '$CAM-b' AND status = 'rejected'")
grep -A1 'corrupt.png' "$TMP/rejected" | grep -qF "reason: $reason" && [ -n "$reason" ] \
    && ok list_shows_rejection_reason || not_ok list_shows_rejection_reason "$(cat "$TMP/rejected")"

# ---------------------------------------------------------------- get
jpg=$(sql "SELECT id FROM images WHERE camera = '$CAM-a' ORDER BY id LIMIT 1")
png=$(sql "SELECT id FROM images WHERE camera = '$CAM-b' AND status = 'done'")
mkdir -p "$TMP/get" && cd "$TMP/get"
"$ANONCTL" get "$jpg" -o - >"$TMP/stdout.jpg" 2>"$TMP/get.err"
rc=$?
"$ANONCTL" get "$jpg" -o "$TMP/file.jpg" >/dev/null 2>&1
[ $rc = 0 ] && [ ! -e "$TMP/get/-" ] && [ -s "$TMP/stdout.jpg" ] && cmp -s "$TMP/stdout.jpg" "$TMP/file.jpg" \
    && ok get_dash_writes_stdout || not_ok get_dash_writes_stdout "exit $rc: $(cat "$TMP/get.err") $(ls "$TMP/get")"
"$ANONCTL" get "$png" -o "$TMP/get/wrong.jpg" >/dev/null 2>"$TMP/wrong.err"
rc=$?
[ $rc = 2 ] && [ ! -e "$TMP/get/wrong.jpg" ] && grep -q 'PNG' "$TMP/wrong.err" \
    && ok get_png_to_jpg_name_refused || not_ok get_png_to_jpg_name_refused "exit $rc: $(cat "$TMP/wrong.err")"
"$ANONCTL" get "$png" -o "$TMP/get/right.png" >/dev/null 2>&1
[ $? = 0 ] && [ "$(head -c 4 "$TMP/get/right.png" | od -An -c | tr -d ' ')" = '211PNG' ] \
    && ok get_png_to_png_name || not_ok get_png_to_png_name
cd "$ROOT"
ANON_S3_ENDPOINT=http://127.0.0.1:1 "$ANONCTL" get "$jpg" -o "$TMP/down.jpg" >/dev/null 2>"$TMP/down.err"
rc=$?
[ $rc = 4 ] && [ ! -e "$TMP/down.jpg" ] && ok get_s3_down_exit_4 || not_ok get_s3_down_exit_4 "exit $rc: $(cat "$TMP/down.err")"

# ---------------------------------------------------------------- status without RabbitMQ
if "$STACK" stop rabbitmq >/dev/null 2>&1; then
    rabbit_stopped=1
    start=$SECONDS
    "$ANONCTL" status --camera "$CAM-a" --json >"$TMP/status.json" 2>"$TMP/status.err"
    rc=$?
    if [ $rc = 4 ] && json_true "$TMP/status.json" '.total == 3 and .by_status.done == 3 and
                                  .queue.available == false and (.queue.error | length > 0)'; then
        ok status_without_rabbitmq_shows_counts
    else
        not_ok status_without_rabbitmq_shows_counts "exit $rc: $(cat "$TMP/status.json" "$TMP/status.err")"
    fi
    [ $((SECONDS - start)) -le 10 ] && ok status_without_rabbitmq_answers_promptly \
        || not_ok status_without_rabbitmq_answers_promptly "$((SECONDS - start)) s"
    "$ANONCTL" status --camera "$CAM-a" >"$TMP/status.txt" 2>/dev/null
    rc=$?
    [ $rc = 4 ] && grep -q '^  done  *3$' "$TMP/status.txt" && grep -q "^queue .*: unavailable" "$TMP/status.txt" \
        && ok status_text_marks_queue_unavailable || not_ok status_text_marks_queue_unavailable "exit $rc: $(cat "$TMP/status.txt")"
    "$STACK" start rabbitmq >/dev/null 2>&1 && rabbit_stopped=0
else
    not_ok rabbit_stop "scripts/stack stop rabbitmq failed"
fi
