#!/usr/bin/env bash
# svc_chaos.sh - the chaos campaign, short: about 60 photos through the
# intake (anonctl upload and curl) to three drain workers on a private
# 3-node RabbitMQ stack, with one fault of each kind (a worker and the
# intake killed with -9, the clients' RabbitMQ node killed, PostgreSQL
# restarted fast and immediate, the S3 endpoint unreachable, a worker's
# network to one service cut), then every check of scripts/chaos: nothing
# lost, nothing duplicated, outputs right, no orphans, queues empty. Uses
# its own stack (scripts/stack in a private directory and port block), so
# it runs beside the suite's. The full campaign is `make chaos`.
SUITE=svc_chaos
source "$(dirname "$0")/lib.sh"

# The sanitizer builds of the programs under test; one detection pass per
# photo (the campaign is about integrity, not detection).
nice /usr/bin/python3 "$ROOT/scripts/chaos" --short --photos "${CHAOS_SHORT_PHOTOS:-60}" \
    --bin "$BIN" --suite "$SUITE" >"$TMP/chaos.out" 2>&1
rc=$?
grep -E '^(not )?ok ' "$TMP/chaos.out"
if [ $rc -eq 0 ]; then
    ok campaign_exit_0
else
    not_ok campaign_exit_0 "exit $rc"
    grep -v -E '^(not )?ok ' "$TMP/chaos.out" | tail -n 40 | sed 's/^/# /'
fi
grep -E '^(fault:|photos|images|done|rejected|lost|duplicated|longest|refused)' "$TMP/chaos.out" | sed 's/^/# /'
