#!/usr/bin/env bash
# test_blur_cli.sh - `anonctl blur` as a user runs it: trees, errors, outputs.
source "$(dirname "$0")/lib.sh"
ANONCTL="$BIN/anonctl"
DEMO=$ROOT/.cache/face-api/package/demo
# One detection pass keeps the ASan build quick; the default preset gets
# its own check at the end.
export ANON_PRESET=fast

# Exit status 2 for usage errors, with a message.
check_fails usage_no_output "$ANONCTL" blur "$DEMO/sample1.jpg"
"$ANONCTL" blur -o "$TMP/x" >/dev/null 2>&1; [ $? -eq 2 ] && ok usage_exit_2 || not_ok usage_exit_2
"$ANONCTL" blur --bogus -o "$TMP/x" a >/dev/null 2>&1; [ $? -eq 2 ] && ok unknown_flag_exit_2 || not_ok unknown_flag_exit_2
"$ANONCTL" blur --tiles 2y -o "$TMP/x" a >/dev/null 2>&1; [ $? -eq 2 ] && ok bad_tiles_exit_2 || not_ok bad_tiles_exit_2
check help_shows_defaults bash -c "'$ANONCTL' blur --help | grep -q 'default: 1.3'"

# A tree of photos is mirrored, with non-images skipped and reported.
mkdir -p "$TMP/in/a/b"
cp "$DEMO/sample1.jpg" "$TMP/in/one.jpg"
cp "$DEMO/sample2.jpg" "$TMP/in/a/b/two.JPG"
echo "notes" >"$TMP/in/a/readme.txt"
"$ANONCTL" blur --json -j 2 -o "$TMP/out" "$TMP/in" >"$TMP/run.json" 2>"$TMP/run.err"
rc=$?
[ $rc -eq 0 ] && ok tree_exit_0 || not_ok tree_exit_0 "exit $rc: $(cat "$TMP/run.err")"
[ -f "$TMP/out/one.jpg" ] && [ -f "$TMP/out/a/b/two.JPG" ] && ok tree_mirrored || not_ok tree_mirrored "$(find "$TMP/out")"
[ ! -e "$TMP/out/a/readme.txt" ] && grep -q "1 files skipped" "$TMP/run.err" && ok non_images_skipped || not_ok non_images_skipped
[ "$(wc -l <"$TMP/run.json")" -eq 2 ] && ok json_one_line_per_image || not_ok json_one_line_per_image
check json_fields /usr/bin/python3 -c "
import json,sys
for l in open('$TMP/run.json'):
    r = json.loads(l)
    assert set(r) >= {'path','output','width','height','faces','ms'}, r
    assert r['faces'] and all(set(f) == {'x','y','w','h','score'} for f in r['faces'])
    assert set(r['ms']) == {'decode','detect','blur','encode'}
"
ls "$TMP/out" "$TMP/out/a/b" | grep -q '\.tmp$' && not_ok no_temp_files_left || ok no_temp_files_left

# No metadata segment (APP1 EXIF/XMP, APP13 IPTC, COM) in any output.
check outputs_have_no_metadata /usr/bin/python3 - "$TMP/out/one.jpg" "$TMP/out/a/b/two.JPG" <<'PY'
import sys
for path in sys.argv[1:]:
    d = open(path, 'rb').read()
    i = 2
    while i + 4 <= len(d) and d[i] == 0xFF:
        m = d[i + 1]
        if m == 0xDA:
            break
        assert m not in (0xE1, 0xED, 0xFE), f"{path}: marker {m:#x}"
        i += 2 + int.from_bytes(d[i + 2:i + 4], 'big')
PY

# Never overwrites an input, even when told to write into the input tree.
cp "$DEMO/sample3.jpg" "$TMP/self.jpg"
before=$(sha256sum <"$TMP/self.jpg")
"$ANONCTL" blur -q -o "$TMP" "$TMP/self.jpg" >/dev/null 2>&1
rc=$?
[ $rc -eq 1 ] && [ "$(sha256sum <"$TMP/self.jpg")" = "$before" ] && ok never_overwrites_input || not_ok never_overwrites_input "exit $rc"

# Bad inputs: one line naming each bad file, the good one still done, exit 1.
if [ -x "$ROOT/scripts/make-bad-inputs" ]; then
    "$ROOT/scripts/make-bad-inputs" "$TMP/bad" >/dev/null 2>&1
    cp "$DEMO/sample4.jpg" "$TMP/bad/zz-good.jpg"
    "$ANONCTL" blur -q -j 2 -o "$TMP/bad-out" "$TMP/bad" >/dev/null 2>"$TMP/bad.err"
    rc=$?
    [ $rc -eq 1 ] && ok bad_inputs_exit_1 || not_ok bad_inputs_exit_1 "exit $rc"
    [ -s "$TMP/bad-out/zz-good.jpg" ] && ok bad_inputs_run_continues || not_ok bad_inputs_run_continues
    grep -v '^anonctl blur: .*: ' "$TMP/bad.err" | grep -qv 'images, .* failed' \
        && not_ok bad_inputs_one_line_each "$(head -3 "$TMP/bad.err")" || ok bad_inputs_one_line_each
    ! grep -qi 'sanitizer\|runtime error' "$TMP/bad.err" && ok bad_inputs_sanitizer_clean || not_ok bad_inputs_sanitizer_clean
    find "$TMP/bad-out" -name '*.tmp' | grep -q . && not_ok bad_inputs_no_partial_files || ok bad_inputs_no_partial_files
fi

# An output directory that cannot be written is a clear error, not a crash.
mkdir -p "$TMP/ro" && chmod 555 "$TMP/ro"
if [ "$(id -u)" = 0 ]; then
    # root writes anywhere; use a path under a regular file instead.
    touch "$TMP/file"; target="$TMP/file/out"
else
    target="$TMP/ro/out"
fi
"$ANONCTL" blur -q -o "$target" "$DEMO/sample1.jpg" >/dev/null 2>"$TMP/ro.err"
rc=$?
[ $rc -ne 0 ] && [ $rc -lt 128 ] && [ -s "$TMP/ro.err" ] && ok unwritable_output_dir || not_ok unwritable_output_dir "exit $rc"

# The default preset (balanced: the zoom pyramid) on one photo: it keeps
# every face of the single pass.
one=$("$ANONCTL" blur --json -o "$TMP/fast" "$DEMO/sample5.jpg" | jq '.faces | length')
many=$("$ANONCTL" blur --preset balanced --json -o "$TMP/balanced" "$DEMO/sample5.jpg" | jq '.faces | length')
[ -n "$one" ] && [ -n "$many" ] && [ "$many" -ge "$one" ] && ok default_preset_keeps_single_pass_faces \
    || not_ok default_preset_keeps_single_pass_faces "fast $one, balanced $many"
