#!/usr/bin/env bash
# svc_stack.sh - scripts/stack and `anonctl migrate` as a user runs them:
# idempotent `up`, `status`, `env`, stop/start of one service, and the
# migrate command (twice, concurrently, bad URLs).
source "$(dirname "$0")/lib.sh"
STACK=$ROOT/scripts/stack
CTL=$BIN/anonctl

check up_is_idempotent "$STACK" up
check status_all_running "$STACK" status

env_has_everything() {
    local out v
    out=$("$STACK" env) || return 1
    for v in ANON_DB_URL ANON_AMQP_URL ANON_S3_ENDPOINT ANON_S3_REGION ANON_S3_ACCESS_KEY \
             ANON_S3_SECRET_KEY ANON_INPUT_BUCKET ANON_OUTPUT_BUCKET; do
        grep -q "^export $v=" <<<"$out" || { echo "missing $v"; return 1; }
    done
}
check env_lists_every_setting env_has_everything

migrate_twice_concurrently() {
    "$CTL" migrate >"$TMP/m1" 2>&1 & local p1=$!
    "$CTL" migrate >"$TMP/m2" 2>&1 & local p2=$!
    wait $p1 && wait $p2 || { cat "$TMP/m1" "$TMP/m2"; return 1; }
    "$CTL" migrate | grep -q '^migrate: 0 applied'
}
check migrate_idempotent_and_concurrent migrate_twice_concurrently

migrate_bad_url() {
    local rc
    ANON_DB_URL='postgresql://u:secretpw@h:notaport/db' "$CTL" migrate >"$TMP/out" 2>&1; rc=$?
    [ $rc -eq 3 ] || { echo "exit $rc"; return 1; }
    grep -q 'ANON_DB_URL is malformed' "$TMP/out" && ! grep -q secretpw "$TMP/out"
}
check migrate_malformed_url_is_config_error migrate_bad_url

migrate_unreachable() {
    local rc
    ANON_DB_URL='postgresql://anon:anon@127.0.0.1:1/anon' "$CTL" migrate >/dev/null 2>&1; rc=$?
    [ $rc -eq 4 ]
}
check migrate_unreachable_is_unavailable migrate_unreachable
check migrate_help "$CTL" migrate --help
check migrate_list "$CTL" migrate --list

restart_postgres() {
    "$STACK" stop postgres && ! "$STACK" status >/dev/null && "$STACK" start postgres &&
        "$STACK" status >/dev/null && "$CTL" migrate >/dev/null
}
check stop_and_start_one_service restart_postgres
