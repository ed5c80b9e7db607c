#!/usr/bin/env bash
# test_bad_inputs_cli.sh - `anonctl blur` (ASan/UBSan build) over the
# crash-* files of the generated corpus (scripts/make-bad-inputs: the scan
# decoder's and re-packer's defect classes, issue 14), as a user would run
# it on a folder of hostile photos, with the fast and the default preset
# (test_bad_inputs_pipeline runs the whole corpus through the same
# pipeline). Each run ends with exit 0 or 1, never a signal or a sanitizer
# report; each file libjpeg refuses or reports damaged (corpus.h) is one
# line on stderr and no output, each file it decodes cleanly is written as
# a JPEG.
source "$(dirname "$0")/lib.sh"
ANONCTL="$BIN/anonctl"
export ANON_MODEL_DIR=${ANON_MODEL_DIR:-$ROOT/.cache/models}

"$ROOT/scripts/make-bad-inputs" "$TMP/in" 2>/dev/null || { not_ok generate; exit 0; }
mkdir -p "$TMP/crash" && cp "$TMP/in"/crash-* "$TMP/crash/"

# What corpus.h expects of each file: NAME EXPECT_...
expectations=$(sed -n 's/^ *{"\([^"]*\)", \(EXPECT_[A-Z]*\),.*/\1 \2/p' "$ROOT/tests/corpus.h")
[ -n "$expectations" ] || not_ok expectations "none read from tests/corpus.h"

# run NAME DIR FLAGS...: one anonctl blur over DIR, checked file by file.
run() {
    local name=$1 dir=$2; shift 2
    local out=$TMP/out-$name
    "$ANONCTL" blur "$@" -j 1 -o "$out" "$dir" >"$TMP/$name.json" 2>"$TMP/$name.err"
    local rc=$?
    if [ $rc -le 1 ]; then ok "$name.exit"; else not_ok "$name.exit" "exit $rc: $(tail -n 3 "$TMP/$name.err")"; fi
    if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' "$TMP/$name.err"; then
        not_ok "$name.sanitizers" "$(grep -m1 -E 'ERROR|runtime error' "$TMP/$name.err")"
    else
        ok "$name.sanitizers"
    fi
    local bad=""
    while read -r file expect; do
        [ -e "$dir/$file" ] || continue
        local base=${file%.*} lines
        lines=$(grep -c "/$file: " "$TMP/$name.err")
        case $expect in
            EXPECT_FAILS|EXPECT_DAMAGED)    # a damaged file is refused, never half-written
                [ "$lines" -eq 1 ] && ! ls "$out/$base".* >/dev/null 2>&1 || bad="$bad $file" ;;
            *)
                [ "$lines" -eq 0 ] && [ -s "$out/$file" ] || bad="$bad $file"
                if [[ $file == *.jpg ]] && [ -s "$out/$file" ] &&
                   [ "$(head -c 2 "$out/$file" | od -An -tx1 | tr -d ' ')" != ffd8 ]; then
                    bad="$bad $file"
                fi ;;
        esac
    done <<<"$expectations"
    if [ -z "$bad" ]; then ok "$name.each_file"; else not_ok "$name.each_file" "$bad"; fi
}

run fast "$TMP/crash" --model tiny --preset fast
run default "$TMP/crash" --model tiny
