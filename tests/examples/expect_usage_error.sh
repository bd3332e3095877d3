#!/bin/sh
# expect_usage_error.sh PROGRAM EXPECTED ARG...: runs PROGRAM ARG... and passes only if it exits
# with status 2 (a usage error) and its stderr contains the text EXPECTED.
program=$1 expected=$2
shift 2
stderr=$("$program" "$@" 2>&1 >/dev/null)
status=$?
if [ "$status" -ne 2 ]; then
  echo "expected exit status 2 from $program $*, got $status; stderr: $stderr"
  exit 1
fi
case $stderr in
  *"$expected"*) echo "ok: $stderr" | head -1 ;;
  *) echo "expected '$expected' in the stderr of $program $*, got: $stderr"; exit 1 ;;
esac
