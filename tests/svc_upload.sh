#!/usr/bin/env bash
# svc_upload.sh - `anonctl upload` against anon-intake on the real stack:
# a directory tree goes up in parallel; a re-run counts everything as
# skipped (the intake's idempotency); non-images are reported and skipped;
# a refused file is reported with the intake's reason; transient failures
# (the intake not up yet) are retried with backoff; the token is sent;
# --json output; the progress line on a terminal.
SUITE=svc_upload
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/intake_lib.sh"
CTL=$BIN/anonctl

migrate
mkdir -p "$TMP/photos/day2/.hidden"
"$PY" "$ROOT/tests/make_images.py" "$TMP/photos" 5 --kb 30 --prefix "$CAM" &&
"$PY" "$ROOT/tests/make_images.py" "$TMP/photos/day2" 3 --kb 30 --prefix "${CAM}d2" &&
"$PY" "$ROOT/tests/make_images.py" "$TMP/photos/day2" 1 --kb 20 --png --prefix "${CAM}p" ||
    { not_ok setup "cannot generate test images"; exit 1; }
echo 'not a photo' >"$TMP/photos/notes.txt"
cp "$TMP/photos/$CAM-00000.jpg" "$TMP/photos/day2/.hidden/skipped.jpg"

start_intake main || { not_ok start "anon-intake did not start"; exit 1; }
trap 'kill -KILL "$INTAKE_PID" 2>/dev/null; rm -rf "$TMP"' EXIT

"$CTL" upload --url "$INTAKE_URL" --camera "$CAM" --jobs 3 --json "$TMP/photos" >"$TMP/first.json" 2>"$TMP/first.err"
rc=$?
if [ $rc = 0 ] && [ "$(json "$TMP/first.json" '[.files, .uploaded, .skipped_existing, .not_images] | join(",")')" = 10,9,0,1 ]; then
    ok first_run_uploads_tree
else
    not_ok first_run_uploads_tree "exit $rc: $(head -c 300 "$TMP/first.json") $(head -c 200 "$TMP/first.err")"
fi
n=$(sql "SELECT count(*) FROM images WHERE camera = '$CAM' AND status = 'queued'")
[ "$n" = 9 ] && ok rows_queued || not_ok rows_queued "$n rows"
[ "$(json "$TMP/first.json" '.results[] | select(.path | endswith("notes.txt")) | .outcome')" = not_image ] \
    && ok non_image_reported || not_ok non_image_reported

"$CTL" upload --url "$INTAKE_URL" --camera "$CAM" --json "$TMP/photos" >"$TMP/second.json" 2>/dev/null
rc=$?
[ $rc = 0 ] && [ "$(json "$TMP/second.json" '[.uploaded, .skipped_existing] | join(",")')" = 0,9 ] \
    && ok rerun_skips_everything || not_ok rerun_skips_everything "exit $rc: $(head -c 300 "$TMP/second.json")"
# The rate counts only bytes sent: all of the first run's images, none of the re-run's.
json_true "$TMP/first.json" '.bytes_sent == ([.results[] | select(.outcome == "created") | .bytes] | add)' &&
    json_true "$TMP/second.json" ".bytes_sent == 0" && ok bytes_sent_counted \
    || not_ok bytes_sent_counted "$(jq -c "[.bytes_sent, ([.results[] | select(.outcome == \"created\") | .bytes] | add)]" "$TMP/first.json" "$TMP/second.json")"
"$CTL" upload --url "$INTAKE_URL" --camera "$CAM" "$TMP/photos" >"$TMP/third.txt" 2>/dev/null
grep -q ' 0 kB sent in .* (0 kB/s)$' "$TMP/third.txt" && ok rate_counts_only_bytes_sent     || not_ok rate_counts_only_bytes_sent "$(cat "$TMP/third.txt")"
# the re-run sent digests only: the intake read no image bytes for those 200s
read=$(jq -s '[.[] | select(.status == 200 and .route == "POST /v1/images") | .bytes] | add' "$INTAKE_LOG")
[ "$read" = 0 ] && ok rerun_sends_no_image_bytes || not_ok rerun_sends_no_image_bytes "$read bytes read"

# text mode: summary on stdout, problems on stderr
head -c 40 "$TMP/photos/$CAM-00001.jpg" >"$TMP/broken.jpg"
export ANON_INTAKE_URL=$INTAKE_URL
"$CTL" upload --camera "$CAM" "$TMP/broken.jpg" "$TMP/photos/notes.txt" "$TMP/missing.jpg" \
    >"$TMP/text.out" 2>"$TMP/text.err"
rc=$?
if [ $rc = 1 ] && grep -q 'rejected .*broken.jpg: HTTP 422' "$TMP/text.err" &&
   grep -q 'skipped .*notes.txt' "$TMP/text.err" && grep -q 'missing.jpg' "$TMP/text.err" &&
   grep -q '1 rejected' "$TMP/text.out"; then
    ok rejected_reported_exit_1
else
    not_ok rejected_reported_exit_1 "exit $rc: $(cat "$TMP/text.out" "$TMP/text.err" | head -c 400)"
fi
"$CTL" upload --camera '../x' "$TMP/photos" >/dev/null 2>&1
[ $? = 2 ] && ok bad_camera_usage_error || not_ok bad_camera_usage_error
"$CTL" upload >/dev/null 2>&1
[ $? = 2 ] && ok no_paths_usage_error || not_ok no_paths_usage_error
stop_intake

# transient failures: the intake is not listening yet when the upload starts
port=$("$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$PY" "$ROOT/tests/make_images.py" "$TMP/late" 3 --kb 20 --prefix "${CAM}late"
"$CTL" upload --url "http://127.0.0.1:$port" --camera "$CAM" --retries 8 --json "$TMP/late" \
    >"$TMP/late.json" 2>/dev/null &
upload_pid=$!
sleep 1.2
start_intake late ANON_INTAKE_LISTEN="127.0.0.1:$port" || not_ok late_start
wait $upload_pid; rc=$?
if [ $rc = 0 ] && [ "$(json "$TMP/late.json" .uploaded)" = 3 ] &&
   [ "$(json "$TMP/late.json" '[.results[].attempts] | max')" -gt 1 ]; then
    ok transient_errors_retried
else
    not_ok transient_errors_retried "exit $rc: $(head -c 300 "$TMP/late.json")"
fi
stop_intake
"$CTL" upload --url "http://127.0.0.1:$port" --retries 2 --json "$TMP/late" >"$TMP/down.json" 2>/dev/null
rc=$?
[ $rc = 4 ] && [ "$(json "$TMP/down.json" .failed)" = 3 ] && ok unreachable_exit_4 \
    || not_ok unreachable_exit_4 "exit $rc"
# Failures name the address and where it was set.
ANON_INTAKE_URL=http://127.0.0.1:$port "$CTL" upload --retries 1 "$TMP/late" >/dev/null 2>"$TMP/down.err"
rc=$?
[ $rc = 4 ] && grep -q "cannot reach http://127.0.0.1:$port (ANON_INTAKE_URL)" "$TMP/down.err" \
    && ok unreachable_names_intake_url || not_ok unreachable_names_intake_url "exit $rc: $(head -c 300 "$TMP/down.err")"
"$CTL" upload --url "http://127.0.0.1:$port" --retries 1 -q "$TMP/late" >/dev/null 2>"$TMP/down2.err"
grep -q "cannot reach http://127.0.0.1:$port (--url)" "$TMP/down2.err" \
    && ok unreachable_names_url_flag || not_ok unreachable_names_url_flag "$(head -c 300 "$TMP/down2.err")"

# token
start_intake token ANON_INTAKE_TOKEN=upload-secret || not_ok token_start
"$CTL" upload --url "$INTAKE_URL" --camera "${CAM}tok" --json "$TMP/late" >"$TMP/tok1.json" 2>/dev/null
rc=$?
[ $rc = 1 ] && [ "$(json "$TMP/tok1.json" '.results[0].http_status')" = 401 ] && ok token_missing_rejected \
    || not_ok token_missing_rejected "exit $rc"
ANON_INTAKE_TOKEN=upload-secret "$CTL" upload --url "$INTAKE_URL" --camera "${CAM}tok" --json "$TMP/late" \
    >"$TMP/tok2.json" 2>/dev/null
[ $? = 0 ] && [ "$(json "$TMP/tok2.json" .uploaded)" = 3 ] && ok token_sent || not_ok token_sent

# progress line on a terminal (script(1) gives the command a pty)
if command -v script >/dev/null; then
    script -qec "ANON_INTAKE_TOKEN=upload-secret '$CTL' upload --url '$INTAKE_URL' --camera '${CAM}tty' '$TMP/photos'" \
        /dev/null >"$TMP/tty.out" 2>&1
    if grep -q 'files' "$TMP/tty.out" && grep -q 'ETA' "$TMP/tty.out" && grep -q '9 uploaded' "$TMP/tty.out"; then
        ok progress_on_terminal
    else
        not_ok progress_on_terminal "$(tr '\r' '\n' <"$TMP/tty.out" | tail -n 3)"
    fi
fi
stop_intake
