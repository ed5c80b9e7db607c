#!/usr/bin/env bash
# test_fuzz_convert.sh - scripts/fuzz-convert, the mutation fuzzer of
# scripts/convert-model, for FUZZ_TEST_SECONDS (default 20) from a fixed
# seed, so that a converter change that brings back a traceback, a hang or
# a model the engine refuses fails CI. `make fuzz` runs it for longer
# (scripts/fuzz convert). Its findings go to build/fuzz/findings/convert.
# needs: npm (the fetched YOLOv8n-face ONNX file and face-api models it mutates)
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
if [ ! -f .cache/yolo/package/model/yolov8n-face.onnx ]; then
    not_ok convert "no .cache/yolo/package/model/yolov8n-face.onnx (make models)"
    exit 0
fi
out=$(scripts/fuzz-convert -t "${FUZZ_TEST_SECONDS:-20}" -s 14 -o "$ROOT/build/fuzz/findings/convert" 2>&1)
if [ $? -eq 0 ]; then
    ok convert
    echo "# $out"
else
    not_ok convert "$(printf '%s' "$out" | tr '\n' ' ')"
fi
