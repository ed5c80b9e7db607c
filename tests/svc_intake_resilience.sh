#!/usr/bin/env bash
# svc_intake_resilience.sh - anon-intake when things go wrong: /readyz and
# uploads while RabbitMQ is stopped and after it restarts (503 + Retry-After,
# never a 202 for something not stored); SIGTERM during uploads (everything
# that got a 202 is in the bucket and the table); 200 concurrent uploads;
# garbled requests (the server stays up).
SUITE=svc_intake_resilience
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/intake_lib.sh"
STACK=$ROOT/scripts/stack

migrate
"$PY" "$ROOT/tests/make_images.py" "$TMP/small" 200 --kb 20 --prefix "$CAM" &&
"$PY" "$ROOT/tests/make_images.py" "$TMP/big" 24 --kb 1500 --prefix "${CAM}big" ||
    { not_ok setup "cannot generate test images"; exit 1; }

start_intake main || { not_ok start "anon-intake did not start"; exit 1; }
rabbit_stopped=0
cleanup() {
    [ "$rabbit_stopped" = 1 ] && "$STACK" start rabbitmq >/dev/null 2>&1
    kill -KILL "$INTAKE_PID" 2>/dev/null
    rm -rf "$TMP"
}
trap cleanup EXIT

# check_stored ID...: each id has a queued-or-later row and its object.
check_stored() {
    local id key missing=0
    for id in "$@"; do
        key=$(sql "SELECT input_key FROM images WHERE id = $id AND status <> 'received'")
        if [ -z "$key" ] || [ "$(s3_code "$ANON_INPUT_BUCKET" "$key")" != 200 ]; then
            echo "# image $id: row or object missing (key '$key')"
            missing=$((missing + 1))
        fi
    done
    return "$missing"
}

# ---------------------------------------------------------------- broker outage
get /readyz
[ "$CODE" = 200 ] && ok readyz_before || not_ok readyz_before "got $CODE $(cat "$BODY")"
if "$STACK" stop rabbitmq >/dev/null 2>&1; then
    rabbit_stopped=1
    get /readyz
    if [ "$CODE" = 503 ] && [ "$(json "$BODY" .dependency)" = rabbitmq ]; then ok readyz_503_names_rabbitmq
    else not_ok readyz_503_names_rabbitmq "got $CODE $(cat "$BODY")"; fi
    OUTAGE=$TMP/small/$CAM-00199.jpg
    post "$OUTAGE" -F "camera=$CAM"
    if [ "$CODE" = 503 ] && grep -qi '^retry-after:' "$HDRS" && is_json_error "$BODY"; then ok upload_503_retry_after
    else not_ok upload_503_retry_after "got $CODE $(head -c 200 "$BODY")"; fi
    SHA=$(sha256sum "$OUTAGE" | cut -d' ' -f1)
    st=$(sql "SELECT status FROM images WHERE camera = '$CAM' AND sha256 = '$SHA'")
    [ "$st" = "" ] || [ "$st" = received ] && ok outage_row_not_queued || not_ok outage_row_not_queued "status $st"
    "$STACK" start rabbitmq >/dev/null 2>&1 && rabbit_stopped=0
    ready=0
    for _ in $(seq 1 60); do
        get /readyz; [ "$CODE" = 200 ] && { ready=1; break; }
        sleep 1
    done
    [ $ready = 1 ] && ok readyz_200_after_restart || not_ok readyz_200_after_restart "still $CODE $(cat "$BODY")"
    post "$OUTAGE" -F "camera=$CAM"   # the camera's retry completes the job
    if [ "$CODE" = 202 ] && [ "$(json "$BODY" .status)" = queued ]; then ok retry_after_outage_202
    else not_ok retry_after_outage_202 "got $CODE $(head -c 200 "$BODY")"; fi
else
    not_ok rabbit_stop "scripts/stack stop rabbitmq failed"
fi

# ---------------------------------------------------------------- concurrency
ls "$TMP"/small/*.jpg | head -n 199 >"$TMP/list"
xargs -P 200 -I{} curl -s -o /dev/null -w '%{http_code} {}\n' --max-time 120 \
    -F 'image=@{}' -F "camera=$CAM" "$INTAKE_URL/v1/images" <"$TMP/list" >"$TMP/codes"
n202=$(grep -c '^202 ' "$TMP/codes")
[ "$n202" = 199 ] && ok concurrent_200_uploads \
    || not_ok concurrent_200_uploads "$n202 of 199 got 202: $(cut -d' ' -f1 "$TMP/codes" | sort | uniq -c | tr '\n' ' ')"
n=$(sql "SELECT count(*) FROM images WHERE camera = '$CAM' AND status = 'queued'")
[ "$n" = 200 ] && ok concurrent_rows_queued || not_ok concurrent_rows_queued "$n rows queued, want 200"

# ---------------------------------------------------------------- fuzz
"$PY" "$ROOT/tests/intake_fuzz.py" "${INTAKE_URL##*:}" --count 400 --seconds 20 >"$TMP/fuzz.out" 2>&1
fuzz_rc=$?
cat "$TMP/fuzz.out"
get /healthz
[ "$fuzz_rc" = 0 ] && [ "$CODE" = 200 ] && kill -0 "$INTAKE_PID" && ok fuzz_server_stays_up \
    || not_ok fuzz_server_stays_up "$(tail -n 1 "$TMP/fuzz.out")"
post "$TMP/small/$CAM-00000.jpg" -F "camera=$CAM"
[ "$CODE" = 200 ] && ok upload_after_fuzz || not_ok upload_after_fuzz "got $CODE"
stop_intake
[ "$INTAKE_RC" = 0 ] && ok clean_exit_after_fuzz || not_ok clean_exit_after_fuzz "exit $INTAKE_RC: $(tail -n 5 "$TMP/main.err")"

# ---------------------------------------------------------------- limits
# Idle connections fill the cap: the next request gets a clean 503; a
# client that goes silent is disconnected after ANON_INTAKE_TIMEOUT.
start_intake limits ANON_MAX_CONNECTIONS=4 ANON_INTAKE_TIMEOUT=1 || { not_ok limits_start; exit 1; }
"$PY" - "${INTAKE_URL##*:}" >"$TMP/limits.out" 2>&1 <<'PYEOF'
import socket, sys, time
port = int(sys.argv[1])
idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(4)]
for s in idle:
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")   # headers never finished
time.sleep(0.3)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
print("saturated:", s.recv(200).split(b"\r\n")[0].decode())
idle[0].settimeout(5)
start = time.monotonic()
try:
    closed = idle[0].recv(100) == b""
except OSError:
    closed = True
print("slow client closed:", closed, "after %.1f s" % (time.monotonic() - start))
for c in idle:
    c.close()
time.sleep(0.3)
s = socket.create_connection(("127.0.0.1", port), timeout=5)
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
print("after:", s.recv(200).split(b"\r\n")[0].decode())
PYEOF
cat "$TMP/limits.out" | sed 's/^/# /'
grep -q '^saturated: HTTP/1.1 503' "$TMP/limits.out" && ok saturated_503 || not_ok saturated_503 "$(cat "$TMP/limits.out")"
grep -q '^slow client closed: True' "$TMP/limits.out" && ok slow_client_timed_out || not_ok slow_client_timed_out
grep -q '^after: HTTP/1.1 200' "$TMP/limits.out" && ok recovers_after_saturation || not_ok recovers_after_saturation
stop_intake

# ---------------------------------------------------------------- SIGTERM
start_intake term ANON_SHUTDOWN_GRACE=20 || { not_ok term_start "anon-intake did not start"; exit 1; }
i=0
for f in "$TMP"/big/*.jpg; do   # slowed down so that they are in flight at the signal
    curl -s -o "$TMP/term.$i.json" -w '%{http_code}' --max-time 60 --limit-rate 1M \
        -F "image=@$f" -F "camera=${CAM}t" "$INTAKE_URL/v1/images" >"$TMP/term.$i.code" 2>/dev/null &
    i=$((i + 1))
done
sleep 0.4
kill -TERM "$INTAKE_PID"
sleep 0.2
late=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$INTAKE_URL/healthz")
wait "$INTAKE_PID"; rc=$?
wait
[ "$rc" = 0 ] && ok sigterm_exit_0 || not_ok sigterm_exit_0 "exit $rc: $(tail -n 5 "$TMP/term.err")"
[ "$late" != 200 ] && ok sigterm_stops_accepting || not_ok sigterm_stops_accepting "a new connection got $late"
ids=() other=()
for ((j = 0; j < i; j++)); do
    c=$(cat "$TMP/term.$j.code")
    if [ "$c" = 202 ]; then ids+=("$(jq -r .id <"$TMP/term.$j.json")"); else other+=("$c"); fi
done
echo "# SIGTERM: ${#ids[@]} uploads got 202, others: ${other[*]:-none}"
[ "${#ids[@]}" -gt 0 ] && ok sigterm_in_flight_finished || not_ok sigterm_in_flight_finished "no upload finished"
if check_stored "${ids[@]}"; then ok sigterm_every_202_stored; else not_ok sigterm_every_202_stored; fi
bad=$(printf '%s\n' "${other[@]}" | grep -Ev '^(000|503)$' | head -n 3)
[ -z "$bad" ] && ok sigterm_others_503_or_refused || not_ok sigterm_others_503_or_refused "codes: $bad"

# A request slower than ANON_SHUTDOWN_GRACE does not hold the exit up.
start_intake grace ANON_SHUTDOWN_GRACE=1 || { not_ok grace_start; exit 1; }
curl -s -o /dev/null --limit-rate 50K -F "image=@$TMP/big/${CAM}big-00000.jpg" -F "camera=${CAM}g" \
    "$INTAKE_URL/v1/images" &
slow=$!
sleep 0.5
kill -TERM "$INTAKE_PID"
wait "$INTAKE_PID"; rc=$?
if kill -0 "$slow" 2>/dev/null; then
    [ "$rc" = 0 ] && ok grace_bounds_shutdown || not_ok grace_bounds_shutdown "exit $rc"
else
    not_ok grace_bounds_shutdown "the slow upload finished first"
fi
kill "$slow" 2>/dev/null; wait "$slow" 2>/dev/null || true
