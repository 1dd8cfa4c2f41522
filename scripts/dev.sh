#!/usr/bin/env bash
# Set up a development virtualenv (.venv) with every package installed editable
# plus the test tools, then run the demo: a real consumer on SQLite runs add(1, 2).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
editable=()
for p in packages/*/; do editable+=(-e "$p"); done
.venv/bin/python -m pip install -q "${editable[@]}" \
    'redis[hiredis]>=5' 'gevent>=23' 'peewee>=3.17' psycopg2-binary pymysql \
    'django>=4.2' django-tasks pytest-django 'psycopg[binary]' \
    pytest hypothesis tox ruff build playwright
[ "${1:-}" = "--no-demo" ] && exit 0

export HUEY_DEMO_DB=$(mktemp -d)/demo.db
cd examples
../.venv/bin/huey_consumer.py demo.huey -w 2 &
consumer=$!
trap 'kill -INT $consumer 2>/dev/null; wait $consumer 2>/dev/null || true' EXIT
../.venv/bin/python - <<'PY'
from demo import add, huey
result = add(1, 2)
print('add(1, 2) =', result(blocking=True, timeout=15))
pipeline = huey.enqueue(add.s(1, 2).then(add, 3).then(add, 4))
print('pipeline  =', pipeline.get(blocking=True, timeout=15))
PY
