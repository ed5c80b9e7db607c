#!/usr/bin/env bash
# svc_originals.sh - what becomes of originals, on the real stack: with the
# default retention (0) a worker deletes the original once the row is done
# or rejected, and records when; a failed delete leaves the row done and
# `anonctl purge` catches it; with 30d it is kept until purge finds it past
# the retention (--dry-run deletes nothing, two purges at once delete each
# once, a second run finds nothing); a short retention (2s) is purged as
# soon as it has passed; retry's rejections follow the rule; `anonctl
# status` shows the originals held and the oldest; and the original of an
# unfinished image is never deleted, whatever its row's times say.
SUITE=svc_originals
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/intake_lib.sh"
source "$(dirname "$0")/pipeline_lib.sh"
unset ANON_ORIGINALS_RETENTION   # the default, 0
CAM=orig$$

keys_of() { sql "SELECT input_key FROM images WHERE camera = '$1' ORDER BY id"; }
ids_of() { sql "SELECT id FROM images WHERE camera = '$1' ORDER BY id"; }
# held CAM: how many of the camera's originals are in the input bucket.
held() {
    local n=0 k
    for k in $(keys_of "$1"); do [ "$(s3_code "$ANON_INPUT_BUCKET" "$k")" = 200 ] && n=$((n + 1)); done
    echo $n
}
marked() { sql "SELECT count(*) FROM images WHERE camera = '$1' AND original_deleted_at IS NOT NULL"; }
age_back() { sql "UPDATE images SET finished_at = now() - interval '$2' WHERE camera = '$1'" >/dev/null; }
# purged_ids FILE...: the ids purge --json reported deleted, one a line.
purged_ids() { cat "$@" | jq -r 'select(.action == "deleted") | .id'; }
# has_none FILE CAM: none of the camera's ids is in purge's output.
has_none() { ! purged_ids "$1" | grep -qxF -f <(ids_of "$2"); }

# A PNG whose header is fine and whose pixel data is garbage: rejected.
/usr/bin/python3 - "$TMP/corrupt.png" <<'PY'
import struct, sys, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
ihdr = struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0)
open(sys.argv[1], "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) +
                              chunk(b"IDAT", b"not zlib at all" * 8) + chunk(b"IEND", b""))
PY
# upload CAM FILE...: through the intake, as a camera would.
upload() { local cam=$1; shift; "$ANONCTL" upload -q --camera "$cam" "$@" >/dev/null 2>&1; }

# ---------------------------------------------------------------- default: deleted once done
upload "$CAM-0" "$TMP/photos/sample1.jpg" "$TMP/photos/sample2.jpg" "$TMP/corrupt.png"
[ "$(held "$CAM-0")" = 3 ] && ok queued_originals_stored || not_ok queued_originals_stored "$(held "$CAM-0") of 3"
drain 0
if [ "$(count "$CAM-0" done)" = 2 ] && [ "$(count "$CAM-0" rejected)" = 1 ] &&
   [ "$(held "$CAM-0")" = 0 ] && [ "$(marked "$CAM-0")" = 3 ]; then
    ok default_retention_deletes_done_and_rejected_originals
else
    not_ok default_retention_deletes_done_and_rejected_originals "held $(held "$CAM-0"), marked $(marked "$CAM-0"): $(sql "SELECT status, count(*) FROM images WHERE camera='$CAM-0' GROUP BY 1")"
fi
[ "$(jq -r 'select(.event == "job" and (.outcome == "done" or .outcome == "rejected")) | .original' "$TMP/drain-0.log" | sort -u)" = deleted ] \
    && ok drain_logs_original_deleted || not_ok drain_logs_original_deleted "$(grep '"job"' "$TMP/drain-0.log" | head -3)"
jq -se 'map(select(.event == "start")) | .[0].originals_retention == "0"' "$TMP/drain-0.log" >/dev/null \
    && ok drain_start_logs_retention || not_ok drain_start_logs_retention "$(head -1 "$TMP/drain-0.log")"
id=$(ids_of "$CAM-0" | head -n1)
"$ANONCTL" get "$id" --json >"$TMP/rec.json" 2>&1
json_true "$TMP/rec.json" '.original_deleted_at | test("^[0-9-]+T")' && ok record_says_when_original_deleted \
    || not_ok record_says_when_original_deleted "$(cat "$TMP/rec.json")"

# ---------------------------------------------------------------- a failed delete: done anyway, purge catches it
upload "$CAM-f" "$TMP/photos/sample3.jpg"
ANON_INPUT_BUCKET=no-such-bucket-$$ drain 1
[ "$(count "$CAM-f" done)" = 1 ] && [ "$(held "$CAM-f")" = 1 ] && [ "$(marked "$CAM-f")" = 0 ] \
    && ok failed_delete_leaves_row_done || not_ok failed_delete_leaves_row_done "$(sql "SELECT status, original_deleted_at FROM images WHERE camera='$CAM-f'"), held $(held "$CAM-f")"
grep '"outcome":"done"' "$TMP/drain-1.log" | grep -q '"original":"not deleted: ' \
    && ok failed_delete_logged || not_ok failed_delete_logged "$(grep '"job"' "$TMP/drain-1.log")"
"$ANONCTL" purge --json >"$TMP/purge-f.json" 2>&1
rc=$?
[ $rc = 0 ] && [ "$(held "$CAM-f")" = 0 ] && [ "$(marked "$CAM-f")" = 1 ] && purged_ids "$TMP/purge-f.json" | grep -qxF "$(ids_of "$CAM-f")" \
    && ok purge_catches_failed_delete || not_ok purge_catches_failed_delete "exit $rc: $(tail -2 "$TMP/purge-f.json")"

# ---------------------------------------------------------------- 30d: kept, purged once past it
upload "$CAM-k" "$TMP/photos/sample4.jpg" "$TMP/photos/sample5.jpg" "$TMP/photos/sample6.jpg"
drain 2 --originals-retention 30d
[ "$(count "$CAM-k" done)" = 3 ] && [ "$(held "$CAM-k")" = 3 ] && [ "$(marked "$CAM-k")" = 0 ] \
    && ok retention_30d_keeps_originals || not_ok retention_30d_keeps_originals "held $(held "$CAM-k"), marked $(marked "$CAM-k")"
[ "$(jq -r 'select(.outcome == "done") | .original' "$TMP/drain-2.log" | sort -u)" = kept ] \
    && ok drain_logs_original_kept || not_ok drain_logs_original_kept
export ANON_ORIGINALS_RETENTION=30d
"$ANONCTL" purge --json >"$TMP/purge-k0.json" 2>&1
has_none "$TMP/purge-k0.json" "$CAM-k" && [ "$(held "$CAM-k")" = 3 ] \
    && ok purge_keeps_originals_within_retention || not_ok purge_keeps_originals_within_retention "$(cat "$TMP/purge-k0.json")"
age_back "$CAM-k" '31 days'
"$ANONCTL" status --camera "$CAM-k" --json >"$TMP/status-k.json"
json_true "$TMP/status-k.json" '.originals.held == 3 and .originals.held_finished == 3 and .originals.past_retention == 3
    and .originals.retention == "30d" and .originals.oldest_seconds > 0' \
    && ok status_json_shows_originals_held_and_oldest || not_ok status_json_shows_originals_held_and_oldest "$(jq -c .originals "$TMP/status-k.json")"
"$ANONCTL" status --camera "$CAM-k" >"$TMP/status-k.txt"
grep -q '^originals held: 3 (3 of finished images), the oldest stored .* ago' "$TMP/status-k.txt" &&
    grep -q 'retention here 30d: 3 past it' "$TMP/status-k.txt" \
    && ok status_text_shows_originals_held_and_oldest || not_ok status_text_shows_originals_held_and_oldest "$(grep -A1 originals "$TMP/status-k.txt")"

"$ANONCTL" purge --dry-run --json >"$TMP/dry.json" 2>&1
rc=$?
if [ $rc = 0 ] && [ "$(purged_ids "$TMP/dry.json" | grep -cxF -f <(ids_of "$CAM-k"))" = 3 ] &&
   jq -se 'map(select(.id)) | all(.dry_run)' "$TMP/dry.json" >/dev/null &&
   [ "$(held "$CAM-k")" = 3 ] && [ "$(marked "$CAM-k")" = 0 ]; then
    ok purge_dry_run_lists_and_deletes_nothing
else
    not_ok purge_dry_run_lists_and_deletes_nothing "exit $rc, held $(held "$CAM-k"), marked $(marked "$CAM-k"): $(tail -2 "$TMP/dry.json")"
fi

# Two at once: each original deleted once in all, both exit 0.
"$ANONCTL" purge --json >"$TMP/p1.json" 2>&1 & p1=$!
"$ANONCTL" purge --json >"$TMP/p2.json" 2>&1 & p2=$!
wait $p1; rc1=$?; wait $p2; rc2=$?
[ $rc1 = 0 ] && [ $rc2 = 0 ] && ok two_purges_at_once_exit_0 || not_ok two_purges_at_once_exit_0 "exit $rc1 $rc2: $(tail -1 "$TMP/p1.json" "$TMP/p2.json")"
mine=$(purged_ids "$TMP/p1.json" "$TMP/p2.json" | grep -xF -f <(ids_of "$CAM-k") | sort)
if [ "$(echo "$mine" | wc -l)" = 3 ] && [ "$(echo "$mine" | uniq | wc -l)" = 3 ] &&
   [ -z "$(purged_ids "$TMP/p1.json" "$TMP/p2.json" | sort | uniq -d)" ]; then
    ok two_purges_delete_each_original_once
else
    not_ok two_purges_delete_each_original_once "$(cat "$TMP/p1.json" "$TMP/p2.json" | head -8)"
fi
[ "$(held "$CAM-k")" = 0 ] && [ "$(marked "$CAM-k")" = 3 ] && ok purged_past_retention \
    || not_ok purged_past_retention "held $(held "$CAM-k"), marked $(marked "$CAM-k")"
before=$(sql "SELECT max(original_deleted_at) FROM images WHERE camera = '$CAM-k'")
"$ANONCTL" purge --json >"$TMP/again.json" 2>&1
rc=$?
[ $rc = 0 ] && has_none "$TMP/again.json" "$CAM-k" && [ "$(sql "SELECT max(original_deleted_at) FROM images WHERE camera = '$CAM-k'")" = "$before" ] \
    && ok purge_idempotent || not_ok purge_idempotent "exit $rc: $(cat "$TMP/again.json")"
"$ANONCTL" status --camera "$CAM-k" --json | jq -e '.originals.held == 0 and .originals.oldest_seconds == null' >/dev/null \
    && ok status_after_purge_holds_none || not_ok status_after_purge_holds_none
"$ANONCTL" purge --originals-retention forever --json >"$TMP/forever.json" 2>&1
[ $? = 0 ] && json_true "$TMP/forever.json" '.summary == "purge" and .deleted == 0 and .retention == "forever"' \
    && ok purge_forever_deletes_nothing || not_ok purge_forever_deletes_nothing "$(cat "$TMP/forever.json")"

# ---------------------------------------------------------------- a short retention, and a rejected image
upload "$CAM-s" "$TMP/photos/sample1.jpg" "$TMP/corrupt.png"
ANON_ORIGINALS_RETENTION=2s drain 3    # exits once idle for 3 s: the retention has passed
if [ "$(count "$CAM-s" done)" = 1 ] && [ "$(count "$CAM-s" rejected)" = 1 ] && [ "$(held "$CAM-s")" = 2 ]; then
    ok short_retention_kept_by_worker
else
    not_ok short_retention_kept_by_worker "held $(held "$CAM-s"): $(sql "SELECT status, count(*) FROM images WHERE camera='$CAM-s' GROUP BY 1")"
fi
sleep 1
"$ANONCTL" purge --originals-retention 2s >"$TMP/short.txt" 2>&1
[ $? = 0 ] && [ "$(held "$CAM-s")" = 0 ] && [ "$(marked "$CAM-s")" = 2 ] && grep -q '^purge: .* deleted (retention 2s)' "$TMP/short.txt" \
    && ok short_retention_purged_done_and_rejected || not_ok short_retention_purged_done_and_rejected "held $(held "$CAM-s"): $(tail -1 "$TMP/short.txt")"

# ---------------------------------------------------------------- retry's rejections follow the rule
upload "$CAM-x" "$TMP/photos/sample2.jpg"
sql "UPDATE images SET status = 'failed', attempts = 50, error = 'test: worn out' WHERE camera = '$CAM-x'" >/dev/null
ANON_ORIGINALS_RETENTION=0 "$ANONCTL" retry --json >"$TMP/retry.json" 2>&1
[ "$(count "$CAM-x" rejected)" = 1 ] && [ "$(held "$CAM-x")" = 0 ] && [ "$(marked "$CAM-x")" = 1 ] \
    && ok retry_rejection_deletes_original_at_retention_0 || not_ok retry_rejection_deletes_original_at_retention_0 "held $(held "$CAM-x"): $(tail -2 "$TMP/retry.json")"

# ---------------------------------------------------------------- unfinished images: never
upload "$CAM-u" "$TMP/photos/sample3.jpg" "$TMP/photos/sample4.jpg" "$TMP/photos/sample5.jpg" "$TMP/photos/sample6.jpg"
ids=($(ids_of "$CAM-u"))
sql "UPDATE images SET status = 'received' WHERE id = ${ids[0]};
     UPDATE images SET status = 'processing', worker = 'w/0' WHERE id = ${ids[1]};
     UPDATE images SET status = 'failed', error = 'test' WHERE id = ${ids[2]};
     UPDATE images SET finished_at = now() - interval '400 days' WHERE camera = '$CAM-u'" >/dev/null
"$ANONCTL" purge --originals-retention 0 --json >"$TMP/unfinished.json" 2>&1
rc=$?
[ $rc = 0 ] && has_none "$TMP/unfinished.json" "$CAM-u" && [ "$(held "$CAM-u")" = 4 ] && [ "$(marked "$CAM-u")" = 0 ] \
    && ok purge_never_touches_unfinished || not_ok purge_never_touches_unfinished "exit $rc, held $(held "$CAM-u")"
ANON_ORIGINALS_RETENTION=0 "$ANONCTL" retry --received-age 3600 --queued-age 3600 --processing-age 3600 --max-attempts 1000 >/dev/null 2>&1
[ "$(held "$CAM-u")" = 4 ] && ok retry_never_touches_unfinished || not_ok retry_never_touches_unfinished "held $(held "$CAM-u")"
"$ANONCTL" status --camera "$CAM-u" --json | jq -e '.originals.held == 4 and .originals.held_finished == 0 and .originals.past_retention == 0' >/dev/null \
    && ok status_counts_unfinished_originals_held || not_ok status_counts_unfinished_originals_held
# Nothing may drain these: this suite's queue goes with it.
curl -s -u guest:guest -X DELETE "$ANON_AMQP_MANAGEMENT_URL/api/queues/%2f/$ANON_QUEUE" >/dev/null

"$ANONCTL" purge --originals-retention 3x >/dev/null 2>"$TMP/bad.err"
[ $? = 2 ] && grep -q 'ANON_ORIGINALS_RETENTION' "$TMP/bad.err" && ok purge_bad_retention_usage_error \
    || not_ok purge_bad_retention_usage_error "$(cat "$TMP/bad.err")"

! grep -l 'runtime error\|AddressSanitizer\|LeakSanitizer' "$TMP"/drain-*.log >/dev/null 2>&1 \
    && ok workers_sanitizer_clean || not_ok workers_sanitizer_clean
