#!/usr/bin/env bash
# test_yolo_cli.sh - `anonctl blur --model yolo`: YOLOv8n-face from the
# command line, one pass (fast) and the default preset (640 + 1024 px
# passes); it is the default model; --thresh holds for every face size;
# and the message for a model that does not exist.
source "$(dirname "$0")/lib.sh"
ANONCTL="$BIN/anonctl"
DEMO=$ROOT/.cache/face-api/package/demo

# faces N FILE: the JSON line of FILE has at least N faces.
faces_at_least() {
    /usr/bin/python3 -c "
import json, sys
r = json.loads(open(sys.argv[1]).readline())
assert len(r['faces']) >= int(sys.argv[2]), r['faces']
" "$1" "$2"
}

for preset in fast balanced; do
    "$ANONCTL" blur --model yolo --preset "$preset" --json -o "$TMP/$preset" \
        "$DEMO/sample1.jpg" >"$TMP/$preset.json" 2>"$TMP/$preset.err"
    rc=$?
    [ $rc -eq 0 ] && [ -s "$TMP/$preset/sample1.jpg" ] && ok "${preset}_blurs" ||
        not_ok "${preset}_blurs" "exit $rc: $(cat "$TMP/$preset.err")"
    # sample1: three faces, all clear
    check "${preset}_finds_the_faces" faces_at_least "$TMP/$preset.json" 3
done

"$ANONCTL" blur --model mtcnn -o "$TMP/x" "$DEMO/sample1.jpg" >/dev/null 2>"$TMP/bad.err"
rc=$?
[ $rc -eq 2 ] && grep -q "unknown model 'mtcnn' (expected ssd, tiny or yolo)" "$TMP/bad.err" &&
    ok unknown_model_is_named || not_ok unknown_model_is_named "exit $rc: $(cat "$TMP/bad.err")"

# --thresh sets one threshold for faces of every size: the presets' lower
# threshold for large faces (which would still pass sample1's faces at
# 0.2) is off.
"$ANONCTL" blur --preset fast --thresh 0.99 --json -o "$TMP/strict" "$DEMO/sample1.jpg" \
    >"$TMP/strict.json" 2>"$TMP/strict.err"
rc=$?
[ $rc -eq 0 ] && json_true "$TMP/strict.json" '.faces | length == 0' &&
    ok thresh_applies_to_large_faces_too || not_ok thresh_applies_to_large_faces_too "exit $rc: $(cat "$TMP/strict.json" "$TMP/strict.err")"

# No --model: YOLOv8n-face, the default.
env -u ANON_MODEL "$ANONCTL" blur --preset fast --json -o "$TMP/default" "$DEMO/sample1.jpg" \
    >"$TMP/default.json" 2>"$TMP/default.err"
json_true "$TMP/default.json" '.faces | length >= 3' &&
    cmp -s <(jq -c .faces "$TMP/default.json") <(jq -c .faces "$TMP/fast.json") &&
    ok default_model_is_yolo || not_ok default_model_is_yolo "$(cat "$TMP/default.json" "$TMP/default.err")"
