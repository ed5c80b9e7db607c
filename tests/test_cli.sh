#!/usr/bin/env bash
# test_cli.sh - anonctl's shared behaviour, no services needed: `anonctl
# help CMD`, every command's exit codes in its --help, one-line usage
# errors, and settings shown with real defaults and secrets hidden.
source "$(dirname "$0")/lib.sh"
ANONCTL=$BIN/anonctl
commands=$("$ANONCTL" --help | sed -n '/^commands:/,/^$/p' | awk 'NF > 1 {print $1}')
[ "$(echo "$commands" | wc -w)" -ge 9 ] && ok overview_lists_commands || not_ok overview_lists_commands "$commands"

# `anonctl help CMD` is `anonctl CMD --help`; every help lists its exit codes.
same=1 codes=1 one_line=1 bad=""
for c in $commands; do
    "$ANONCTL" help "$c" >"$TMP/help.$c" 2>&1 || same=0
    "$ANONCTL" "$c" --help | cmp -s - "$TMP/help.$c" || { same=0; bad="$bad help:$c"; }
    if ! grep -q '^exit status:$' "$TMP/help.$c" || ! grep -q '^  0  success' "$TMP/help.$c" ||
       ! grep -q '^  2  usage error: bad flags or arguments' "$TMP/help.$c"; then
        codes=0; bad="$bad codes:$c"
    fi
    "$ANONCTL" "$c" --no-such-flag >/dev/null 2>"$TMP/err.$c"
    rc=$?
    if [ $rc -ne 2 ] || [ "$(wc -l <"$TMP/err.$c")" -ne 1 ] || ! grep -q -- '--no-such-flag' "$TMP/err.$c"; then
        one_line=0; bad="$bad option:$c($rc: $(tr '\n' '|' <"$TMP/err.$c"))"
    fi
done
[ $same = 1 ] && ok help_cmd_is_cmd_help || not_ok help_cmd_is_cmd_help "$bad"
[ $codes = 1 ] && ok every_help_lists_exit_codes || not_ok every_help_lists_exit_codes "$bad"
[ $one_line = 1 ] && ok unknown_option_one_line || not_ok unknown_option_one_line "$bad"
"$ANONCTL" help no-such-command >/dev/null 2>&1
[ $? -eq 2 ] && ok help_unknown_command_exit_2 || not_ok help_unknown_command_exit_2
"$ANONCTL" blur -o 2>"$TMP/missing.err" >/dev/null
[ $? -eq 2 ] && [ "$(wc -l <"$TMP/missing.err")" -eq 1 ] && grep -q 'needs a value' "$TMP/missing.err" \
    && ok missing_value_one_line || not_ok missing_value_one_line "$(cat "$TMP/missing.err")"
"$ANONCTL" retry --help | grep -q '^  4  a service could not be reached' && ok service_commands_list_exit_4 \
    || not_ok service_commands_list_exit_4

# Settings: defaults shown as they are; what is set hides its secrets.
env -u ANON_DB_URL -u ANON_S3_SECRET_KEY "$ANONCTL" config >"$TMP/config.default"
grep -qx 'ANON_DB_URL=postgresql://anon:anon@127.0.0.1:5432/anon' "$TMP/config.default" &&
    grep -qx 'ANON_S3_SECRET_KEY=S3RVER' "$TMP/config.default" && ! grep -q '(set' "$TMP/config.default" \
    && ok config_shows_real_defaults || not_ok config_shows_real_defaults "$(grep -A1 '^ANON_DB_URL\|^ANON_S3_SECRET' "$TMP/config.default")"
ANON_DB_URL='postgresql://u:pw123@db.example:5432/anon?password=pw456' \
ANON_AMQP_URL='amqp://a:pw789@h1:5672/%2f,amqp://b:pwabc@h2:5672/%2f' \
ANON_S3_SECRET_KEY=topsecret ANON_INTAKE_TOKEN=tok-secret "$ANONCTL" config >"$TMP/config.set"
if grep -qx 'ANON_DB_URL=postgresql://u:\*\*\*@db.example:5432/anon?password=\*\*\*' "$TMP/config.set" &&
   grep -qx 'ANON_AMQP_URL=amqp://a:\*\*\*@h1:5672/%2f,amqp://b:\*\*\*@h2:5672/%2f' "$TMP/config.set" &&
   grep -qx 'ANON_S3_SECRET_KEY=(set, hidden)' "$TMP/config.set" &&
   grep -qx 'ANON_INTAKE_TOKEN=(set, hidden)' "$TMP/config.set" &&
   ! grep -q 'pw123\|pw456\|pw789\|pwabc\|topsecret\|tok-secret' "$TMP/config.set"; then
    ok config_hides_set_secrets_only
else
    not_ok config_hides_set_secrets_only "$(grep '^ANON_DB\|^ANON_AMQP\|^ANON_S3_SECRET\|^ANON_INTAKE_TOKEN' "$TMP/config.set" | tr '\n' ' ')"
fi
ANON_DB_URL="host=db password='p w' dbname=anon" "$ANONCTL" config | grep -qx "ANON_DB_URL=host=db password=\*\*\* dbname=anon" \
    && ok config_hides_keyword_password || not_ok config_hides_keyword_password
"$BIN/anon-intake" --help >"$TMP/intake.help"
! grep -q '(set)' "$TMP/intake.help" && grep -q 'ANON_S3_SECRET_KEY .*(default: S3RVER)' "$TMP/intake.help" &&
    grep -q 'ANON_INTAKE_TOKEN .*(default: empty)' "$TMP/intake.help" \
    && ok intake_help_shows_real_defaults || not_ok intake_help_shows_real_defaults "$(grep SECRET "$TMP/intake.help")"
"$BIN/anon-intake" --no-such-flag >/dev/null 2>"$TMP/intake.err"
[ $? -eq 2 ] && [ "$(wc -l <"$TMP/intake.err")" -eq 1 ] && ok intake_unknown_option_one_line \
    || not_ok intake_unknown_option_one_line "$(cat "$TMP/intake.err")"

# drain takes --model and --preset like blur (checked before any service).
"$ANONCTL" drain --model bogus >/dev/null 2>"$TMP/drain.err"
rc1=$?
"$ANONCTL" drain --preset bogus >/dev/null 2>>"$TMP/drain.err"
rc2=$?
[ $rc1 -eq 2 ] && [ $rc2 -eq 2 ] && grep -q -- '--model: ANON_MODEL: expected one of' "$TMP/drain.err" && grep -q -- '--preset: ANON_PRESET: expected one of' "$TMP/drain.err" \
    && ok drain_model_preset_flags_checked || not_ok drain_model_preset_flags_checked "exit $rc1 $rc2: $(cat "$TMP/drain.err")"
"$ANONCTL" drain --help | grep -q -- '--model NAME' && "$ANONCTL" drain --help | grep -q -- '--preset NAME' \
    && ok drain_help_lists_model_preset || not_ok drain_help_lists_model_preset

# The originals' retention flag goes through the settings table's checks,
# on every command that takes it, before any service is touched.
bad=""
for c in drain retry purge; do
    "$ANONCTL" "$c" --originals-retention 30days >/dev/null 2>"$TMP/ret.err"
    rc=$?
    [ $rc -eq 2 ] && grep -q -- "--originals-retention: ANON_ORIGINALS_RETENTION: '30days' is not a duration" "$TMP/ret.err" \
        || bad="$bad $c($rc: $(cat "$TMP/ret.err"))"
    "$ANONCTL" "$c" --help | grep -q -- '--originals-retention D' || bad="$bad help:$c"
done
[ -z "$bad" ] && ok retention_flag_checked || not_ok retention_flag_checked "$bad"
ANON_ORIGINALS_RETENTION=forever "$ANONCTL" config | grep -qx 'ANON_ORIGINALS_RETENTION=forever' &&
    ANON_ORIGINALS_RETENTION=86400 "$ANONCTL" config | grep -qx 'ANON_ORIGINALS_RETENTION=1d' \
    && ok config_shows_retention_as_duration || not_ok config_shows_retention_as_duration
# reprocess sends everything only when asked in so many words; get --json
# and -o - cannot share standard output.
"$ANONCTL" reprocess >/dev/null 2>"$TMP/rep.err"
rc1=$?
"$ANONCTL" reprocess --since yesterday >/dev/null 2>>"$TMP/rep.err"
rc2=$?
[ $rc1 -eq 2 ] && [ $rc2 -eq 2 ] && grep -q -- '--all' "$TMP/rep.err" \
    && ok reprocess_needs_a_selection || not_ok reprocess_needs_a_selection "exit $rc1 $rc2: $(cat "$TMP/rep.err")"
"$ANONCTL" get 1 --json -o - >/dev/null 2>&1
[ $? -eq 2 ] && ok get_json_and_stdout_image_refused || not_ok get_json_and_stdout_image_refused
