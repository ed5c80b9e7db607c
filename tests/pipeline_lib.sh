# tests/pipeline_lib.sh - set-up and helpers for the end-to-end pipeline
# tests (sourced after lib.sh and intake_lib.sh): a private queue, an intake
# on a free port, and short names for the questions the tests ask the table.
ANONCTL=$BIN/anonctl
DEMO=$ROOT/.cache/face-api/package/demo

# A private queue, so other tests' messages never reach these workers.
export ANON_QUEUE=anon.e2e.$$
export ANON_DELIVERY_LIMIT=5
# One detection pass per photo (the default model, yolo, at 1024 px): these
# tests are about the pipeline, and the ASan build of more passes would
# take minutes per run (the presets have their own tests).
export ANON_PRESET=fast
migrate
start_intake e2e ANON_MAX_PIXELS=100000000 || { not_ok start "anon-intake did not start"; exit 1; }
export ANON_INTAKE_URL=$INTAKE_URL
cleanup() { stop_intake KILL; kill -9 $(jobs -p) 2>/dev/null; rm -rf "$TMP"; }
trap cleanup EXIT

mkdir -p "$TMP/photos"
cp "$DEMO"/sample{1,2,3,4,5,6}.jpg "$TMP/photos/"
N=6

# drain INDEX [ARGS]: one worker as an Indexed Job pod runs it.
drain() {
    local index=$1; shift
    JOB_COMPLETION_INDEX=$index "$ANONCTL" drain --idle-exit 3 "$@" >>"$TMP/drain-$index.log" 2>&1
}
count() { sql "SELECT count(*) FROM images WHERE camera = '$1' AND status = '$2'"; }
rows_of() { sql "SELECT count(*) FROM images WHERE camera = '$1'"; }

# Downloads every output of a camera into DIR as NAME (the original's).
fetch_outputs() {
    local cam=$1 dir=$2 id name
    mkdir -p "$dir"
    while IFS='|' read -r id name; do
        "$ANONCTL" get "$id" -o "$dir/$name" || return 1
    done < <(sql "SELECT id, original_name FROM images WHERE camera = '$cam' ORDER BY id")
}

