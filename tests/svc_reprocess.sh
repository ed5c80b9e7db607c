#!/usr/bin/env bash
# svc_reprocess.sh - which model anonymized what, and doing it again, on
# the real stack: a done row carries the model, its version (the first 12
# hex digits of its weights' SHA-256), the preset and the anonctl version,
# shown by list (text and JSON), get --json, the intake's record and
# status; `anonctl reprocess` selects by model and preset (--dry-run
# changes nothing), sends the images again (two runs at once send each
# once; the old output stays readable meanwhile), a worker redoes them
# (new finished_at and model, same output key, the output decodes), a
# second run finds nothing more; images whose original is gone are listed
# with the reason and skipped; with retention 0 the original is deleted
# again after the new output.
SUITE=svc_reprocess
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/intake_lib.sh"
source "$(dirname "$0")/pipeline_lib.sh"
export ANON_ORIGINALS_RETENTION=30d   # keep originals: they are what reprocess needs
CAM=rep$$
upload() { local cam=$1; shift; "$ANONCTL" upload -q --camera "$cam" "$@" >/dev/null 2>&1; }
ids_of() { sql "SELECT id FROM images WHERE camera = '$1' ORDER BY id"; }
digest() { sha256sum "$ANON_MODEL_DIR/$1.weights" | cut -c1-12; }
VERSION=$("$ANONCTL" --version | awk '{print $2}')
SSD=$(digest ssd) TINY=$(digest tiny)

upload "$CAM-a" "$TMP/photos/sample1.jpg" "$TMP/photos/sample2.jpg"
drain 0 --model ssd
upload "$CAM-b" "$TMP/photos/sample3.jpg" "$TMP/photos/sample4.jpg"
drain 1 --model tiny
[ "$(count "$CAM-a" done)" = 2 ] && [ "$(count "$CAM-b" done)" = 2 ] && ok drained \
    || not_ok drained "$(sql "SELECT camera, status, count(*) FROM images WHERE camera LIKE '$CAM-%' GROUP BY 1, 2")"

# ---------------------------------------------------------------- what made each output
rows=$(sql "SELECT count(*) FROM images WHERE camera = '$CAM-a' AND model = 'ssd' AND model_version = '$SSD'
            AND preset = 'fast' AND anonctl_version = '$VERSION'")
[ "$rows" = 2 ] && [ ${#SSD} = 12 ] && ok done_rows_record_model_version_preset_anonctl \
    || not_ok done_rows_record_model_version_preset_anonctl "$(sql "SELECT model, model_version, preset, anonctl_version FROM images WHERE camera='$CAM-a'") (want ssd $SSD fast $VERSION)"
jq -se "map(select(.event == \"start\"))[0] | .model_version == \"$TINY\" and .anonctl_version == \"$VERSION\"" "$TMP/drain-1.log" >/dev/null \
    && ok drain_start_logs_model_version || not_ok drain_start_logs_model_version "$(head -1 "$TMP/drain-1.log")"
"$ANONCTL" list --camera "$CAM-b" --json >"$TMP/list.json"
json_true "$TMP/list.json" ".images | length == 2 and all(.model == \"tiny\" and .model_version == \"$TINY\" and .preset == \"fast\" and .anonctl_version == \"$VERSION\")" \
    && ok list_json_shows_provenance || not_ok list_json_shows_provenance "$(jq -c '.images[0]' "$TMP/list.json")"
"$ANONCTL" list --camera "$CAM-b" >"$TMP/list.txt"
head -n1 "$TMP/list.txt" | grep -q 'MODEL *PRESET *ANONCTL' && [ "$(grep -c "tiny@$TINY  *fast  *$VERSION" "$TMP/list.txt")" = 2 ] \
    && ok list_text_shows_provenance || not_ok list_text_shows_provenance "$(cat "$TMP/list.txt")"
id_a=$(ids_of "$CAM-a" | head -n1)
"$ANONCTL" get "$id_a" --json >"$TMP/get.json"
json_true "$TMP/get.json" ".id == $id_a and .model == \"ssd\" and .model_version == \"$SSD\" and .preset == \"fast\" and .anonctl_version == \"$VERSION\" and .original_deleted_at == null" \
    && ok get_json_shows_provenance || not_ok get_json_shows_provenance "$(cat "$TMP/get.json")"
"$ANONCTL" get "$id_a" -o "$TMP/a.jpg" --json >"$TMP/get2.json"
[ -s "$TMP/a.jpg" ] && json_true "$TMP/get2.json" ".id == $id_a" && ok get_output_and_json || not_ok get_output_and_json
get "/v1/images/$id_a"
[ "$CODE" = 200 ] && json "$BODY" .model_version | grep -qx "$SSD" && ok intake_record_shows_provenance \
    || not_ok intake_record_shows_provenance "$CODE $(head -c 300 "$BODY")"
"$ANONCTL" status --camera "$CAM-b" --json >"$TMP/status.json"
json_true "$TMP/status.json" ".done_by_model == [{\"model\": \"tiny\", \"model_version\": \"$TINY\", \"preset\": \"fast\", \"done\": 2}]" \
    && ok status_json_counts_per_model_preset || not_ok status_json_counts_per_model_preset "$(jq -c .done_by_model "$TMP/status.json")"
"$ANONCTL" status --camera "$CAM-b" | grep -A1 '^done by model:' | grep -q "tiny@$TINY  *fast  *2" \
    && ok status_text_counts_per_model_preset || not_ok status_text_counts_per_model_preset

# ---------------------------------------------------------------- selection
sent_ids() { cat "$@" | jq -r 'select(.action == "sent") | .id' | sort -n; }
"$ANONCTL" reprocess --camera "$CAM-a" --model tiny --json >"$TMP/none.json"
rc=$?
tail -n1 "$TMP/none.json" >"$TMP/none.summary"
[ $rc = 0 ] && [ -z "$(sent_ids "$TMP/none.json")" ] && json_true "$TMP/none.summary" '.sent == 0 and .skipped == 0' \
    && ok reprocess_by_model_selects_only_that_model || not_ok reprocess_by_model_selects_only_that_model "exit $rc: $(cat "$TMP/none.json")"
sql "UPDATE images SET preset = 'thorough' WHERE id = $id_a" >/dev/null
"$ANONCTL" reprocess --camera "$CAM-a" --preset thorough --dry-run --json >"$TMP/preset.json"
[ "$(sent_ids "$TMP/preset.json")" = "$id_a" ] && ok reprocess_by_preset || not_ok reprocess_by_preset "$(cat "$TMP/preset.json")"
sql "UPDATE images SET preset = 'fast' WHERE id = $id_a" >/dev/null
"$ANONCTL" reprocess --model tiny --camera "$CAM-b" --dry-run --json >"$TMP/dry.json"
rc=$?
if [ $rc = 0 ] && [ "$(sent_ids "$TMP/dry.json")" = "$(ids_of "$CAM-b")" ] &&
   jq -se 'map(select(.id)) | all(.dry_run)' "$TMP/dry.json" >/dev/null && [ "$(count "$CAM-b" done)" = 2 ]; then
    ok reprocess_dry_run_changes_nothing
else
    not_ok reprocess_dry_run_changes_nothing "exit $rc: $(cat "$TMP/dry.json")"
fi
"$ANONCTL" reprocess >/dev/null 2>&1
[ $? = 2 ] && ok reprocess_without_selection_refused || not_ok reprocess_without_selection_refused

# ---------------------------------------------------------------- two at once, then the worker
sql "SELECT id, extract(epoch from finished_at), output_key FROM images WHERE camera = '$CAM-b' ORDER BY id" >"$TMP/before"
"$ANONCTL" reprocess --model tiny --camera "$CAM-b" --json >"$TMP/r1.json" 2>&1 & r1=$!
"$ANONCTL" reprocess --model tiny --camera "$CAM-b" --json >"$TMP/r2.json" 2>&1 & r2=$!
wait $r1; rc1=$?; wait $r2; rc2=$?
[ $rc1 = 0 ] && [ $rc2 = 0 ] && ok two_reprocesses_at_once_exit_0 || not_ok two_reprocesses_at_once_exit_0 "exit $rc1 $rc2"
[ "$(sent_ids "$TMP/r1.json" "$TMP/r2.json")" = "$(ids_of "$CAM-b")" ] && ok two_reprocesses_send_each_once \
    || not_ok two_reprocesses_send_each_once "$(cat "$TMP/r1.json" "$TMP/r2.json")"
[ "$(sql "SELECT count(*) FROM images WHERE camera = '$CAM-b' AND status = 'queued' AND attempts = 0 AND reprocessed_at IS NOT NULL")" = 2 ] \
    && ok reprocessed_rows_queued_with_marker || not_ok reprocessed_rows_queued_with_marker "$(sql "SELECT status, attempts, reprocessed_at FROM images WHERE camera='$CAM-b'")"
id_b=$(ids_of "$CAM-b" | head -n1)
"$ANONCTL" get "$id_b" -o "$TMP/old.jpg" >/dev/null 2>&1 && get "/v1/images/$id_b/output" && [ "$CODE" = 200 ] \
    && ok old_output_readable_while_reprocessing || not_ok old_output_readable_while_reprocessing "intake $CODE"
"$ANONCTL" reprocess --model tiny --camera "$CAM-b" --json >"$TMP/r3.json"
[ -z "$(sent_ids "$TMP/r3.json")" ] && ok reprocess_again_sends_nothing_while_queued || not_ok reprocess_again_sends_nothing_while_queued
drain 2 --model ssd
if [ "$(sql "SELECT count(*) FROM images WHERE camera = '$CAM-b' AND status = 'done' AND model = 'ssd' AND model_version = '$SSD'")" = 2 ]; then
    ok reprocessed_images_done_by_new_model
else
    not_ok reprocessed_images_done_by_new_model "$(sql "SELECT status, model, error FROM images WHERE camera='$CAM-b'")"
fi
sql "SELECT id, extract(epoch from finished_at), output_key FROM images WHERE camera = '$CAM-b' ORDER BY id" >"$TMP/after"
if /usr/bin/python3 - "$TMP/before" "$TMP/after" <<'PY'
import sys
before = [l.strip().split("|") for l in open(sys.argv[1]) if l.strip()]
after = [l.strip().split("|") for l in open(sys.argv[2]) if l.strip()]
assert len(before) == len(after) == 2, (before, after)
for b, a in zip(before, after):
    assert b[0] == a[0] and b[2] == a[2], (b, a)           # same row, same output key
    assert float(a[1]) > float(b[1]), (b, a)               # a new finished_at
PY
then ok reprocess_new_finished_at_same_output_key; else not_ok reprocess_new_finished_at_same_output_key "$(cat "$TMP/before" "$TMP/after")"; fi
"$ANONCTL" get "$id_b" -o "$TMP/new.jpg" >/dev/null 2>&1
check reprocessed_output_decodes /usr/bin/python3 -c '
import sys, cv2
img = cv2.imread(sys.argv[1])
assert img is not None and img.shape[0] > 0, "does not decode"' "$TMP/new.jpg"
[ "$(s3_code "$ANON_INPUT_BUCKET" "$(sql "SELECT input_key FROM images WHERE id = $id_b")")" = 200 ] \
    && ok reprocessed_original_kept_by_retention || not_ok reprocessed_original_kept_by_retention
"$ANONCTL" reprocess --model tiny --camera "$CAM-b" --json >"$TMP/r4.json"
[ $? = 0 ] && [ -z "$(sent_ids "$TMP/r4.json")" ] && ok reprocess_idempotent_once_redone || not_ok reprocess_idempotent_once_redone

# ---------------------------------------------------------------- originals gone: listed and skipped
upload "$CAM-g" "$TMP/photos/sample5.jpg"
drain 3 --originals-retention 0
id_g=$(ids_of "$CAM-g")
"$ANONCTL" reprocess --camera "$CAM-g" --json >"$TMP/gone.json"
rc=$?
[ $rc = 1 ] && jq -se "map(select(.id == $id_g and .action == \"skipped\" and (.reason | test(\"original deleted at\")))) | length == 1" "$TMP/gone.json" >/dev/null &&
    [ "$(count "$CAM-g" done)" = 1 ] && ok reprocess_skips_deleted_original_with_reason \
    || not_ok reprocess_skips_deleted_original_with_reason "exit $rc: $(cat "$TMP/gone.json")"
"$ANONCTL" reprocess --camera "$CAM-g" | grep -q "^skipped image $id_g .*: original deleted at" \
    && ok reprocess_text_lists_skipped || not_ok reprocess_text_lists_skipped
# An original missing from the bucket although its row says held.
upload "$CAM-m" "$TMP/photos/sample6.jpg"
drain 4
id_m=$(ids_of "$CAM-m")
key=$(sql "SELECT input_key FROM images WHERE id = $id_m")
curl -s -o /dev/null -X DELETE --aws-sigv4 "aws:amz:${ANON_S3_REGION}:s3" \
    --user "${ANON_S3_ACCESS_KEY}:${ANON_S3_SECRET_KEY}" -H "x-amz-content-sha256: $EMPTY_SHA256" \
    "${ANON_S3_ENDPOINT}/$ANON_INPUT_BUCKET/$key"
"$ANONCTL" reprocess --camera "$CAM-m" --json >"$TMP/missing.json"
rc=$?
[ $rc = 1 ] && jq -se "map(select(.id == $id_m and .action == \"skipped\" and (.reason | test(\"not in the input bucket\")))) | length == 1" "$TMP/missing.json" >/dev/null &&
    [ "$(sql "SELECT status, original_deleted_at IS NOT NULL FROM images WHERE id = $id_m")" = "done|t" ] \
    && ok reprocess_skips_missing_original_and_records_it || not_ok reprocess_skips_missing_original_and_records_it "exit $rc: $(cat "$TMP/missing.json")"

# ---------------------------------------------------------------- retention 0 after a reprocess
"$ANONCTL" reprocess --camera "$CAM-a" --json >"$TMP/ra.json"
[ "$(sent_ids "$TMP/ra.json" | wc -l)" = 2 ] || not_ok reprocess_camera_a "$(cat "$TMP/ra.json")"
drain 5 --originals-retention 0 --model tiny
[ "$(sql "SELECT count(*) FROM images WHERE camera = '$CAM-a' AND status = 'done' AND model = 'tiny' AND original_deleted_at IS NOT NULL")" = 2 ] \
    && ok retention_0_deletes_original_after_reprocess || not_ok retention_0_deletes_original_after_reprocess "$(sql "SELECT status, model, original_deleted_at FROM images WHERE camera='$CAM-a'")"

! grep -l 'runtime error\|AddressSanitizer\|LeakSanitizer' "$TMP"/drain-*.log >/dev/null 2>&1 \
    && ok workers_sanitizer_clean || not_ok workers_sanitizer_clean
