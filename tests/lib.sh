# tests/lib.sh - helpers for shell tests, sourced by tests/*.sh.
#
# A shell test prints `ok NAME` / `not ok NAME: why` lines, like the C
# tests, and scripts/run-tests counts them. Paths a test needs:
#   ROOT      the repository
#   BIN       directory of the binaries under test (ASan build)
#   TMP       a private scratch directory, removed at exit

ROOT=${ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BIN=${BIN:-$ROOT/build/asan}
TMP=$(mktemp -d /tmp/anon-test.XXXXXX)
trap 'rm -rf "$TMP"' EXIT
SUITE=${SUITE:-$(basename "$0" .sh)}

ok()     { echo "ok $SUITE.$1"; }
not_ok() { echo "not ok $SUITE.$1: ${2:-failed}"; }

# check NAME CMD...: runs CMD, ok when it exits 0.
check() {
    local name=$1; shift
    local out
    if out=$("$@" 2>&1); then ok "$name"; else not_ok "$name" "$(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"; fi
}

# check_fails NAME CMD...: ok when CMD exits non-zero.
check_fails() {
    local name=$1; shift
    if "$@" >/dev/null 2>&1; then not_ok "$name" "expected failure: $*"; else ok "$name"; fi
}

# json_true FILE FILTER: ok when FILE holds JSON and FILTER is true for it
# (jq -e alone also passes on an empty file).
json_true() { [ -s "$1" ] && jq -e "$2" "$1" >/dev/null 2>&1; }
