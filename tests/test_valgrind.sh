#!/usr/bin/env bash
# test_valgrind.sh - the release anonctl under valgrind on a few inputs:
# a photo, a damaged JPEG and PNG (accepted: the part not read filled), a
# decompression bomb and an empty file. No
# invalid access, no uninitialised use, no leak (the ASan build covers the
# rest of the suite; this checks the optimised binary users run).
# needs: slow (valgrind; make check leaves it to make test)
source "$(dirname "$0")/lib.sh"
command -v valgrind >/dev/null || { not_ok valgrind_installed; exit 0; }
"$ROOT/scripts/make-bad-inputs" "$TMP/bad" >/dev/null 2>&1
cd "$TMP/bad" || exit 1
valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite -q \
    "$ROOT/build/anonctl" blur -q -j 1 --model tiny --preset fast -o "$TMP/out" \
    "$ROOT/.cache/face-api/package/demo/sample2.jpg" recover-corrupt-entropy.jpg \
    recover-truncated.png bad-bomb.png bad-zero-bytes.jpg ok-orient-6.jpg --accept-damaged \
    >"$TMP/vg.log" 2>&1
rc=$?
[ $rc = 1 ] && ok blur_clean_under_valgrind || not_ok blur_clean_under_valgrind "exit $rc: $(grep -m3 '==' "$TMP/vg.log")"
[ -s "$TMP/out/sample2.jpg" ] && [ -s "$TMP/out/ok-orient-6.jpg" ] && [ -s "$TMP/out/recover-truncated.png" ] \
    && [ -s "$TMP/out/recover-corrupt-entropy.jpg" ] && ok valgrind_run_wrote_outputs || not_ok valgrind_run_wrote_outputs
