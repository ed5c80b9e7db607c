#!/usr/bin/env bash
# test_eval.sh - the detection evaluation's own parts: the generated set is
# reproducible, and the scorer counts covered faces and false boxes as
# docs/detection.md says.
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

# The scorer on a hand-made case: three faces, six detections.
check scorer_hand_made_case /usr/bin/python3 - "$ROOT/scripts/eval-detection" <<'PY'
import sys, importlib.machinery, importlib.util
loader = importlib.machinery.SourceFileLoader("evald", sys.argv[1])
spec = importlib.util.spec_from_loader("evald", loader)
ev = importlib.util.module_from_spec(spec)
loader.exec_module(ev)
box = lambda x, y, w, h, s=0.9: {"x": x, "y": y, "w": w, "h": h, "score": s}
faces = [box(0, 0, 10, 20), box(100, 100, 40, 40), box(300, 300, 100, 100)]
images = [{"file": "a.jpg", "faces": faces}, {"file": "empty.jpg", "faces": []}]
dets = [
    box(0, 0, 12, 22),            # covers face 1 (20 px tall)
    box(100, 100, 24, 40),        # 60 % of face 2: not covered, but a face box (IoU 0.6)
    box(300, 300, 50, 100),       # left half of face 3 ...
    box(350, 300, 50, 100),       # ... right half: the union covers it
    box(1000, 1000, 30, 30),      # far from every face: false
    box(90, 90, 60, 60, 0.2),     # would cover face 2, but below the threshold
]
found = {"a.jpg": dets, "empty.jpg": [box(5, 5, 10, 10)]}   # false on an image without faces
r = ev.score(images, found, 0.5)
b = r["buckets"]
assert b["20-39"] == [1, 1] and b["40-79"] == [0, 1] and b[">=80"] == [1, 1], b
assert b["<10"] == [0, 0] and b["10-19"] == [0, 0], b
assert r["false"] == 2 and r["images"] == 2, r
assert abs(ev.recall_at_least(r) - 2 / 3) < 1e-9
r = ev.score(images, found, 0.1)                  # the low box now counts
assert r["buckets"]["40-79"] == [1, 1] and r["false"] == 2, r
assert abs(ev.covered_fraction(faces[1], dets[1:2]) - 0.6) < 0.03
# a fragment of a face (inside its box grown 1.5x) is not a false box
assert ev.is_face_box(box(295, 295, 30, 30), faces) and not ev.is_face_box(box(0, 200, 20, 20), faces)
PY

# anonctl blur takes the presets by name and shows the default.
ANONCTL="$BIN/anonctl"
"$ANONCTL" blur --preset nope -o "$TMP/x" a >/dev/null 2>&1; [ $? -eq 2 ] && ok bad_preset_exit_2 || not_ok bad_preset_exit_2
check help_shows_default_preset bash -c "'$ANONCTL' blur --help | grep -q 'default: balanced'"
