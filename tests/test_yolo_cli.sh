#!/usr/bin/env bash
# test_yolo_cli.sh - `anonctl blur --model yolo`: YOLOv8n-face from the
# command line, one pass (fast) and the default preset (640 + 1024 px
# passes), and the message for a model that does not exist.
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
