#!/usr/bin/env bash
# svc_intake.sh - anon-intake against the real stack: multipart and raw
# uploads end up as object + row + message; the same bytes again give the
# same record (200); every bad input gets its status and a JSON error;
# bearer token on and off; metadata, keyset listing, output (never the
# original), request ids, metrics.
SUITE=svc_intake
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/intake_lib.sh"

migrate
"$PY" "$ROOT/tests/make_images.py" "$TMP/img" 4 --kb 60 --prefix "$CAM" \
    && "$PY" "$ROOT/tests/make_images.py" "$TMP/png" 1 --kb 40 --png --prefix "$CAM" \
    || { not_ok setup "cannot generate test images"; exit 1; }
JPG=$TMP/img/$CAM-00000.jpg
PNG=$TMP/png/$CAM-00000.png

start_intake main || { not_ok start "anon-intake did not start"; exit 1; }
trap 'stop_intake KILL; rm -rf "$TMP"' EXIT

# ---------------------------------------------------------------- uploads
depth() { curl -s "$ANON_AMQP_MANAGEMENT_URL/api/queues/%2f/${ANON_QUEUE:-anon.images}" | jq -r '.messages // 0'; }
depth_before=$(depth)

post "$JPG" -F "camera=$CAM"
ID=$(json "$BODY" .id)
SHA=$(sha256sum "$JPG" | cut -d' ' -f1)
if [ "$CODE" = 202 ] && [ "$(json "$BODY" .status)" = queued ] && [ "$(json "$BODY" .sha256)" = "$SHA" ] &&
   [ "$(json "$BODY" .camera)" = "$CAM" ] && [ "$(json "$BODY" .links.self)" = "/v1/images/$ID" ]; then
    ok multipart_202
else
    not_ok multipart_202 "got $CODE $(head -c 300 "$BODY")"
fi
KEY=$(sql "SELECT input_key FROM images WHERE id = $ID")
row=$(sql "SELECT camera, sha256, status, bytes, width > 0 FROM images WHERE id = $ID")
[ "$row" = "$CAM|$SHA|queued|$(stat -c %s "$JPG")|t" ] && ok multipart_row || not_ok multipart_row "row: $row"
[ "$(s3_code "$ANON_INPUT_BUCKET" "$KEY")" = 200 ] && ok multipart_object || not_ok multipart_object "no object $KEY"
case "$KEY" in "$CAM/$SHA."*) ok content_addressed_key ;; *) not_ok content_addressed_key "key $KEY" ;; esac
seen=0
for _ in $(seq 1 30); do   # the management API refreshes its counts every few seconds
    [ "$(depth)" -gt "$depth_before" ] 2>/dev/null && { seen=1; break; }
    sleep 0.5
done
[ $seen = 1 ] && ok message_queued || not_ok message_queued "queue depth stayed at $depth_before"

post_raw "$PNG" image/png -H "X-Camera: $CAM" -H "X-Filename: shot.png"
PNG_ID=$(json "$BODY" .id)
if [ "$CODE" = 202 ] && [ "$(json "$BODY" .content_type)" = image/png ] &&
   [ "$(json "$BODY" .original_name)" = shot.png ] && [ "$(json "$BODY" .camera)" = "$CAM" ]; then
    ok raw_png_202
else
    not_ok raw_png_202 "got $CODE $(head -c 300 "$BODY")"
fi
post_raw "$TMP/img/$CAM-00001.jpg" image/jpeg -H "X-Camera: $CAM"
[ "$CODE" = 202 ] && ok raw_jpeg_202 || not_ok raw_jpeg_202 "got $CODE"

# ---------------------------------------------------------------- idempotency
post "$JPG" -F "camera=$CAM"
[ "$CODE" = 200 ] && [ "$(json "$BODY" .id)" = "$ID" ] && ok repost_same_record \
    || not_ok repost_same_record "got $CODE id $(json "$BODY" .id), want 200 id $ID"
post_raw "$JPG" image/jpeg -H "X-Camera: $CAM"
[ "$CODE" = 200 ] && [ "$(json "$BODY" .id)" = "$ID" ] && ok repost_raw_same_record \
    || not_ok repost_raw_same_record "got $CODE"
n=$(sql "SELECT count(*) FROM images WHERE camera = '$CAM' AND sha256 = '$SHA'")
[ "$n" = 1 ] && ok repost_no_duplicate_row || not_ok repost_no_duplicate_row "$n rows"
post "$JPG" -F "camera=${CAM}b"
[ "$CODE" = 202 ] && [ "$(json "$BODY" .id)" != "$ID" ] && ok other_camera_new_record \
    || not_ok other_camera_new_record "got $CODE"

# X-Content-SHA256: a known image is answered before its body is sent;
# a wrong digest is refused.
post_raw "$JPG" image/jpeg -H "X-Camera: $CAM" -H "X-Content-SHA256: $SHA" -H 'Expect: 100-continue' \
    -H 'X-Request-Id: known-1'
sent=$(jq -r 'select(.request_id == "known-1") | .bytes' "$INTAKE_LOG")
[ "$CODE" = 200 ] && [ "$(json "$BODY" .id)" = "$ID" ] && [ "$sent" = 0 ] && ok known_digest_200_without_body \
    || not_ok known_digest_200_without_body "got $CODE, $sent body bytes read"
NEW=$TMP/img/$CAM-00002.jpg
post_raw "$NEW" image/jpeg -H "X-Camera: $CAM" -H "X-Content-SHA256: $(sha256sum "$NEW" | cut -d' ' -f1)"
[ "$CODE" = 202 ] && ok digest_of_new_image_202 || not_ok digest_of_new_image_202 "got $CODE"
post_raw "$TMP/img/$CAM-00003.jpg" image/jpeg -H "X-Camera: $CAM" \
    -H "X-Content-SHA256: $(printf 'other bytes' | sha256sum | cut -d' ' -f1)"
expect_error checksum_mismatch_400
[ "$(json "$BODY" .error)" = checksum_mismatch ] && ok checksum_mismatch_named || not_ok checksum_mismatch_named
post_raw "$NEW" image/jpeg -H "X-Content-SHA256: abc"; expect_error bad_digest_header_400

# ---------------------------------------------------------------- bad input
printf 'hello, not an image\n' >"$TMP/text.txt"
head -c 40 "$JPG" >"$TMP/truncated.jpg"
: >"$TMP/empty"
post "$TMP/text.txt"; expect_error not_an_image_415
post_raw "$TMP/text.txt" image/jpeg; expect_error raw_not_an_image_415
post_raw "$JPG" text/plain; expect_error wrong_content_type_415
_curl post -X POST --data-binary "@$JPG" -H 'Content-Type:' "$INTAKE_URL/v1/images"; expect_error no_content_type_415
post_raw "$TMP/empty" image/jpeg; expect_error empty_body_400
post "$TMP/empty"; expect_error empty_image_field_400
_curl post -F "photo=@$JPG" "$INTAKE_URL/v1/images"; expect_error missing_image_field_400
_curl post --data-binary 'not multipart at all' -H 'Content-Type: multipart/form-data; boundary=XyZ' \
    "$INTAKE_URL/v1/images"; expect_error malformed_multipart_400
_curl post --data-binary 'x' -H 'Content-Type: multipart/form-data' "$INTAKE_URL/v1/images"
expect_error multipart_without_boundary_400
post "$TMP/truncated.jpg"; expect_error truncated_header_422
post "$JPG" -F 'camera=../../etc'; expect_error bad_camera_field_400
post "$JPG" -H 'X-Camera: a b'; expect_error bad_camera_header_400
post "$JPG" -F "camera=$(printf 'c%.0s' $(seq 1 80))"; expect_error long_camera_400
get /v1/images/999999999999; expect_error unknown_id_404
get /v1/images/abc; expect_error bad_id_404
get /nowhere; expect_error unknown_route_404
_curl del -X DELETE "$INTAKE_URL/v1/images/$ID"; expect_error delete_405
get "/v1/images?status=bogus"; expect_error bad_status_filter_400
get "/v1/images?limit=0"; expect_error bad_limit_400
get "/v1/images?camera=..%2Fx"; expect_error bad_camera_filter_400

# size and pixel limits need a server with small limits
stop_intake
start_intake limits ANON_MAX_BYTES=30000 ANON_MAX_PIXELS=1000 ANON_INTAKE_TOKEN=s3cret-token \
    || { not_ok limits_start "anon-intake did not start"; exit 1; }
AUTH=(-H "Authorization: Bearer s3cret-token")
post_raw "$JPG" image/jpeg "${AUTH[@]}"; expect_error too_large_413
post "$JPG" "${AUTH[@]}"; expect_error too_large_multipart_413
head -c 20000 "$JPG" >"$TMP/small.jpg"   # header intact, > 1000 pixels
post "$TMP/small.jpg" "${AUTH[@]}"; expect_error too_many_pixels_422

# ---------------------------------------------------------------- token
post "$JPG"; expect_error token_missing_401
post "$JPG" -H 'Authorization: Bearer wrong'; expect_error token_wrong_401
post "$JPG" -H 'Authorization: Bearer s3cret-token-and-more'; expect_error token_longer_401
get "/v1/images/$ID"; expect_error token_needed_for_reads_401
get "/v1/images/$ID" "${AUTH[@]}"
[ "$CODE" = 200 ] && ok token_accepted || not_ok token_accepted "got $CODE"
get /healthz; [ "$CODE" = 200 ] && ok healthz_without_token || not_ok healthz_without_token "got $CODE"
if grep -q s3cret "$INTAKE_LOG" "$TMP/limits.err"; then not_ok token_not_logged; else ok token_not_logged; fi
stop_intake
start_intake main2 || { not_ok restart "anon-intake did not start"; exit 1; }

# ---------------------------------------------------------------- reads
get "/v1/images/$ID"
if [ "$CODE" = 200 ] && [ "$(json "$BODY" .sha256)" = "$SHA" ] && [ "$(json "$BODY" .status)" = queued ] &&
   json_true "$BODY" 'has("faces") and has("boxes") and has("timings") and has("error")'; then
    ok get_record
else
    not_ok get_record "got $CODE $(head -c 300 "$BODY")"
fi
if json_true "$BODY" 'tostring | test("input_key|anon-input") | not'; then ok record_hides_keys
else not_ok record_hides_keys; fi

get "/v1/images?camera=$CAM&limit=2"
first=$(json "$BODY" '[.images[].id] | join(",")'); after=$(json "$BODY" .next_after)
get "/v1/images?camera=$CAM&limit=2&after=$after"
second=$(json "$BODY" '[.images[].id] | join(",")'); last=$(json "$BODY" .next_after)
all=$(sql "SELECT string_agg(id::text, ',' ORDER BY id) FROM images WHERE camera = '$CAM'")
[ "$first,$second" = "$all" ] && [ "$last" = null ] && ok list_keyset_pages \
    || not_ok list_keyset_pages "pages $first / $second (next $last), table $all"
get "/v1/images?camera=$CAM&status=queued"
[ "$(json "$BODY" '[.images[] | select(.status != "queued")] | length')" = 0 ] &&
    [ "$(json "$BODY" '.images | length')" = 4 ] && ok list_status_filter \
    || not_ok list_status_filter "$(head -c 300 "$BODY")"

# ---------------------------------------------------------------- output
get "/v1/images/$ID/output"; expect_error output_before_done_404
# Play the worker: an anonymized object in the output bucket, the row done.
printf 'anonymized bytes of %s\n' "$ID" >"$TMP/out.jpg"
code=$(s3_put "$TMP/out.jpg" "$ANON_OUTPUT_BUCKET" "$CAM/out-$ID.jpg")
[ "$code" = 200 ] || echo "# output PUT got $code"
sql "UPDATE images SET status = 'done', output_key = '$CAM/out-$ID.jpg', faces = 1,
     boxes = '[{\"x\":1,\"y\":2,\"w\":3,\"h\":4}]', finished_at = now() WHERE id = $ID" >/dev/null
get "/v1/images/$ID/output"
if [ "$CODE" = 200 ] && cmp -s "$BODY" "$TMP/out.jpg" && grep -qi '^content-type: image/jpeg' "$HDRS"; then
    ok output_when_done
else
    not_ok output_when_done "got $CODE"
fi
cmp -s "$BODY" "$JPG" && not_ok output_never_original || ok output_never_original
get "/v1/images/$ID"
[ "$(json "$BODY" .faces)" = 1 ] && [ "$(json "$BODY" '.boxes[0].w')" = 3 ] && ok record_after_done \
    || not_ok record_after_done "$(head -c 300 "$BODY")"
# a done row whose output key points at the original is refused
sql "UPDATE images SET status = 'done', output_key = input_key WHERE id = $PNG_ID" >/dev/null
get "/v1/images/$PNG_ID/output"
[ "$CODE" != 200 ] && ok output_missing_not_served || not_ok output_missing_not_served "got 200"

# ---------------------------------------------------------------- ids, health, metrics
get /healthz -H 'X-Request-Id: req-42.a'
grep -qi '^x-request-id: req-42.a' "$HDRS" && ok request_id_echoed || not_ok request_id_echoed
get /nowhere -H 'X-Request-Id: req-43'
[ "$(json "$BODY" .request_id)" = req-43 ] && ok request_id_in_error || not_ok request_id_in_error
get /healthz -H "X-Request-Id: $(printf 'bad id\t')"
id=$(sed -n 's/^[Xx]-[Rr]equest-[Ii]d: *\([^\r]*\).*/\1/p' "$HDRS")
[[ "$id" =~ ^[0-9a-f]{32}$ ]] && ok request_id_generated || not_ok request_id_generated "got '$id'"
get /readyz
[ "$CODE" = 200 ] && [ "$(json "$BODY" .status)" = ready ] && ok readyz_200 || not_ok readyz_200 "got $CODE $(cat "$BODY")"
get /metrics
if [ "$CODE" = 200 ] && grep -qF 'anon_intake_requests_total{route="GET /v1/images/{id}",code="200"}' "$BODY" &&
   grep -q '^anon_intake_request_duration_seconds_bucket' "$BODY" && grep -q '^anon_intake_bytes_received_total' "$BODY" &&
   grep -q '^anon_intake_uploads_in_flight' "$BODY"; then
    ok metrics
else
    not_ok metrics "got $CODE"
fi
if jq -e -s 'map(select(.request_id)) | length > 0 and all(has("time") and has("level") and has("method")
        and has("route") and has("status") and has("bytes") and has("ms"))' "$TMP/main2.log" >/dev/null; then
    ok json_log_lines
else
    not_ok json_log_lines "$(tail -n 2 "$TMP/main2.log")"
fi

stop_intake
[ "$INTAKE_RC" = 0 ] && ok sigterm_exit_0 || not_ok sigterm_exit_0 "exit $INTAKE_RC: $(tail -n 5 "$TMP/main2.err")"
trap 'rm -rf "$TMP"' EXIT
