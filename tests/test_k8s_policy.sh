#!/usr/bin/env bash
# Rung 3 of the manifest ladder: the project's practices
# (tests/k8s/policy.mjs) hold in every rendering. The broken fixtures
# testdata/k8s-broken/r3-* pass rung 2 but fail here.
# needs: npm (the pinned manifest checkers in .cache/k8s-validate)
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/k8s/ladder.sh"
need_node_deps

for t in "${TARGETS[@]}"; do
    if ! render_target "$t" "$TMP/$t.yaml"; then not_ok "policy.$t" "does not render"; continue; fi
    mapfile -t EXT < <(externals "$t")
    if out=$(policy "$TMP/$t.yaml" "${EXT[@]}" 2>&1); then ok "policy.$t"
    else not_ok "policy.$t" "$(head -c 600 <<<"$out" | tr '\n' ' ')"; fi
done

for f in $(fixtures r3); do
    name=broken.$(basename "$f")
    if ! render "$f" "$TMP/fixture.yaml"; then not_ok "$name" "fixture does not render"; continue; fi
    if ! out=$(schema "$TMP/fixture.yaml" 2>&1); then not_ok "$name" "fixture already fails rung 2: $(head -c 200 <<<"$out")"; continue; fi
    policy "$TMP/fixture.yaml" >"$TMP/out" 2>&1; rc=$?
    expect_failure "$name" "$TMP/out" "$rc" "$(expect_of "$f")"
done
