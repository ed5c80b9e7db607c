#!/usr/bin/env bash
# test_readme.sh - the README's first lines and configuration table are true.
source "$(dirname "$0")/lib.sh"
head -5 "$ROOT/README.md" | grep -q '^    make demo' && head -5 "$ROOT/README.md" | grep -q '^    make test' \
    && ok readme_starts_with_the_two_commands || not_ok readme_starts_with_the_two_commands
grep -q 'make test' "$ROOT/.ci/run" && ok ci_runs_make_test || not_ok ci_runs_make_test
table=$("$BIN/anonctl" config --markdown)
if /usr/bin/python3 - "$ROOT/README.md" "$table" <<'PY'
import sys
text, table = open(sys.argv[1]).read(), sys.argv[2]
start = text.index("\n", text.index("<!-- config-table")) + 1
end = text.index("<!-- end config-table -->")
sys.exit(0 if text[start:end].strip() == table.strip() else 1)
PY
then ok readme_config_table_current; else not_ok readme_config_table_current "run scripts/readme-config"; fi
