#!/usr/bin/env bash
# Rung 6 of the manifest ladder: the manifest-driven local run. The
# command, args and environment of the rendered dev overlay's migration
# Job, intake Deployment, worker Job (two indexes), anon-drain and
# anon-retry CronJobs are run here exactly as the kubelet would start them
# (tests/k8s/podspec.mjs), against the local stack, so manifests and
# programs cannot drift apart: a renamed flag or setting fails this test.
# Replaced for this machine, each printed: what `scripts/stack env`
# exports (where the services are), the intake's listen address, the
# model directory, scratch dirs, a private queue name, and a short
# DRAIN_IDLE_EXIT. Broken fixtures: testdata/k8s-broken/r6-*.
source "$(dirname "$0")/lib.sh"
source "$ROOT/tests/k8s/ladder.sh"
need_node_deps

R=$TMP/rendered.yaml
render_target dev+jobs "$R" || { not_ok render "$(head -c 300 "$R")"; exit 0; }

BINDIR=$BIN; [ -x "$BINDIR/anonctl" ] || BINDIR=$ROOT/build
PHOTOS=$TMP/photos; mkdir -p "$PHOTOS" "$TMP/scratch"

# What `scripts/stack env` sets, as --machine NAME=VALUE arguments.
MACHINE=()
while IFS= read -r -d '' kv; do MACHINE+=(--machine "$kv"); done < <(
    stack_vars=(); while IFS= read -r -d '' kv; do stack_vars+=("$kv"); done < <(env -0 | grep -z '^ANON_STACK_')
    cd "$ROOT" && env -i PATH="$PATH" HOME="${HOME:-/tmp}" "${stack_vars[@]}" bash -c '
        before=$(env -0 | sort -z | tr "\0" "\n" | cut -d= -f1)
        eval "$(scripts/stack env)" || exit 1
        env -0 | while IFS= read -r -d "" kv; do
            grep -qxF "${kv%%=*}" <<<"$before" || printf "%s\0" "$kv"
        done')
[ ${#MACHINE[@]} -gt 0 ] && ok "stack.env ($((${#MACHINE[@]} / 2)) settings)" || not_ok stack.env "scripts/stack env set nothing"

PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
QUEUE=anon.k8s-test.$$
SETS=(--set "ANON_QUEUE=$QUEUE" --set "ANON_MODEL_DIR=${ANON_MODEL_DIR:-$ROOT/.cache/models}")

# podargs RENDERED KIND/NAME [ARGS...]: sets PODARGS, the podspec.mjs run
# arguments for one rendered container with this machine's replacements.
podargs() {
    local r=$1 ref=$2; shift 2
    PODARGS=(run "$r" "$ref" --bin "$BINDIR" "${MACHINE[@]}" "${SETS[@]}")
    defines() { node "$K8S_NODE/podspec.mjs" get "$r" "$ref" env "$1" >/dev/null 2>&1; }
    defines TMPDIR && PODARGS+=(--set "TMPDIR=$TMP/scratch")
    defines DRAIN_IDLE_EXIT && PODARGS+=(--set DRAIN_IDLE_EXIT=3)
    defines ANON_INTAKE_LISTEN && PODARGS+=(--set "ANON_INTAKE_LISTEN=127.0.0.1:$PORT")
    PODARGS+=("$@")
}
# podrun RENDERED KIND/NAME [ARGS...]: runs it in the foreground.
podrun() { podargs "$@"; node "$K8S_NODE/podspec.mjs" "${PODARGS[@]}"; }

get() { node "$K8S_NODE/podspec.mjs" get "$R" "$@"; }

# ---- the schema migration Job
if podrun "$R" Job/anon-migrate >"$TMP/migrate.log" 2>&1; then ok job.migrate
else not_ok job.migrate "exit $?: $(tail -n 3 "$TMP/migrate.log" | tr '\n' ' ')"; fi

# ---- the intake Deployment
podargs "$R" Deployment/anon-intake
node "$K8S_NODE/podspec.mjs" "${PODARGS[@]}" >"$TMP/intake.log" 2>&1 &
INTAKE=$!   # node itself: it passes SIGTERM on to anon-intake
trap 'kill -9 $INTAKE 2>/dev/null; rm -rf "$TMP"' EXIT
URL=http://127.0.0.1:$PORT
code() { curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$URL$1"; }
up=0
for _ in $(seq 1 60); do
    kill -0 $INTAKE 2>/dev/null || break
    [ "$(code "$(get Deployment/anon-intake startup-path)")" = 200 ] && { up=1; break; }
    sleep 0.5
done
if [ $up = 1 ]; then ok deployment.intake.startup
else not_ok deployment.intake.startup "$(get Deployment/anon-intake startup-path) never answered 200: $(tail -n 3 "$TMP/intake.log" | tr '\n' ' ')"; fi
for probe in readiness liveness metrics; do
    path=$(get Deployment/anon-intake $probe-path)
    c=$(code "$path")
    [ "$c" = 200 ] && ok "deployment.intake.$probe" || not_ok "deployment.intake.$probe" "GET $path answered $c"
done

# Three photos through the intake, with the token from the manifest's Secret.
TOKEN=$(get Deployment/anon-intake env ANON_INTAKE_TOKEN 2>/dev/null || true)
/usr/bin/python3 - "$PHOTOS" <<'PY'
import sys, numpy as np, cv2
for i in range(3):
    img = np.zeros((240, 320, 3), np.uint8)
    img[:] = np.linspace(20 + 30 * i, 220, 320, dtype=np.uint8)[None, :, None]
    cv2.ellipse(img, (160, 120), (40, 50), 0, 0, 360, (150, 180, 220), -1)
    cv2.imwrite(f"{sys.argv[1]}/k8s-{i}.jpg", img)
PY
IDS=()
[ $up = 1 ] || not_ok intake.upload "the intake is not running"
for f in $([ $up = 1 ] && ls "$PHOTOS"/*.jpg); do
    body=$(curl -s --max-time 30 -w '\n%{http_code}' ${TOKEN:+-H "Authorization: Bearer $TOKEN"} \
        -F "image=@$f" -F camera=k8s-ladder "$URL/v1/images")
    c=$(tail -n 1 <<<"$body")
    id=$(head -n -1 <<<"$body" | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get("id",""))' 2>/dev/null)
    if [[ "$c" =~ ^20[02]$ ]] && [ -n "$id" ]; then IDS+=("$id"); else not_ok "intake.upload.$(basename "$f")" "answered $c: $(head -c 200 <<<"$body")"; fi
done
[ ${#IDS[@]} -eq 3 ] && ok intake.upload

# ---- the worker Job: two of its indexes in parallel, until the queue is idle
n=$(get Job/anon-worker parallelism); [ "$n" -gt 2 ] && n=2
pids=()
for i in $(seq 0 $((n - 1))); do
    podargs "$R" Job/anon-worker --index "$i"
    timeout 600 node "$K8S_NODE/podspec.mjs" "${PODARGS[@]}" >"$TMP/worker-$i.log" 2>&1 &
    pids+=($!)
done
for i in "${!pids[@]}"; do
    if wait "${pids[$i]}"; then ok "job.worker.index-$i"
    else not_ok "job.worker.index-$i" "exit $?: $(tail -n 3 "$TMP/worker-$i.log" | tr '\n' ' ')"; fi
done
done_count=0
for id in "${IDS[@]}"; do
    st=$(curl -s --max-time 5 ${TOKEN:+-H "Authorization: Bearer $TOKEN"} "$URL/v1/images/$id" |
        /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin).get("status",""))' 2>/dev/null)
    [ "$st" = done ] && done_count=$((done_count + 1))
done
[ ${#IDS[@]} -gt 0 ] && [ $done_count -eq ${#IDS[@]} ] && ok job.worker.images-done ||
    not_ok job.worker.images-done "$done_count of ${#IDS[@]} images done"

# ---- the CronJobs
if podrun "$R" CronJob/anon-drain --index 0 >"$TMP/drain.log" 2>&1; then ok cronjob.anon-drain
else not_ok cronjob.anon-drain "exit $?: $(tail -n 3 "$TMP/drain.log" | tr '\n' ' ')"; fi
if podrun "$R" CronJob/anon-retry >"$TMP/retry.out" 2>"$TMP/retry.log"; then
    # Its args ask for --json: what it prints must parse.
    if [ ! -s "$TMP/retry.out" ] || /usr/bin/python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$TMP/retry.out" 2>/dev/null ||
       /usr/bin/python3 -c 'import json,sys; [json.loads(l) for l in open(sys.argv[1]) if l.strip()]' "$TMP/retry.out" 2>/dev/null
    then ok cronjob.anon-retry
    else not_ok cronjob.anon-retry "output is not JSON: $(head -c 200 "$TMP/retry.out")"; fi
else not_ok cronjob.anon-retry "exit $?: $(tail -n 3 "$TMP/retry.log" | tr '\n' ' ')"; fi

# ---- SIGTERM to the intake: exits 0 within the pod's grace period
# stop_intake: SIGTERM, then wait up to the pod's grace period.
stop_intake() {
    local grace
    grace=$(get Deployment/anon-intake grace)
    if [ $up = 0 ]; then kill -9 $INTAKE 2>/dev/null; not_ok deployment.intake.sigterm "the intake was not running"; return; fi
    kill -TERM $INTAKE 2>/dev/null
    for _ in $(seq 1 $((grace * 2))); do kill -0 $INTAKE 2>/dev/null || break; sleep 0.5; done
    if kill -0 $INTAKE 2>/dev/null; then kill -9 $INTAKE; not_ok deployment.intake.sigterm "still running after terminationGracePeriodSeconds=$grace"
    elif wait $INTAKE; then ok deployment.intake.sigterm
    else not_ok deployment.intake.sigterm "exit $? after SIGTERM"; fi
}
stop_intake

# ---- broken fixtures: the run must fail the way the fixture says
for f in $(fixtures r6); do
    name=broken.$(basename "$f")
    render "$f" "$TMP/fixture.yaml" || { not_ok "$name" "fixture does not render"; continue; }
    podargs "$TMP/fixture.yaml" Job/anon-worker --index 0
    timeout 120 node "$K8S_NODE/podspec.mjs" "${PODARGS[@]}" >"$TMP/fixture.log" 2>&1
    rc=$?
    case $(expect_of "$f") in
        usage) [ $rc -eq 2 ] && ok "$name" || not_ok "$name" "exit $rc, expected 2 (usage): $(tail -n 2 "$TMP/fixture.log" | tr '\n' ' ')" ;;
        failjob) codes=" $(node "$K8S_NODE/podspec.mjs" get "$TMP/fixture.yaml" Job/anon-worker failjob-codes) "
                 [[ "$codes" == *" $rc "* ]] && ok "$name" || not_ok "$name" "exit $rc, not one of the FailJob codes ($codes)" ;;
    esac
done
