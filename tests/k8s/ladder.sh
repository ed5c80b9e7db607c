# tests/k8s/ladder.sh - shared by the tests of the manifest ladder
# (tests/test_k8s_*.sh, tests/svc_k8s_run.sh); sourced after tests/lib.sh.
#
# What is checked (each a kustomization rendered with scripts/kubectl):
#   dev, prod, keda   the overlays; prod and keda expect the Secrets
#                     anon-app and anon-services to be made by hand
#   dev+jobs          the dev overlay together with the worker Job
# Broken fixtures live in testdata/k8s-broken/rN-NAME/ (a kustomization
# on top of the real manifests, or rN-NAME.Dockerfile / Containerfile); the
# file `expect` (or a `# expect:` line) holds a regular expression the
# failing rung's output must match.
K8S_NODE=$ROOT/tests/k8s
BROKEN=$ROOT/testdata/k8s-broken
VERSION=$(sed -n 's/^#define ANON_VERSION "\(.*\)"/\1/p' "$ROOT/cli/anonctl.c")
KNOWN_ENV=$TMP/known-env
grep -o '"ANON_[A-Z0-9_]*"' "$ROOT/src/base/config.c" | tr -d '"' >"$KNOWN_ENV"
EXTERNAL_SECRETS=(--external-secret anon-app --external-secret anon-services)

kctl() { "$ROOT/scripts/kubectl" "$@"; }

# render DIR OUT: kustomize DIR into OUT.
render() { kctl kustomize "$1" >"$2" 2>&1; }

# render_target NAME OUT: one of the checked renderings.
render_target() {
    case $1 in
        dev+jobs) render "$ROOT/manifests/overlays/dev" "$2" &&
                  { echo ---; kctl kustomize "$ROOT/jobs"; } >>"$2" ;;
        *) render "$ROOT/manifests/overlays/$1" "$2" ;;
    esac
}
TARGETS=(dev+jobs prod keda)
externals() { case $1 in prod|keda) printf '%s\n' "${EXTERNAL_SECRETS[@]}" ;; esac; }

sources() { find "$ROOT/manifests" "$@" -name '*.yaml' | sort; }

schema()  { node "$K8S_NODE/schema.mjs" "$@"; }
policy()  { node "$K8S_NODE/policy.mjs" "$@" --version "$VERSION" --known-env "$KNOWN_ENV"; }

fixtures() { ls -d "$BROKEN"/"$1"-*/ 2>/dev/null | sed 's:/$::'; }
expect_of() { cat "$1/expect"; }

# expect_failure NAME OUTFILE RC REGEX: ok when RC != 0 and OUTFILE matches.
expect_failure() {
    local name=$1 out=$2 rc=$3 re=$4
    if [ "$rc" -eq 0 ]; then not_ok "$name" "passed, but must fail"
    elif grep -Eq -- "$re" "$out"; then ok "$name"
    else not_ok "$name" "failed without matching /$re/: $(head -c 300 "$out" | tr '\n' ' ')"; fi
}

# Needs the pinned npm packages (make k8s-validate-deps).
need_node_deps() {
    if [ ! -e "$K8S_NODE/node_modules/yaml" ]; then
        (cd "$ROOT" && make -s k8s-validate-deps >/dev/null 2>&1) ||
            { not_ok setup "make k8s-validate-deps failed"; exit 0; }
    fi
}
