#!/usr/bin/env bash
# Rung 1 of the manifest ladder: every kustomization renders with the
# pinned kubectl/kustomize (scripts/kubectl), and the broken fixtures
# testdata/k8s-broken/r1-* do not.
# needs: npm (the pinned manifest checkers in .cache/k8s-validate)
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/k8s/ladder.sh"

if v=$(kctl version --client 2>&1) && grep -q 'Kustomize Version: v5' <<<"$v"; then
    ok "kubectl ($(tr '\n' ' ' <<<"$v"))"
else
    not_ok kubectl "no kubectl with kustomize v5: $v"; exit 0
fi

for dir in "$ROOT"/manifests/base "$ROOT"/jobs "$ROOT"/cronjobs "$ROOT"/manifests/overlays/*/; do
    dir=${dir%/}; name=${dir#"$ROOT"/manifests/}
    if render "$dir" "$TMP/out" && grep -q '^kind:' "$TMP/out"; then ok "render.$name"
    else not_ok "render.$name" "$(head -c 300 "$TMP/out")"; fi
done

for f in $(fixtures r1); do
    render "$f" "$TMP/out"; rc=$?
    expect_failure "broken.$(basename "$f")" "$TMP/out" "$rc" "$(expect_of "$f")"
done
