# tests/intake_lib.sh - helpers for the anon-intake tests (sourced after lib.sh).
#
# Needs the stack's environment (scripts/run-tests exports `scripts/stack env`).
#   start_intake NAME [VAR=VALUE...]   runs $BIN/anon-intake on a free port;
#                                      sets INTAKE_PID, INTAKE_URL, INTAKE_LOG
#   stop_intake [SIGNAL]               stops it; sets INTAKE_RC
#   post FILE [CURL ARGS...]           multipart upload; sets CODE, BODY, HDRS
#   post_raw FILE TYPE [CURL ARGS...]  raw-body upload
#   get PATH [CURL ARGS...]            sets CODE, BODY, HDRS
#   json FILE FILTER                   jq -r on a response
#   s3_code BUCKET KEY                 HTTP status of a signed HEAD on the object
#   sql QUERY                          one psql query, unaligned output

PY=/usr/bin/python3
CAM=${CAM:-t$$r$RANDOM}

start_intake() {
    local name=$1; shift
    INTAKE_LOG=$TMP/$name.log
    env ANON_INTAKE_LISTEN=127.0.0.1:0 "$@" "$BIN/anon-intake" >"$INTAKE_LOG" 2>"$TMP/$name.err" &
    INTAKE_PID=$!
    local port="" i
    for i in $(seq 1 100); do
        port=$(sed -n 's/.*listening on .*(port \([0-9]*\)).*/\1/p' "$INTAKE_LOG" 2>/dev/null | head -n1)
        [ -n "$port" ] && break
        kill -0 "$INTAKE_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        echo "# anon-intake did not start:" >&2
        cat "$TMP/$name.err" >&2
        return 1
    fi
    INTAKE_URL=http://127.0.0.1:$port
}

stop_intake() {
    kill -"${1:-TERM}" "$INTAKE_PID" 2>/dev/null
    wait "$INTAKE_PID"
    INTAKE_RC=$?
}

# _curl OUTNAME CURL ARGS...: one request; the body in $TMP/OUTNAME.body.
_curl() {
    local out=$1; shift
    BODY=$TMP/$out.body HDRS=$TMP/$out.hdrs
    CODE=$(curl -s -o "$BODY" -D "$HDRS" -w '%{http_code}' --max-time 60 "$@")
}

post() {
    local file=$1; shift
    _curl post -F "image=@$file" "$@" "$INTAKE_URL/v1/images"
}

post_raw() {
    local file=$1 type=$2; shift 2
    _curl post --data-binary "@$file" -H "Content-Type: $type" "$@" "$INTAKE_URL/v1/images"
}

get() {
    local path=$1; shift
    _curl get "$@" "$INTAKE_URL$path"
}

json() { jq -r "$2" <"$1" 2>/dev/null; }

EMPTY_SHA256=e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855
s3_code() {
    curl -s -o /dev/null -w '%{http_code}' -I --max-time 20 \
        --aws-sigv4 "aws:amz:${ANON_S3_REGION}:s3" \
        --user "${ANON_S3_ACCESS_KEY}:${ANON_S3_SECRET_KEY}" \
        -H "x-amz-content-sha256: $EMPTY_SHA256" "${ANON_S3_ENDPOINT}/$1/$2"
}

# s3_put FILE BUCKET KEY: a signed PUT; prints the HTTP status.
s3_put() {
    curl -s -o /dev/null -w '%{http_code}' -X PUT --max-time 20 --data-binary "@$1" \
        --aws-sigv4 "aws:amz:${ANON_S3_REGION}:s3" \
        --user "${ANON_S3_ACCESS_KEY}:${ANON_S3_SECRET_KEY}" -H 'Content-Type: image/jpeg' \
        -H "x-amz-content-sha256: $(sha256sum "$1" | cut -d' ' -f1)" "${ANON_S3_ENDPOINT}/$2/$3"
}

sql() { psql "$ANON_DB_URL" -qAtX -c "$1" 2>&1; }

# is_json_error FILE: a JSON body with error, detail and request_id.
is_json_error() {
    jq -e '(.error|type=="string") and (.detail|type=="string") and (.request_id|type=="string")' \
        <"$1" >/dev/null 2>&1
}

# expect_error NAME_STATUS: checks that the last request got STATUS (the
# name's last part, as in too_large_413) and a JSON error body.
expect_error() {
    local want=${1##*_}
    if [ "$CODE" = "$want" ] && is_json_error "$BODY"; then ok "$1"
    else not_ok "$1" "expected $want + JSON error, got $CODE $(head -c 200 "$BODY")"; fi
}

migrate() { "$BIN/anonctl" migrate >/dev/null 2>&1 || "$ROOT/build/anonctl" migrate >/dev/null 2>&1; }
