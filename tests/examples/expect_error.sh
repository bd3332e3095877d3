#!/bin/sh
# expect_error.sh STATUS PROGRAM EXPECTED ARG...: runs PROGRAM ARG... and passes only if it exits
# with STATUS (2: a usage error, 1: inputs that failed) and its stderr contains EXPECTED. A
# crash (a signal, std::terminate) fails whatever the status.
want=$1 program=$2 expected=$3
shift 3
stderr=$(timeout 60 "$program" "$@" 2>&1 >/dev/null)
status=$?
case $stderr in
  *"terminate called"* | *"Aborted"* | *"Segmentation"*)
    echo "$program $* crashed (status $status): $stderr"; exit 1 ;;
esac
if [ "$status" -ne "$want" ]; then
  echo "expected exit status $want from $program $*, got $status; stderr: $stderr"
  exit 1
fi
case $stderr in
  *"$expected"*) echo "ok: $stderr" | head -1 ;;
  *) echo "expected '$expected' in the stderr of $program $*, got: $stderr"; exit 1 ;;
esac
