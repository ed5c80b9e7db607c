#!/usr/bin/env bash
# Rung 4 of the manifest ladder: the Dockerfile's hygiene
# (tests/k8s/dockerfile.mjs). Each broken fixture
# testdata/k8s-broken/r4-*.Dockerfile fails with the error in its
# `# expect:` line.
# needs: npm (the pinned manifest checkers in .cache/k8s-validate)
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/k8s/ladder.sh"

if out=$(node "$K8S_NODE/dockerfile.mjs" "$ROOT/Dockerfile" 2>&1); then ok dockerfile
else not_ok dockerfile "$(head -c 600 <<<"$out" | tr '\n' ' ')"; fi

for f in "$BROKEN"/r4-*.Dockerfile; do
    [ -e "$f" ] || continue
    node "$K8S_NODE/dockerfile.mjs" "$f" >"$TMP/out" 2>&1; rc=$?
    expect_failure "broken.$(basename "$f" .Dockerfile)" "$TMP/out" "$rc" "$(sed -n 's/^# expect: //p' "$f")"
done
