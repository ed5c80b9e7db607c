#!/usr/bin/env bash
# test_models_cli.sh - `anonctl models`: every model with its input sizes,
# source (npm package@version, file) and licence, the default marked, and
# whether its converted files are in the model directory; text and --json.
source "$(dirname "$0")/lib.sh"
ANONCTL="$BIN/anonctl"

# The converted files, present: a directory holding the three models'
# .cfg and .weights (empty files: `models` only looks for them).
mkdir -p "$TMP/all" "$TMP/none" "$TMP/some"
for f in yolo ssd tiny; do : >"$TMP/all/$f.cfg"; : >"$TMP/all/$f.weights"; done
: >"$TMP/some/ssd.cfg"   # a .cfg without its .weights is not present

ANON_MODEL_DIR=$TMP/all "$ANONCTL" models --json >"$TMP/all.json" 2>"$TMP/all.err"
rc=$?
[ $rc -eq 0 ] && json_true "$TMP/all.json" '
    .default == "yolo" and (.models | length) == 3 and
    ([.models[] | select(.default)] | map(.name)) == ["yolo"] and
    ([.models[] | .present] | all)' &&
    ok json_lists_the_models_default_yolo || not_ok json_lists_the_models_default_yolo "exit $rc: $(cat "$TMP/all.json" "$TMP/all.err")"

# The packages' versions, as the Makefile fetches them.
yolo_version=$(sed -n 's/^YOLO_VERSION *:= *//p' "$ROOT/Makefile")
face_api_version=$(sed -n 's/^FACE_API_VERSION *:= *//p' "$ROOT/Makefile")
json_true "$TMP/all.json" '
    (.models[] | select(.name == "yolo") |
        .licence == "AGPL-3.0" and .package == "@good-i-deer/node-red-contrib-face-detection@'"$yolo_version"'"
        and .file == "model/yolov8n-face.onnx" and .input.any_size and .input.align == 32
        and (.input.sizes | index(640) != null and index(1024) != null)) and
    (.models[] | select(.name == "ssd") |
        .licence == "MIT" and .package == "@vladmandic/face-api@'"$face_api_version"'" and .input.sizes == [512]) and
    (.models[] | select(.name == "tiny") | .licence == "MIT" and .input.sizes == [416])' &&
    ok json_gives_source_licence_and_sizes || not_ok json_gives_source_licence_and_sizes "$(cat "$TMP/all.json")"

# The versions in the table are the ones the Makefile fetches.
json_true "$TMP/all.json" "
    (.models[] | select(.name == \"yolo\") | .package | endswith(\"@$yolo_version\")) and
    ([.models[] | select(.name != \"yolo\") | .package | endswith(\"@$face_api_version\")] | all)" &&
    ok versions_match_the_makefile || not_ok versions_match_the_makefile "yolo $yolo_version, face-api $face_api_version: $(cat "$TMP/all.json")"

ANON_MODEL_DIR=$TMP/none "$ANONCTL" models --json >"$TMP/none.json" 2>&1
json_true "$TMP/none.json" '([.models[] | .present] | any | not) and .model_dir != null' &&
    ok json_absent_in_an_empty_dir || not_ok json_absent_in_an_empty_dir "$(cat "$TMP/none.json")"

ANON_MODEL_DIR=$TMP/some "$ANONCTL" models --json >"$TMP/some.json" 2>&1
json_true "$TMP/some.json" '[.models[] | select(.present)] | length == 0' &&
    ok cfg_without_weights_is_absent || not_ok cfg_without_weights_is_absent "$(cat "$TMP/some.json")"

# Text: one block per model, the default marked, present yes / no.
ANON_MODEL_DIR=$TMP/all "$ANONCTL" models >"$TMP/all.txt" 2>&1
ANON_MODEL_DIR=$TMP/none "$ANONCTL" models >"$TMP/none.txt" 2>&1
grep -qx 'yolo (default)' "$TMP/all.txt" && grep -qx 'ssd' "$TMP/all.txt" &&
    grep -q 'licence  AGPL-3.0' "$TMP/all.txt" && grep -q 'licence  MIT' "$TMP/all.txt" &&
    grep -q "source   npm @good-i-deer/node-red-contrib-face-detection@$yolo_version, model/yolov8n-face.onnx" "$TMP/all.txt" &&
    grep -q 'input    512 x 512' "$TMP/all.txt" && grep -q 'multiples of 32' "$TMP/all.txt" &&
    [ "$(grep -c 'present  yes' "$TMP/all.txt")" -eq 3 ] &&
    ok text_lists_the_models || not_ok text_lists_the_models "$(cat "$TMP/all.txt")"
[ "$(grep -c 'present  no' "$TMP/none.txt")" -eq 3 ] && grep -q "$TMP/none" "$TMP/none.txt" &&
    ok text_absent_in_an_empty_dir || not_ok text_absent_in_an_empty_dir "$(cat "$TMP/none.txt")"

# ANON_MODEL marks the model anonctl blur would use when it is not the default.
ANON_MODEL=ssd ANON_MODEL_DIR=$TMP/all "$ANONCTL" models >"$TMP/env.txt" 2>&1
grep -qx 'ssd (ANON_MODEL)' "$TMP/env.txt" && ok text_marks_anon_model || not_ok text_marks_anon_model "$(cat "$TMP/env.txt")"

"$ANONCTL" models --bogus >/dev/null 2>"$TMP/bad.err"
rc=$?
[ $rc -eq 2 ] && grep -q "unknown option '--bogus'" "$TMP/bad.err" &&
    ok unknown_option_is_a_usage_error || not_ok unknown_option_is_a_usage_error "exit $rc: $(cat "$TMP/bad.err")"
