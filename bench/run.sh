#!/usr/bin/env bash
# make bench: run every bench/bench-*.sh; each prints lines
#   BENCH case=NAME impl=NAME seconds=S peak_mb=M [quality figures]
# comparing libembedviz with the peers a user would pick instead, in one run.
set -uo pipefail
cd "$(dirname "$0")/.."
status=0
for b in bench/bench-*.sh; do
  [ -e "$b" ] || continue
  echo "=== $b"
  bash "$b" || status=1
done
exit $status
