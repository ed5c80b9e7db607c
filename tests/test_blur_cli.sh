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

# Never overwrites an input, even when told to write into the input tree:
# an output folder holding an input is refused before any work.
cp "$DEMO/sample3.jpg" "$TMP/self.jpg"
before=$(sha256sum <"$TMP/self.jpg")
"$ANONCTL" blur -q -o "$TMP" "$TMP/self.jpg" >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && [ "$(sha256sum <"$TMP/self.jpg")" = "$before" ] && ok never_overwrites_input || not_ok never_overwrites_input "exit $rc"

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

# ---------------------------------------------------------------- where outputs go
# The tiny model keeps the ASan runs below short; they are about paths.
T=$TMP/layout
mkdir -p "$T/cam1" "$T/cam2"
cp "$DEMO/sample1.jpg" "$T/cam1/img001.jpg"
cp "$DEMO/sample2.jpg" "$T/cam2/img001.jpg"

# Two directory arguments each go under their own name: no image is lost.
"$ANONCTL" blur --model tiny --json -o "$T/out" "$T/cam1" "$T/cam2" >"$T/two.json" 2>"$T/two.err"
rc=$?
if [ $rc -eq 0 ] && [ -s "$T/out/cam1/img001.jpg" ] && [ -s "$T/out/cam2/img001.jpg" ] &&
   ! cmp -s "$T/out/cam1/img001.jpg" "$T/out/cam2/img001.jpg" &&
   [ "$(jq -r .output "$T/two.json" | sort -u | wc -l)" -eq 2 ]; then
    ok two_dirs_mirrored_under_their_names
else
    not_ok two_dirs_mirrored_under_their_names "exit $rc: $(find "$T/out" -type f) $(cat "$T/two.err")"
fi

# Two files for one output name: both refused, counted as failed, nothing
# written, and an output already there is left as it was.
"$ANONCTL" blur --model tiny -o "$T/same" "$T/cam1/img001.jpg" "$T/cam2/img001.jpg" >/dev/null 2>"$T/same.err"
rc=$?
if [ $rc -eq 1 ] && [ ! -e "$T/same" ] && grep -q '2 images, 2 failed' "$T/same.err" &&
   [ "$(grep -c 'would also be the output of' "$T/same.err")" -eq 2 ]; then
    ok collision_of_two_files_refused
else
    not_ok collision_of_two_files_refused "exit $rc: $(cat "$T/same.err")"
fi
mkdir -p "$T/mixed" && echo 'earlier output' >"$T/mixed/img001.jpg"
"$ANONCTL" blur --model tiny --json -o "$T/mixed" "$T/cam1" "$T/cam2/img001.jpg" >"$T/mixed.json" 2>/dev/null
rc=$?
if [ $rc -eq 1 ] && [ "$(cat "$T/mixed/img001.jpg")" = 'earlier output' ] &&
   [ "$(jq -s '[.[] | select(.error)] | length' "$T/mixed.json")" -eq 2 ]; then
    ok collision_of_file_and_dir_refused_nothing_overwritten
else
    not_ok collision_of_file_and_dir_refused_nothing_overwritten "exit $rc: $(cat "$T/mixed.json")"
fi

# An output folder inside an input folder: refused up front (exit 2), so
# the original already in it can never sit there unblurred; the same for
# -o equal to the input folder and for an input inside the output folder.
mkdir -p "$T/t3/a/b"
cp "$DEMO/sample4.jpg" "$T/t3/a/b/sample4.jpg"
cp "$DEMO/sample4.jpg" "$T/t3/a/top.jpg"
"$ANONCTL" blur --model tiny -o "$T/t3/a/b" "$T/t3/a" >/dev/null 2>"$T/inside.err"
rc=$?
[ $rc -eq 2 ] && [ "$(ls "$T/t3/a/b")" = sample4.jpg ] && grep -q 'inside the input folder' "$T/inside.err" \
    && ok output_inside_input_refused || not_ok output_inside_input_refused "exit $rc: $(cat "$T/inside.err")"
"$ANONCTL" blur --model tiny -o "$T/t3/a/" "$T/t3/a" >/dev/null 2>"$T/equal.err"
rc=$?
[ $rc -eq 2 ] && [ "$(wc -l <"$T/equal.err")" -eq 1 ] && [ ! -e "$T/t3/a/b/top.jpg" ] \
    && ok output_equal_to_input_one_usage_error || not_ok output_equal_to_input_one_usage_error "exit $rc: $(cat "$T/equal.err")"
"$ANONCTL" blur --model tiny -o "$T/t3" "$T/t3/a/b" >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && ok input_inside_output_refused || not_ok input_inside_output_refused "exit $rc"

# A path that does not exist is counted as failed, and a run that can do
# nothing creates nothing.
"$ANONCTL" blur --model tiny -o "$T/o4" "$T/nonexist.jpg" >/dev/null 2>"$T/o4.err"
rc=$?
[ $rc -eq 1 ] && [ ! -e "$T/o4" ] && grep -q '1 images, 1 failed' "$T/o4.err" \
    && ok missing_input_counted_nothing_created || not_ok missing_input_counted_nothing_created "exit $rc: $(cat "$T/o4.err")"

# --dry-run: what would be written where; nothing written, no model needed.
ANON_MODEL_DIR=$T/no-models "$ANONCTL" blur --dry-run --json -o "$T/dry" "$T/cam1" "$T/cam2" >"$T/dry.json" 2>"$T/dry.err"
rc=$?
if [ $rc -eq 0 ] && [ ! -e "$T/dry" ] &&
   [ "$(jq -r 'select(.dry_run) | .output' "$T/dry.json" | sort | tr '\n' ' ')" = "$T/dry/cam1/img001.jpg $T/dry/cam2/img001.jpg " ]; then
    ok dry_run_writes_nothing_needs_no_model
else
    not_ok dry_run_writes_nothing_needs_no_model "exit $rc: $(cat "$T/dry.json" "$T/dry.err")"
fi

# --files-from: one path a line, from a file or standard input.
printf '%s\n\n%s\n' "$T/cam1/img001.jpg" "$T/t3/a/top.jpg" >"$T/list"
"$ANONCTL" blur --dry-run --json --files-from "$T/list" -o "$T/fl" >"$T/fl.json" 2>/dev/null
rc=$?
[ $rc -eq 0 ] && [ "$(jq -r .output "$T/fl.json" | tr '\n' ' ')" = "$T/fl/img001.jpg $T/fl/top.jpg " ] \
    && ok files_from_file || not_ok files_from_file "exit $rc: $(cat "$T/fl.json")"
echo "$T/cam2/img001.jpg" | "$ANONCTL" blur --model tiny --json --files-from - -o "$T/fl2" >"$T/fl2.json" 2>/dev/null
rc=$?
[ $rc -eq 0 ] && [ -s "$T/fl2/img001.jpg" ] && ok files_from_stdin || not_ok files_from_stdin "exit $rc: $(cat "$T/fl2.json")"
"$ANONCTL" blur --files-from "$T/no-such-list" -o "$T/fl3" >/dev/null 2>&1
[ $? -eq 2 ] && ok files_from_missing_list_usage_error || not_ok files_from_missing_list_usage_error

# --skip-existing: an output newer than its input is left alone.
before=$(stat -c %Y.%y "$T/fl2/img001.jpg")
echo "$T/cam2/img001.jpg" | "$ANONCTL" blur --model tiny --json --skip-existing --files-from - -o "$T/fl2" >"$T/skip.json" 2>/dev/null
rc=$?
[ $rc -eq 0 ] && json_true "$T/skip.json" .skipped && [ "$(stat -c %Y.%y "$T/fl2/img001.jpg")" = "$before" ] \
    && ok skip_existing_leaves_newer_output || not_ok skip_existing_leaves_newer_output "exit $rc: $(cat "$T/skip.json")"
touch "$T/cam2/img001.jpg"
echo "$T/cam2/img001.jpg" | "$ANONCTL" blur --model tiny --json --skip-existing --files-from - -o "$T/fl2" >"$T/redo.json" 2>/dev/null
[ $? -eq 0 ] && json_true "$T/redo.json" .faces && ok skip_existing_redoes_older_output || not_ok skip_existing_redoes_older_output "$(cat "$T/redo.json")"

# --draw-boxes: a review copy with the detections drawn, under its own
# name, only in a folder of its own; anonymized outputs never go there.
"$ANONCTL" blur --model tiny --draw-boxes --json -o "$T/review" "$T/cam1/img001.jpg" >"$T/review.json" 2>/dev/null
rc=$?
if [ $rc -eq 0 ] && [ -s "$T/review/img001.boxes.jpg" ] && [ ! -e "$T/review/img001.jpg" ] &&
   [ -e "$T/review/.anonctl-review" ] && /usr/bin/python3 - "$T/cam1/img001.jpg" "$T/review/img001.boxes.jpg" "$T/review.json" <<'PY'
import json, sys
import cv2, numpy as np
src, rev, log = sys.argv[1:4]
a, r = cv2.imread(src).astype(int), cv2.imread(rev).astype(int)
assert a.shape == r.shape
faces = json.load(open(log))["faces"]
assert faces
for f in faces:
    x, y, w, h = f["x"], f["y"], f["w"], f["h"]
    core = np.abs(a[y + h // 4:y + 3 * h // 4, x + w // 4:x + 3 * w // 4] -
                  r[y + h // 4:y + 3 * h // 4, x + w // 4:x + 3 * w // 4]).mean()
    assert core < 4, f"face at {x},{y} changed ({core:.1f}): a review copy shows it"
    edge = r[y + h // 2, max(x - 1, 0)]           # BGR, just left of the box
    assert edge[1] > 180 and edge[0] < 90 and edge[2] < 90, f"no outline at {x},{y}: {edge}"
PY
then
    ok draw_boxes_review_copy
else
    not_ok draw_boxes_review_copy "exit $rc: $(cat "$T/review.json")"
fi
"$ANONCTL" blur --model tiny -o "$T/review" "$T/cam2/img001.jpg" >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && [ ! -e "$T/review/img001.jpg" ] && ok anonymized_never_into_review_folder || not_ok anonymized_never_into_review_folder "exit $rc"
"$ANONCTL" blur --model tiny --draw-boxes -o "$T/out" "$T/cam1" >/dev/null 2>&1
rc=$?
[ $rc -eq 2 ] && [ ! -e "$T/out/img001.boxes.jpg" ] && ok draw_boxes_never_among_outputs || not_ok draw_boxes_never_among_outputs "exit $rc"
"$ANONCTL" blur --help | grep -A3 -- '--draw-boxes' | grep -q 'REVIEW ONLY' && ok draw_boxes_help_says_review_only || not_ok draw_boxes_help_says_review_only
