#!/bin/bash
# The upsc baseline of the poll-cost benchmark (bench/poll-cost.ts runs it as
# `bash upsc-loop.sh SECONDS UPS@HOST:PORT…`): upsc for every target, all at
# once, every second, for SECONDS seconds, as a Node-RED node that execs upsc
# would. Prints the rounds done, then `times` (CPU of the shell, then of its
# children).
dur=$1; shift
t0=${EPOCHREALTIME/./}; end=$((t0 + dur * 1000000)); next=$t0; rounds=0
while [ "${EPOCHREALTIME/./}" -lt "$end" ]; do
  for t in "$@"; do upsc "$t" >/dev/null 2>&1 & done
  wait
  rounds=$((rounds + 1))
  next=$((next + 1000000)); now=${EPOCHREALTIME/./}
  if [ "$now" -lt "$next" ]; then d=$((next - now)); sleep "$((d / 1000000)).$(printf %06d $((d % 1000000)))"; else next=$now; fi
done
echo "$rounds"
times
