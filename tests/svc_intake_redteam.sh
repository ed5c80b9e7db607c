#!/usr/bin/env bash
# svc_intake_redteam.sh - anon-intake against the attacks of issue 14's
# red team, with a token set, on loopback: a method or query that is not
# text, request smuggling (two Content-Lengths, Content-Length with
# Transfer-Encoding), control characters in the camera header and field,
# the path and the query, a second image part after an empty one, a
# chunked body over the limit, a slow sender, an unauthenticated /readyz
# that must not tell internal details; and two of issue 12: a second
# intake on a port in use, services unreachable at start. After every
# attack the server must still answer /healthz.
SUITE=svc_intake_redteam
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/intake_lib.sh"

RAW="$PY $ROOT/tests/intake_raw.py"
TOKEN=red-team-token
AUTH="Authorization: Bearer $TOKEN"
migrate
"$PY" "$ROOT/tests/make_images.py" "$TMP/img" 2 --kb 30 --prefix "$CAM" \
    || { not_ok setup "cannot generate test images"; exit 1; }
JPG=$TMP/img/$CAM-00000.jpg

start_intake main ANON_INTAKE_TOKEN=$TOKEN ANON_MAX_BYTES=200000 ANON_INTAKE_BODY_TIMEOUT=3 \
    || { not_ok start "anon-intake did not start"; exit 1; }
trap 'stop_intake KILL; rm -rf "$TMP"' EXIT
PORT=${INTAKE_URL##*:}

# still_up NAME: the server answers /healthz after the attack NAME.
still_up() {
    local code
    code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$INTAKE_URL/healthz")
    [ "$code" = 200 ] && ok "$1.server_still_up" || not_ok "$1.server_still_up" "healthz $code"
}
# raw NAME FIELD: one raw exchange (request on stdin); the result's FIELD.
raw() { $RAW "$PORT" "${@:2}" >"$TMP/$1.json"; }
field() { jq -r ".$2" <"$TMP/$1.json"; }
# logged NAME ID: the log line of request ID has its method, path and id.
logged() {
    if jq -e -s --arg id "$2" 'map(select(.request_id == $id)) | length == 1 and
            (.[0] | (.method | type == "string") and (.path | type == "string"))' \
            "$INTAKE_LOG" >/dev/null 2>&1; then
        ok "$1.logged_with_fields"
    else
        not_ok "$1.logged_with_fields" "$(grep -F "$2" "$INTAKE_LOG" | tail -1)"
    fi
}

# ---------------------------------------------------------------- not text
printf 'G\xffT /v1/images HTTP/1.1\r\nHost: x\r\nX-Request-Id: rt-method\r\n%s\r\n\r\n' "$AUTH" |
    raw bad_method
[ "$(field bad_method status)" = 400 ] && ok bad_method_400 || not_ok bad_method_400 "$(cat "$TMP/bad_method.json")"
logged bad_method rt-method
grep -F 'rt-method' "$INTAKE_LOG" | grep -qF 'G\\xffT' && ok bad_method_escaped_in_log \
    || not_ok bad_method_escaped_in_log "$(grep -F rt-method "$INTAKE_LOG")"
still_up bad_method

get "/v1/images?status=%FF%FE" -H "$AUTH" -H 'X-Request-Id: rt-status'
expect_error bad_utf8_status_400
logged bad_utf8_status rt-status
still_up bad_utf8_status

# a header that is not text, shown back in the error
post_raw "$JPG" "$(printf 'image/\xff\xfe')" -H "$AUTH"
expect_error bad_utf8_content_type_415
still_up bad_utf8_content_type

# ---------------------------------------------------------------- smuggling
# A second request hides in the body of the first as a proxy in front reads
# it: the POST must get one 400 and its connection closed, nothing more.
smuggling() {   # smuggling NAME TEST FRAMING (headers, blank line and body)
    printf "POST /v1/images HTTP/1.1\r\nHost: x\r\n%s\r\nContent-Type: image/jpeg\r\n$3"'GET /v1/images/1 HTTP/1.1\r\nHost: x\r\n\r\n' \
        "$AUTH" | raw "$1"
    if [ "$(field "$1" status)" = 400 ] && [ "$(field "$1" responses)" = 1 ] &&
       [ "$(field "$1" closed)" = true ]; then
        ok "$2"
    else
        not_ok "$2" "$(cat "$TMP/$1.json")"
    fi
    still_up "$1"
}
smuggling two_lengths two_content_lengths_400_closed \
    'Content-Length: 4\r\nContent-Length: 41\r\n\r\nabcd'
smuggling length_and_chunked length_and_transfer_encoding_400_closed \
    'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'

# ---------------------------------------------------------------- control characters
printf 'POST /v1/images HTTP/1.1\r\nHost: x\r\n%s\r\nX-Camera: cam\x01evil\r\nContent-Type: image/jpeg\r\nContent-Length: 4\r\n\r\nabcd' "$AUTH" |
    raw camera_header
[ "$(field camera_header status)" = 400 ] && ok control_in_camera_header_400 \
    || not_ok control_in_camera_header_400 "$(cat "$TMP/camera_header.json")"
still_up camera_header

# multipart bodies built here: the camera field with a NUL, two image parts
multipart() {   # multipart FILE PART...: each PART is NAME=@FILE, NAME=TEXT or NAME=hex:HEX
    "$PY" - "$@" <<'PYCODE'
import sys
out, parts = sys.argv[1], sys.argv[2:]
body = b""
for p in parts:
    name, value = p.split("=", 1)
    if value.startswith("@"):
        data, extra = open(value[1:], "rb").read(), b'; filename="a.jpg"'
    elif value.startswith("hex:"):
        data, extra = bytes.fromhex(value[4:]), b""
    else:
        data, extra = value.encode(), b""
    body += (b"--XyZ\r\nContent-Disposition: form-data; name=\"" + name.encode() + b"\"" + extra +
             b"\r\n\r\n" + data + b"\r\n")
open(out, "wb").write(body + b"--XyZ--\r\n")
PYCODE
}
: >"$TMP/empty"
multipart "$TMP/nul-camera" camera=hex:63616d00657669 image=@"$JPG"
post_raw "$TMP/nul-camera" 'multipart/form-data; boundary=XyZ' -H "$AUTH"
expect_error nul_in_camera_field_400
[ "$(json "$BODY" .error)" = bad_camera ] && ok nul_in_camera_field_named || not_ok nul_in_camera_field_named "$(cat "$BODY")"
still_up nul_camera_field

multipart "$TMP/two-images" image=@"$TMP/empty" image=@"$JPG"
post_raw "$TMP/two-images" 'multipart/form-data; boundary=XyZ' -H "$AUTH"
expect_error second_image_after_empty_one_400
multipart "$TMP/two-full" image=@"$JPG" image=@"$JPG"
post_raw "$TMP/two-full" 'multipart/form-data; boundary=XyZ' -H "$AUTH"
expect_error two_images_400
still_up two_images

get "/v1/images/1%00x" -H "$AUTH"; expect_error nul_in_path_400
get "/v1/images?status=queued%00x" -H "$AUTH"; expect_error nul_in_status_400
get "/v1/images?camera=a%0Ab" -H "$AUTH"; expect_error newline_in_query_400
printf 'GET /v1/images/1\x01 HTTP/1.1\r\nHost: x\r\n%s\r\n\r\n' "$AUTH" | raw raw_control_path
[ "$(field raw_control_path status)" = 400 ] && ok raw_control_in_path_400 \
    || not_ok raw_control_in_path_400 "$(cat "$TMP/raw_control_path.json")"
still_up control_in_path

# ---------------------------------------------------------------- size and time limits
cat "$JPG" /dev/urandom | head -c 1500000 >"$TMP/big"   # a JPEG's start, far over the limit
_curl post --data-binary "@$TMP/big" -H 'Content-Type: image/jpeg' -H 'Transfer-Encoding: chunked' \
    -H "$AUTH" "$INTAKE_URL/v1/images"
expect_error chunked_over_limit_413
still_up chunked_over_limit

# A slow sender is cut off once its body took ANON_INTAKE_BODY_TIMEOUT (3 s),
# although every byte comes well within the idle timeout.
printf 'POST /v1/images HTTP/1.1\r\nHost: x\r\n%s\r\nContent-Type: image/jpeg\r\nContent-Length: 40\r\nX-Request-Id: rt-slow\r\n\r\n%040d' "$AUTH" 0 |
    raw slow --trickle 0.5
secs=$(field slow seconds)
if [ "$(field slow closed)" = true ] && awk "BEGIN { exit !($secs >= 2.5 && $secs < 8) }"; then
    ok slow_body_cut_off
else
    not_ok slow_body_cut_off "$(cat "$TMP/slow.json")"
fi
grep -F rt-slow "$INTAKE_LOG" | grep -q ANON_INTAKE_BODY_TIMEOUT && ok slow_body_logged \
    || not_ok slow_body_logged "$(grep -F rt-slow "$INTAKE_LOG")"
still_up slow_body

# ---------------------------------------------------------------- readiness, ports
get /readyz
[ "$CODE" = 200 ] && ok readyz_when_ready || not_ok readyz_when_ready "$CODE $(cat "$BODY")"

# A second intake on the same port: refused, the first one unharmed.
"$BIN/anon-intake" --listen "127.0.0.1:$PORT" >"$TMP/second.log" 2>&1 & second=$!
sleep 1
if kill -0 $second 2>/dev/null; then
    kill $second; wait $second
    not_ok second_intake_same_port_fails "still running"
else
    wait $second; rc=$?
    [ $rc -ne 0 ] && grep -qi 'address in use' "$TMP/second.log" && ok second_intake_same_port_fails \
        || not_ok second_intake_same_port_fails "exit $rc: $(cat "$TMP/second.log")"
fi
still_up second_intake
stop_intake

# Services unreachable at start: it starts, says so, and /readyz names the
# dependency without the host, port or bucket.
start_intake down ANON_DB_URL=postgresql://anon:anon@127.0.0.1:1/anon \
    || { not_ok down_start "anon-intake did not start"; exit 1; }
for _ in $(seq 1 50); do   # the check runs once the server listens
    grep -q '"level":"warn".*not ready.*postgresql' "$INTAKE_LOG" && break
    sleep 0.2
done
grep -q '"level":"warn".*not ready.*postgresql' "$INTAKE_LOG" && ok unreachable_at_start_logged \
    || not_ok unreachable_at_start_logged "$(cat "$INTAKE_LOG")"
get /readyz
if [ "$CODE" = 503 ] && [ "$(json "$BODY" .dependency)" = postgresql ] &&
   ! grep -q '127.0.0.1\|:1\b\|connect' "$BODY"; then
    ok readyz_names_only_the_dependency
else
    not_ok readyz_names_only_the_dependency "$CODE $(cat "$BODY")"
fi
grep '"route":"/readyz"' "$INTAKE_LOG" | grep -q 'cannot connect' && ok readyz_detail_in_log \
    || not_ok readyz_detail_in_log "$(grep readyz "$INTAKE_LOG" | tail -1)"
stop_intake

start_intake nobucket ANON_INPUT_BUCKET=no-such-bucket-rt$$ \
    || { not_ok nobucket_start "anon-intake did not start"; exit 1; }
get /readyz
if [ "$CODE" = 503 ] && [ "$(json "$BODY" .dependency)" = s3 ] && ! grep -q "no-such-bucket" "$BODY"; then
    ok readyz_hides_bucket_name
else
    not_ok readyz_hides_bucket_name "$CODE $(cat "$BODY")"
fi
stop_intake
trap 'rm -rf "$TMP"' EXIT
