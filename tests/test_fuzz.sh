#!/usr/bin/env bash
# test_fuzz.sh - every libFuzzer harness (build/fuzz/fuzz_NAME, built by
# make test-build from tests/fuzz/) run over its seed corpus
# (scripts/fuzz-seeds NAME) and then FUZZ_TEST_SECONDS (default 20) of
# fuzzing from it, so that a regression in any parser fails CI. A finding
# (crash, sanitizer report, leak, timeout) fails the harness's line; its
# input is kept in build/fuzz/findings/NAME/. `make fuzz` runs the
# harnesses for longer and keeps their corpora.
# needs: slow (20 s of fuzzing per harness; make check leaves it to make test)
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
SECONDS_EACH=${FUZZ_TEST_SECONDS:-20}

names=()
for h in build/fuzz/fuzz_*; do
    [ -x "$h" ] && [[ $h != *.d ]] && names+=("${h#build/fuzz/fuzz_}")
done
if [ ${#names[@]} -eq 0 ]; then
    not_ok harnesses_built "no harness in build/fuzz (make fuzz-build)"
    exit 0
fi
for name in "${names[@]}"; do
    out=$(scripts/fuzz -t "$SECONDS_EACH" -c "$TMP/corpus" "$name" 2>&1)
    if [ $? -eq 0 ]; then
        ok "$name"
        echo "# $out"
    else
        not_ok "$name" "$(printf '%s' "$out" | tr '\n' ' ')"
    fi
done
