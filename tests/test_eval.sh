#!/usr/bin/env bash
# test_eval.sh - the detection evaluation's own parts: the generated set is
# reproducible, and the scorer counts covered faces (by the blur's masks),
# found boxes and false boxes as docs/detection.md says, on a hand-made
# labelled set in the WIDER format.
# needs: oracle (the generated set is labelled with face-api's boxes)
source "$(dirname "$0")/lib.sh"
GEN="$ROOT/scripts/make-eval-set"

# Same seed, same bytes; another seed, another set.
"$GEN" --seed 11 --scenes 2 --no-demo "$TMP/a" >/dev/null 2>&1
"$GEN" --seed 11 --scenes 2 --no-demo "$TMP/b" >/dev/null 2>&1
"$GEN" --seed 12 --scenes 2 --no-demo "$TMP/c" >/dev/null 2>&1
sums() { (cd "$1" && sha256sum scene_*.jpg labels.json 2>/dev/null); }
[ -n "$(sums "$TMP/a")" ] && [ "$(sums "$TMP/a")" = "$(sums "$TMP/b")" ] \
    && ok generator_reproducible || not_ok generator_reproducible "$(diff <(sums "$TMP/a") <(sums "$TMP/b") | head -3)"
[ "$(sums "$TMP/a")" != "$(sums "$TMP/c")" ] && ok seed_changes_set || not_ok seed_changes_set

check scenes_are_labelled /usr/bin/python3 - "$TMP/a" <<'PY'
import json, os, sys, cv2
d = json.load(open(os.path.join(sys.argv[1], "labels.json")))
assert len(d["images"]) == 2
for im in d["images"]:
    img = cv2.imread(os.path.join(sys.argv[1], im["file"]))
    assert img.shape[1] == im["width"] and img.shape[0] == im["height"], im["file"]
    assert 1920 <= im["width"] <= 4000, im["width"]
    assert len(im["faces"]) >= 3, im["file"]
    for f in im["faces"]:
        assert 6 <= f["h"] <= 210, f
        assert 0 <= f["x"] and f["x"] + f["w"] <= im["width"], f
        assert 0 <= f["y"] and f["y"] + f["h"] <= im["height"], f
PY

# The scorer on a hand-made labelled set in the WIDER format (images.txt,
# faces.txt, ignore.txt), figures computed by hand: four faces, one ignored
# region, detections that cover, miss, fall below the threshold, sit on
# the ignored region or on nothing.
SET="$TMP/wider"
mkdir -p "$SET"
printf 'a.jpg\nb.jpg\n' >"$SET/images.txt"
cat >"$SET/faces.txt" <<'EOF'
a.jpg 0 0 10 20
a.jpg 100 100 40 40
a.jpg 300 300 100 100
a.jpg 500 500 12 15
EOF
echo 'a.jpg 700 700 30 30' >"$SET/ignore.txt"
check scorer_hand_made_case /usr/bin/python3 - "$ROOT/scripts/eval-detection" "$SET" <<'PY'
import math, sys, importlib.machinery, importlib.util
import numpy as np
loader = importlib.machinery.SourceFileLoader("evald", sys.argv[1])
spec = importlib.util.spec_from_loader("evald", loader)
ev = importlib.util.module_from_spec(spec)
loader.exec_module(ev)
images = ev.load_set(sys.argv[2])
assert [im["file"] for im in images] == ["a.jpg", "b.jpg"], images
assert len(images[0]["faces"]) == 4 and len(images[0]["ignore"]) == 1 and images[1]["faces"] == []
box = lambda x, y, w, h, s=0.9: {"x": x, "y": y, "w": w, "h": h, "score": s}
dets = [
    box(0, 0, 10, 20),       # exactly face 1 (20 px): found, and its mask covers 98 %
    box(100, 100, 24, 40),   # 60 % of face 2 (40 px): found (IoU 0.6), its mask covers < 70 %
    box(300, 300, 55, 100),  # left part of face 3 (100 px): found (IoU 0.55) ...
    box(345, 300, 55, 100),  # ... right part: the two masks cover it
    box(1000, 1000, 30, 30), # on nothing: false
    box(705, 705, 20, 20),   # on the ignored region: neither hit nor false
    box(90, 90, 60, 60, 0.2),  # its mask would cover face 2, but below the threshold
]                            # face 4 (15 px): nothing
found = {"a.jpg": dets, "b.jpg": [box(5, 5, 10, 10)]}   # false on a photo without faces
r = ev.score(images, found, 0.5)
b = r["buckets"]
assert b["10-19"] == {"faces": 1, "covered": 0, "boxes": 0}, b
assert b["20-39"] == {"faces": 1, "covered": 1, "boxes": 1}, b
assert b["40-79"] == {"faces": 1, "covered": 0, "boxes": 1}, b
assert b[">=80"] == {"faces": 1, "covered": 1, "boxes": 1}, b
assert b["<10"]["faces"] == 0 and r["false"] == 2 and r["images"] == 2, r
assert abs(ev.recall_at_least(r) - 2 / 3) < 1e-9 and abs(ev.recall_at_least(r, key="boxes") - 1) < 1e-9
r = ev.score(images, found, 0.1)               # the low box now counts: its mask covers face 2
assert r["buckets"]["40-79"] == {"faces": 1, "covered": 1, "boxes": 1} and r["false"] == 2, r
# the mask is the ellipse inside the box grown by the mask scale: scale 1
# covers pi / 4 of the box, 0.8 covers 0.16 pi (below 70 %), 1.3 all but the corners
face = np.array([0.0, 0.0, 10.0, 20.0])
assert abs(ev.covered_fraction(face, face[None], 1.0) - math.pi / 4) < 0.02
assert abs(ev.covered_fraction(face, face[None], 0.8) - math.pi * 0.16) < 0.02
assert abs(ev.covered_fraction(face, face[None], 1.3) - 0.984) < 0.01
r = ev.score(images, found, 0.5, mask_scale=0.8)
assert r["buckets"]["20-39"]["covered"] == 0 and r["buckets"]["20-39"]["boxes"] == 1, r
# a fragment of a face (inside its box grown 1.5x) is not a false box
faces = ev.as_array(images[0]["faces"])
assert ev.false_boxes(ev.as_array([box(295, 295, 30, 30)]), faces) == 0
assert ev.false_boxes(ev.as_array([box(0, 200, 20, 20)]), faces) == 1
PY

# The same figures through the command line, from JSON lines as
# `anonctl blur --json` prints them (paths under any folder; ms per stage).
cat >"$TMP/dets.jsonl" <<'EOF'
{"path": "/x/a.jpg", "faces": [{"x": 0, "y": 0, "w": 10, "h": 20, "score": 0.9}, {"x": 100, "y": 100, "w": 24, "h": 40, "score": 0.9}, {"x": 300, "y": 300, "w": 55, "h": 100, "score": 0.9}, {"x": 345, "y": 300, "w": 55, "h": 100, "score": 0.9}, {"x": 1000, "y": 1000, "w": 30, "h": 30, "score": 0.9}, {"x": 705, "y": 705, "w": 20, "h": 20, "score": 0.9}], "ms": {"decode": 5, "detect": 100, "blur": 1, "encode": 2}}
{"path": "/x/b.jpg", "faces": [{"x": 5, "y": 5, "w": 10, "h": 10, "score": 0.9}], "ms": {"decode": 5, "detect": 50, "blur": 1, "encode": 2}}
EOF
check scorer_reads_anonctl_json bash -c "
    '$ROOT/scripts/eval-detection' --set '$SET' --score '$TMP/dets.jsonl' --name hand --markdown |
    grep -qxF '| hand | 0.00 | 1.00 | 0.00 | 1.00 | 0.00 | 1.00 | 1.00 | 1.00 | - | 1.00 | - | 75 |'"

# anonctl blur takes the presets by name and shows the default.
ANONCTL="$BIN/anonctl"
"$ANONCTL" blur --preset nope -o "$TMP/x" a >/dev/null 2>&1; [ $? -eq 2 ] && ok bad_preset_exit_2 || not_ok bad_preset_exit_2
check help_shows_default_preset bash -c "'$ANONCTL' blur --help | grep -q 'default: balanced'"
