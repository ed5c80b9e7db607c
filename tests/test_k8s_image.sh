#!/usr/bin/env bash
# Rung 5 of the manifest ladder (only where podman is installed): build
# the image (make image) and run it the way the manifests do - read-only
# root filesystem, all capabilities dropped, no privilege escalation, as
# its own non-root user, no network, a tmpfs for scratch: `anonctl
# --version` and `anonctl blur` on a test photo work inside, and every
# binary finds its libraries. The broken fixtures
# testdata/k8s-broken/r5-*/Containerfile (built on top of the image) fail.
# needs: npm (the pinned manifest checkers in .cache/k8s-validate)
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/k8s/ladder.sh"
export CONTAINERS_CONF=${CONTAINERS_CONF:-$ROOT/scripts/podman/containers.conf}
IMAGE=localhost/anon:$VERSION

if ! command -v podman >/dev/null; then
    ok "image # SKIP podman is not installed (apt-get install podman, or make image-deps)"
    exit 0
fi

start=$(date +%s)
if ! (cd "$ROOT" && make -s image IMAGE="$IMAGE") >"$TMP/build.log" 2>&1; then
    not_ok build "make image failed: $(tail -n 5 "$TMP/build.log" | tr '\n' ' ')"; exit 0
fi
echo "# make image: $(( $(date +%s) - start )) s, $(podman image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}')"
ok build

# A test photo made here (no fetched data): a gradient with two bright ovals.
mkdir -p "$TMP/in" "$TMP/out" && chmod 0777 "$TMP/out"
/usr/bin/python3 - "$TMP/in/photo.jpg" <<'PY'
import sys, numpy as np, cv2
img = np.zeros((240, 320, 3), np.uint8)
img[:] = np.linspace(40, 200, 320, dtype=np.uint8)[None, :, None]
for cx in (100, 220):
    cv2.ellipse(img, (cx, 120), (35, 45), 0, 0, 360, (150, 180, 220), -1)
    cv2.circle(img, (cx - 12, 110), 5, (30, 30, 30), -1)
    cv2.circle(img, (cx + 12, 110), 5, (30, 30, 30), -1)
cv2.imwrite(sys.argv[1], img)
PY
chmod 0644 "$TMP/in/photo.jpg"

# run IMAGE ARGS...: the container as the manifests run it.
run() {
    local image=$1; shift
    podman run --rm --read-only --cap-drop=ALL --security-opt=no-new-privileges \
        --network=none --tmpfs /tmp:rw,size=64m,mode=1777 "$@" 2>&1
}

# check_image IMAGE PREFIX: prints ok/not ok lines named PREFIX.CHECK.
check_image() {
    local image=$1 p=$2 out uid
    uid=$(run "$image" --entrypoint id "$image" -u)
    if [[ "$uid" =~ ^[0-9]+$ ]] && [ "$uid" -ne 0 ]; then ok "$p.nonroot"; else not_ok "$p.nonroot" "runs as uid '$uid'"; fi
    user=$(podman image inspect -f '{{.Config.User}}' "$image")
    if [[ "$user" =~ ^[1-9][0-9]*(:[0-9]+)?$ ]]; then ok "$p.numeric-user"; else not_ok "$p.numeric-user" "USER is '$user'"; fi
    out=$(run "$image" --entrypoint sh "$image" -c 'for b in /usr/local/bin/*; do ldd "$b" | sed "s|^|$b: |"; done')
    if grep -q 'not found' <<<"$out"; then not_ok "$p.libraries" "$(grep 'not found' <<<"$out" | head -n 3 | tr '\n' ' ')"
    elif ! grep -q anon-intake <<<"$out"; then not_ok "$p.libraries" "anon-intake is not in the image"
    else ok "$p.libraries"; fi
    out=$(run "$image" "$image" --version)
    if [ "$out" = "anonctl $VERSION" ]; then ok "$p.version"; else not_ok "$p.version" "got: $(head -c 200 <<<"$out")"; fi
    rm -rf "${TMP:?}/out/"*
    out=$(run "$image" -v "$TMP/in:/in:ro" -v "$TMP/out:/out" "$image" blur /in/photo.jpg -o /out)
    if [ "$?" -eq 0 ] && [ -n "$(ls -A "$TMP/out")" ]; then ok "$p.blur"
    else not_ok "$p.blur" "$(head -c 300 <<<"$out" | tr '\n' ' ')"; fi
}

check_image "$IMAGE" image

for f in $(fixtures r5); do
    name=broken.$(basename "$f") tag=localhost/anon-broken-$(basename "$f"):test
    if ! podman build --pull=never -q --build-arg IMAGE="$IMAGE" -t "$tag" -f "$f/Containerfile" "$f" >"$TMP/out.log" 2>&1; then
        not_ok "$name" "fixture does not build: $(tail -n 3 "$TMP/out.log" | tr '\n' ' ')"; continue
    fi
    check_image "$tag" "$(basename "$f")" >"$TMP/fixture.out"
    podman rmi -f "$tag" >/dev/null 2>&1
    if grep -Eq "$(expect_of "$f")" "$TMP/fixture.out"; then ok "$name"
    else not_ok "$name" "the image passed the check it must fail: $(grep -E '^(not )?ok' "$TMP/fixture.out" | tr '\n' ' ')"; fi
done
