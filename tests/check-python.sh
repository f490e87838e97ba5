#!/usr/bin/env bash
# The Python tests (pytest with Debian's /usr/bin/python3) against build/.
# Skips fail unless EV_ALLOW_SKIPS names them (tests/pytest_skips.py).
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-/usr/bin/python3}
dirs=()
for d in tests/python bindings/python/tests tests/browser; do
  ls "$d"/test_*.py >/dev/null 2>&1 && dirs+=("$d")
done
if [ ${#dirs[@]} -eq 0 ]; then echo "no Python tests yet"; exit 0; fi
# OpenMP threads wait asleep, not spinning (tests/run-c.sh says why).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive}
export EMBEDVIZ_LIBRARY=${EMBEDVIZ_LIBRARY:-$PWD/build/libembedviz.so.1}
export EMBEDVIZ_CLI=${EMBEDVIZ_CLI:-$PWD/build/embedviz}
export PYTHONPATH=$PWD/bindings/python${PYTHONPATH:+:$PYTHONPATH}
# -p pytest_skips (tests/pytest_skips.py): a skip fails unless EV_ALLOW_SKIPS
# names it; -rfEs lists the failures, errors and allowed skips at the end.
export PYTHONPATH=$PWD/tests:$PYTHONPATH
"$PYTHON" -m pytest -q -rfEs -p no:cacheprovider -p pytest_skips --durations=12 \
  --continue-on-collection-errors "${dirs[@]}"
