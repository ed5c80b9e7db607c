#!/usr/bin/env bash
# test_damaged_cli.sh - `anonctl blur` on damaged photos (issue 14, "damaged
# photos fail closed"): a demo photo cut short, as JPEG and as PNG. By
# default it is refused: exit 1, one line on stderr naming the file and the
# damage, no output, the other photos of the run still written. With
# --accept-damaged (or ANON_ACCEPT_DAMAGED=1) it is written, the part the
# decoder could not read filled grey, and --json names the warnings and the
# part filled. Face counts are not asserted: they depend on the model.
source "$(dirname "$0")/lib.sh"
ANONCTL="$BIN/anonctl"
DEMO=$ROOT/.cache/face-api/package/demo
export ANON_PRESET=fast
unset ANON_ACCEPT_DAMAGED

mkdir -p "$TMP/in"
cp "$DEMO/sample2.jpg" "$TMP/in/good.jpg"
size=$(stat -c %s "$DEMO/sample1.jpg")
head -c $((size / 2)) "$DEMO/sample1.jpg" >"$TMP/in/cut.jpg"
/usr/bin/python3 - "$DEMO/sample3.jpg" "$TMP/in/cut.png" <<'PY' || not_ok make_png
import sys, cv2
ok, png = cv2.imencode(".png", cv2.imread(sys.argv[1]))
open(sys.argv[2], "wb").write(png.tobytes()[: len(png) // 2])
PY

# filled_grey JSON_LINE_FILE OUTPUT: ok when the output's rows in the part
# --json says was covered are the fill's grey (JPEG: from the second block
# row past its top edge, beyond the edge's ringing), but where the mask of
# a face found above reaches into it.
filled_grey() {
    /usr/bin/python3 - "$1" "$2" <<'PY'
import json, sys, cv2
r = json.loads(open(sys.argv[1]).read())
c = r["covered"]
img = cv2.imread(sys.argv[2])
assert img is not None and (img.shape[1], img.shape[0]) == (r["width"], r["height"]), r
y0 = c["y"] if sys.argv[2].endswith(".png") else (c["y"] + 15) // 16 * 16 + 16
part = img[y0:c["y"] + c["h"], c["x"]:c["x"] + c["w"]].astype(int)
assert c["h"] > 0 and part.size > 0, c
for f in r["faces"]:            # the mask: 1.3 x the box, feathered
    x0, x1 = f["x"] - f["w"] // 2 - 16 - c["x"], f["x"] + f["w"] * 3 // 2 + 16 - c["x"]
    part[:max(f["y"] + f["h"] * 3 // 2 + 16 - y0, 0), max(x0, 0):max(x1, 0)] = 128
assert abs(part - 128).max() <= 6, f"off the fill by {abs(part - 128).max()}"
PY
}

for ext in jpg png; do
    # By default: refused, one line naming it, nothing written, the run goes on.
    rm -rf "$TMP/out"
    "$ANONCTL" blur -j 1 -o "$TMP/out" "$TMP/in/cut.$ext" "$TMP/in/good.jpg" \
        >"$TMP/$ext.out" 2>"$TMP/$ext.err"
    rc=$?
    [ $rc -eq 1 ] && ok "$ext.refused_exit_1" || not_ok "$ext.refused_exit_1" "exit $rc"
    lines=$(grep -c "cut\.$ext" "$TMP/$ext.err")
    [ "$lines" -eq 1 ] && grep "cut\.$ext" "$TMP/$ext.err" | grep -q 'damaged' \
        && ok "$ext.one_line_naming_the_damage" \
        || not_ok "$ext.one_line_naming_the_damage" "$(cat "$TMP/$ext.err")"
    [ ! -e "$TMP/out/cut.$ext" ] && ok "$ext.nothing_written" || not_ok "$ext.nothing_written"
    [ -s "$TMP/out/good.jpg" ] && ok "$ext.others_still_written" || not_ok "$ext.others_still_written"
    # --json: the error in the photo's line.
    "$ANONCTL" blur -j 1 --json -o "$TMP/out" "$TMP/in/cut.$ext" >"$TMP/$ext.json" 2>/dev/null
    rc=$?
    [ $rc -eq 1 ] && json_true "$TMP/$ext.json" '.error | test("damaged")' \
        && ok "$ext.json_error" || not_ok "$ext.json_error" "exit $rc: $(cat "$TMP/$ext.json")"

    # --accept-damaged: written, the part not read filled, the warnings in --json.
    rm -rf "$TMP/out"
    "$ANONCTL" blur -j 1 --json --accept-damaged -o "$TMP/out" "$TMP/in/cut.$ext" \
        >"$TMP/$ext.acc.json" 2>"$TMP/$ext.acc.err"
    rc=$?
    [ $rc -eq 0 ] && [ -s "$TMP/out/cut.$ext" ] && ok "$ext.accepted_written" \
        || not_ok "$ext.accepted_written" "exit $rc: $(cat "$TMP/$ext.acc.err")"
    json_true "$TMP/$ext.acc.json" '(.warnings | length > 0) and (.covered.h > 0)' \
        && ok "$ext.accepted_json_warnings" \
        || not_ok "$ext.accepted_json_warnings" "$(cat "$TMP/$ext.acc.json")"
    out=$(filled_grey "$TMP/$ext.acc.json" "$TMP/out/cut.$ext" 2>&1) \
        && ok "$ext.accepted_unread_part_filled" \
        || not_ok "$ext.accepted_unread_part_filled" "$(printf '%s' "$out" | tail -n 1)"

    # The environment does what the flag does.
    rm -rf "$TMP/out"
    ANON_ACCEPT_DAMAGED=1 "$ANONCTL" blur -q -j 1 -o "$TMP/out" "$TMP/in/cut.$ext" 2>/dev/null
    rc=$?
    [ $rc -eq 0 ] && [ -s "$TMP/out/cut.$ext" ] && ok "$ext.env_accepts" || not_ok "$ext.env_accepts" "exit $rc"
done

# A clean photo's --json line carries an empty warnings array.
"$ANONCTL" blur -j 1 --json -o "$TMP/clean" "$TMP/in/good.jpg" >"$TMP/clean.json" 2>/dev/null
json_true "$TMP/clean.json" '.warnings == [] and .covered == null' && ok clean_json_no_warnings \
    || not_ok clean_json_no_warnings "$(cat "$TMP/clean.json")"

# The setting is in the configuration table and in --help.
"$ANONCTL" config 2>/dev/null | grep -q ANON_ACCEPT_DAMAGED && ok config_lists_it || not_ok config_lists_it
"$ANONCTL" blur --help | grep -q -- '--accept-damaged' && ok help_lists_it || not_ok help_lists_it
