#!/usr/bin/env bash
# Run every test: one tox env per package (each installed alone), integration, lint.
# Extra arguments go to tox, e.g. `scripts/test.sh -e api`.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q 'tox>=4.11'
if [ $# -eq 0 ]; then
    # `wheels` first (every env installs from it), then the rest two at a time.
    .venv/bin/tox -e wheels
    exec .venv/bin/tox p -p 2 --parallel-no-spinner -e "$(.venv/bin/tox -l | grep -v '^wheels$' | paste -sd, -)"
fi
exec .venv/bin/tox "$@"
