#!/usr/bin/env bash
# test_convert_inputs.sh - scripts/convert-model's input checks, on inputs
# generated here (no fetched model needed): small YOLO-shaped ONNX graphs
# (tests/yolo_graphs.py) and a small TinyFaceDetector-shaped tfjs model
# (tests/tfjs_models.py), one valid and the others broken in one place
# each, among them every kind of damage scripts/fuzz-convert found giving
# a traceback or a model the engine refused. The valid ones convert into
# models the engine runs (build/asan/tools/nn_check); each broken one is
# refused with exit 1 and one line `convert-model: ...` saying what is wrong.
source "$(dirname "$0")/lib.sh"

PY=/usr/bin/python3
CONVERT=$ROOT/scripts/convert-model
NN_CHECK=${ANON_TOOLS:-$ROOT/build/asan/tools}/nn_check

# expect KIND NAME INPUT OUT EXPECTED: one case (EXPECTED `ok`: converts
# into a model nn_check runs at 64 x 64).
expect() {
    local kind=$1 name=$2 input=$3 out=$4 expected=$5 msg rc
    msg=$("$CONVERT" "$kind" "$input" "$out" 2>&1)
    rc=$?
    if [ "$expected" = ok ]; then
        local check
        if [ $rc -eq 0 ] && check=$("$NN_CHECK" "$out/$kind.cfg" "$out/$kind.weights" 64 64 2>&1)
        then
            ok "${kind}_accepts_$name"
        else
            not_ok "${kind}_accepts_$name" "exit $rc: $msg $check"
        fi
    elif [ $rc -eq 1 ] && [ "$(printf '%s\n' "$msg" | wc -l)" -eq 1 ] \
        && [[ "$msg" == "convert-model: "*"$expected"* ]]; then
        ok "${kind}_refuses_$name"
    else
        not_ok "${kind}_refuses_$name" "exit $rc: $(printf '%s' "$msg" | tail -n 3)"
    fi
}

mkdir -p "$TMP/graphs"
if "$PY" "$ROOT/tests/yolo_graphs.py" "$TMP/graphs" >"$TMP/graphs/cases.txt"; then
    while IFS=$'\t' read -r name expected; do
        expect yolo "$name" "$TMP/graphs/$name.onnx" "$TMP/graphs/out-$name" "$expected"
    done <"$TMP/graphs/cases.txt"
else
    not_ok yolo_graphs "tests/yolo_graphs.py failed"
fi

mkdir -p "$TMP/tfjs"
if "$PY" "$ROOT/tests/tfjs_models.py" "$TMP/tfjs" >"$TMP/tfjs/cases.txt"; then
    while IFS=$'\t' read -r name expected; do
        expect tiny "$name" "$TMP/tfjs/$name" "$TMP/tfjs/out-$name" "$expected"
    done <"$TMP/tfjs/cases.txt"
else
    not_ok tfjs_models "tests/tfjs_models.py failed"
fi
