# shellcheck shell=bash
# Progress for the long steps of scripts/demo, scripts/test and scripts/build-base-image.sh
# (sourced, not run).

# What the heartbeat process runs: while file $3 exists and process $4 (the script) lives,
# one line about $2 on stderr every $1 seconds. It is stopped by removing the file, not by
# a signal: a child signalled before it execs would run the script's own traps (an EXIT
# trap that cleans up) in that child.
# shellcheck disable=SC2016 # expanded by the heartbeat's own shell
readonly HEARTBEAT_LOOP='
elapsed=0
while [ -e "$3" ] && kill -0 "$4" 2>/dev/null; do
  sleep 1
  elapsed=$((elapsed + 1))
  if [ -e "$3" ] && kill -0 "$4" 2>/dev/null && ((elapsed % $1 == 0)); then
    echo "... $2: still under way after $elapsed s" >&2
  fi
done
rm -f "$3"'

# run_with_heartbeat LABEL [--log FILE] COMMAND...: runs COMMAND (its output appended to
# FILE with --log); unless that output goes to a terminal, says on stderr every
# HEARTBEAT_SECONDS (default 10) that LABEL is still under way. pip, apt and debootstrap
# print nothing for a minute at a time in a log or a pipe; on a terminal pip draws
# progress bars that such lines would garble.
run_with_heartbeat() {
  local label="$1" log="" running status=0
  shift
  if [ "${1:-}" = --log ]; then
    log="$2"
    shift 2
  fi
  if [ -z "$log" ] && [ -t 1 ] && [ -t 2 ]; then
    "$@"
    return
  fi
  running="$(mktemp "${TMPDIR:-/tmp}/heartbeat.XXXXXX")"
  bash -c "$HEARTBEAT_LOOP" heartbeat "${HEARTBEAT_SECONDS:-10}" "$label" "$running" "$$" \
    </dev/null >/dev/null &
  if [ -n "$log" ]; then
    "$@" >>"$log" 2>&1 || status=$?
  else
    "$@" || status=$?
  fi
  rm -f "$running"
  return "$status"
}
