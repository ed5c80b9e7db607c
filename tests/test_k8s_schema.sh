#!/usr/bin/env bash
# Rung 2 of the manifest ladder: every rendered object would be accepted
# by a Kubernetes 1.33 API server (tests/k8s/schema.mjs: YAML 1.1 and
# duplicate keys, JSON schema, unknown fields, server-side rules). The
# broken fixtures testdata/k8s-broken/r2-* render but fail here.
# needs: npm (the pinned manifest checkers in .cache/k8s-validate)
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/k8s/ladder.sh"
need_node_deps

mapfile -t SRC < <(sources)
for t in "${TARGETS[@]}"; do
    if ! render_target "$t" "$TMP/$t.yaml"; then not_ok "schema.$t" "does not render"; continue; fi
    if out=$(schema "$TMP/$t.yaml" --sources "${SRC[@]}" 2>&1); then ok "schema.$t"
    else not_ok "schema.$t" "$(head -c 600 <<<"$out" | tr '\n' ' ')"; fi
done

for f in $(fixtures r2); do
    name=broken.$(basename "$f")
    if ! render "$f" "$TMP/fixture.yaml"; then not_ok "$name" "fixture does not render: $(head -c 200 "$TMP/fixture.yaml")"; continue; fi
    mapfile -t FSRC < <(find "$f" -name '*.yaml')
    schema "$TMP/fixture.yaml" --sources "${FSRC[@]}" >"$TMP/out" 2>&1; rc=$?
    expect_failure "$name" "$TMP/out" "$rc" "$(expect_of "$f")"
done
