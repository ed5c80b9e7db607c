#!/usr/bin/env bash
# svc_pipeline_ops.sh - what operators lean on: a worker stops cleanly on
# SIGTERM (the Kubernetes termination signal) losing nothing; refused object
# store credentials stop a worker with the configuration exit code instead
# of burning through the queue; a cluster's URL list is accepted;
# `anonctl retry` republishes dead letters (also one whose row a worker
# could not mark failed), changes nothing with --dry-run, speaks JSON, and
# two at once never handle the same row.
SUITE=svc_pipeline_ops
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/intake_lib.sh"
source "$(dirname "$0")/pipeline_lib.sh"
CAM=ops$$

# ---------------------------------------------------------------- SIGTERM
"$ANONCTL" upload -q --camera "$CAM-t" "$TMP/photos" >/dev/null 2>&1
JOB_COMPLETION_INDEX=0 "$ANONCTL" drain --idle-exit 30 >"$TMP/term.log" 2>&1 & worker=$!
for _ in $(seq 1 600); do grep -q '"outcome":"done"' "$TMP/term.log" && break; sleep 0.1; done
kill -TERM $worker
start=$SECONDS
wait $worker; rc=$?
[ $rc = 0 ] && ok sigterm_exit_0 || not_ok sigterm_exit_0 "exit $rc"
[ $((SECONDS - start)) -le 20 ] && ok sigterm_exits_promptly || not_ok sigterm_exits_promptly "$((SECONDS - start)) s"
grep -q '"stopped_by_signal":true' "$TMP/term.log" && ok sigterm_logged || not_ok sigterm_logged
drain 1
[ "$(count "$CAM-t" done)" = $N ] && ok sigterm_nothing_lost || not_ok sigterm_nothing_lost "$(sql "SELECT status, count(*) FROM images WHERE camera='$CAM-t' GROUP BY 1")"

# ---------------------------------------------------------------- refused credentials
"$ANONCTL" upload -q --camera "$CAM-s" "$TMP/photos/sample1.jpg" >/dev/null 2>&1
ANON_S3_SECRET_KEY=wrong-secret "$ANONCTL" drain --idle-exit 5 >"$TMP/refused.log" 2>&1
rc=$?
[ $rc = 3 ] && ok refused_credentials_exit_3 || not_ok refused_credentials_exit_3 "exit $rc"
grep -q '"outcome":"refused"' "$TMP/refused.log" && ok refused_job_logged || not_ok refused_job_logged
drain 2
[ "$(count "$CAM-s" done)" = 1 ] && ok refused_job_done_by_next_worker || not_ok refused_job_done_by_next_worker

# ---------------------------------------------------------------- a cluster's URL list
# ANON_AMQP_URL may name a cluster's nodes, comma-separated: every command
# takes the list, and a malformed member is a configuration error.
ANON_AMQP_URL="$ANON_AMQP_URL,$ANON_AMQP_URL" "$ANONCTL" status --json >"$TMP/list.json" 2>&1 \
    && ok amqp_url_list_accepted || not_ok amqp_url_list_accepted "$(tail -1 "$TMP/list.json")"
ANON_AMQP_URL="$ANON_AMQP_URL,amqp://guest:guest@127.0.0.1:port/%2f" "$ANONCTL" status >/dev/null 2>&1
rc=$?
[ $rc = 3 ] && ok amqp_url_list_malformed_member_exit_3 || not_ok amqp_url_list_malformed_member_exit_3 "exit $rc"

# ---------------------------------------------------------------- retry and dead letters
"$ANONCTL" upload -q --camera "$CAM-d" "$TMP/photos/sample2.jpg" >/dev/null 2>&1
id=$(sql "SELECT id FROM images WHERE camera = '$CAM-d'")
key=$(sql "SELECT input_key FROM images WHERE camera = '$CAM-d'")
sha=$(sql "SELECT sha256 FROM images WHERE camera = '$CAM-d'")
# Make it what the queue leaves after the delivery limit: its message in
# the dead-letter queue (published there below), its row failed. Its first
# message is still in the main queue; drained later, it finds the row done.
sql "UPDATE images SET status = 'failed', error = 'test: dead-lettered' WHERE id = $id" >/dev/null
body=$(jq -cn --argjson id "$id" --arg b "$ANON_INPUT_BUCKET" --arg k "$key" --arg s "$sha" \
    '{id: $id, bucket: $b, key: $k, sha256: $s, attempt: 1}')
publish_dead() {
    curl -s -u guest:guest -H 'content-type: application/json' -X POST \
        "$ANON_AMQP_MANAGEMENT_URL/api/exchanges/%2f/amq.default/publish" \
        -d "$(jq -cn --arg rk "$ANON_QUEUE.dead" --arg p "$1" \
              '{properties: {delivery_mode: 2}, routing_key: $rk, payload: $p, payload_encoding: "string"}')"
}
publish_dead "$body" | grep -q '"routed":true' && ok dead_letter_published || not_ok dead_letter_published
publish_dead 'not json at all' >/dev/null

"$ANONCTL" retry --dry-run --json --received-age 3600 --queued-age 3600 --processing-age 3600 >"$TMP/dry.json" 2>&1
[ "$(sql "SELECT status FROM images WHERE id = $id")" = failed ] && ok dry_run_changes_nothing || not_ok dry_run_changes_nothing
tail -n1 "$TMP/dry.json" >"$TMP/dry.last" && json_true "$TMP/dry.last" '.dry_run == true' && ok dry_run_says_so || not_ok dry_run_says_so "$(tail -2 "$TMP/dry.json")"

# Two passes at once: each row and dead letter is handled once in all.
"$ANONCTL" retry --json --received-age 3600 --queued-age 3600 --processing-age 3600 >"$TMP/r1.json" 2>&1 & r1=$!
"$ANONCTL" retry --json --received-age 3600 --queued-age 3600 --processing-age 3600 >"$TMP/r2.json" 2>&1 & r2=$!
wait $r1; rc1=$?; wait $r2; rc2=$?
[ $rc1 = 0 ] && [ $rc2 = 0 ] && ok two_retries_at_once_exit_0 || not_ok two_retries_at_once_exit_0 "exit $rc1 $rc2: $(cat "$TMP/r1.json" "$TMP/r2.json" | tail -3)"
all=$(cat "$TMP/r1.json" "$TMP/r2.json")
if [ "$(echo "$all" | jq -s "[.[] | select(.id == $id and .action == \"republished\")] | length")" = 1 ] &&
   [ "$(echo "$all" | jq -s '[.[] | select(.summary == "retry")] | length')" = 2 ]; then
    ok retry_output_is_json_and_row_handled_once
else
    not_ok retry_output_is_json_and_row_handled_once "$all"
fi
echo "$all" | jq -s -e '[.[] | select(.action == "dropped" and .id == 0)] | length == 1' >/dev/null \
    && ok unreadable_dead_letter_dropped_once || not_ok unreadable_dead_letter_dropped_once "$all"
drain 3
[ "$(sql "SELECT status FROM images WHERE id = $id")" = done ] && ok dead_letter_ends_done || not_ok dead_letter_ends_done
depth=$("$ANONCTL" status --json | jq '.queue.dead_letters')
[ "$depth" = 0 ] && ok dead_letter_queue_empty || not_ok dead_letter_queue_empty "$depth left"

# ---------------------------------------------------------------- a dead letter whose row is still queued
# A worker that cannot reach PostgreSQL gives its jobs back without marking
# the rows failed: at the delivery limit the message dies while its row
# still says queued. Retry must republish it, not take it for a copy of a
# message it republished itself (found by scripts/chaos).
"$ANONCTL" upload -q --camera "$CAM-q" "$TMP/photos/sample3.jpg" >/dev/null 2>&1
qid=$(sql "SELECT id FROM images WHERE camera = '$CAM-q'")
for _ in $(seq 1 10); do   # rejected until the queue dead-letters it (the broker adds x-death)
    [ "$("$ANONCTL" status --json | jq '.queue.dead_letters')" = 1 ] && break
    curl -s -u guest:guest -H 'content-type: application/json' -X POST \
        "$ANON_AMQP_MANAGEMENT_URL/api/queues/%2f/$ANON_QUEUE/get" \
        -d '{"count": 1, "ackmode": "reject_requeue_true", "encoding": "auto"}' >/dev/null
    sleep 0.2
done
[ "$(sql "SELECT status FROM images WHERE id = $qid")" = queued ] && \
    [ "$("$ANONCTL" status --json | jq '.queue.dead_letters')" = 1 ] \
    && ok queued_row_dead_lettered || not_ok queued_row_dead_lettered
"$ANONCTL" retry --json >"$TMP/rq.json" 2>&1
jq -s -e "[.[] | select(.id == $qid and .dead_letter and .action == \"republished\")] | length == 1" \
    <"$TMP/rq.json" >/dev/null && ok dead_letter_of_queued_row_republished \
    || not_ok dead_letter_of_queued_row_republished "$(cat "$TMP/rq.json")"
drain 4
[ "$(sql "SELECT status FROM images WHERE id = $qid")" = done ] && ok dead_letter_of_queued_row_ends_done \
    || not_ok dead_letter_of_queued_row_ends_done "$(sql "SELECT status FROM images WHERE id = $qid")"
