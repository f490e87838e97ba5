#!/usr/bin/env bash
# make demo: the main job on the built-in data. Until the report exists,
# the installed example.
set -euo pipefail
cd "$(dirname "$0")/.."
make --no-print-directory check-example
