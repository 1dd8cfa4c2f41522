"""The one workload every side runs, and how its progress is observed.

Each side's app module (``huey_app``, ``celery_app``, ...) defines two
tasks whose bodies are exactly these functions, so the work per task, and
the way the producer sees completions and start times, is the same on
every side: one command on the bench Redis through a plain redis-py client,
whatever the framework's own client is.

* ``noop()`` body: ``INCR`` of ``DONE_KEY``; the producer polls the counter.
* ``stamp(index)`` body: ``RPUSH`` of ``"index start_time"`` to
  ``STARTS_KEY``; the producer pairs it with its own clock before the call.
* ``nap()`` body (the asyncio table, ``bench/aio.py``): ``await
  asyncio.sleep(NAP)``, then the no-op's ``INCR``.

Connection settings come from ``BENCH_REDIS_HOST`` / ``_PORT`` / ``_DB``,
set by ``bench/peer_driver.py`` for its own process and for the worker.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from pathlib import Path

import redis

__all__ = [
    'DONE_KEY',
    'NAP',
    'STARTS_KEY',
    'console_script',
    'mark_done',
    'mark_start',
    'nap',
    'redis_url',
    'settings',
]

DONE_KEY = 'bench:peers:done'
STARTS_KEY = 'bench:peers:starts'
#: seconds each task of the asyncio table awaits
NAP = 0.1


def settings() -> tuple[str, int, int]:
    """(host, port, db) of the bench Redis: the broker of every side."""
    return (
        os.environ.get('BENCH_REDIS_HOST', '127.0.0.1'),
        int(os.environ.get('BENCH_REDIS_PORT', '6379')),
        int(os.environ.get('BENCH_REDIS_DB', '5')),
    )


def redis_url() -> str:
    host, port, db = settings()
    return f'redis://{host}:{port}/{db}'


# One client per process; redis-py's pool is thread-safe and reconnects
# after a fork, so every worker model can share it.
_host, _port, _db = settings()
_client = redis.Redis(host=_host, port=_port, db=_db)


def mark_done() -> None:
    """The whole body of the no-op task."""
    _client.incr(DONE_KEY)


def mark_start(index: int) -> None:
    """The whole body of the latency task: record when it started."""
    _client.rpush(STARTS_KEY, f'{index} {time.time()!r}')


async def nap() -> None:
    """The whole body of the I/O-bound task: an await, then ``mark_done``."""
    await asyncio.sleep(NAP)
    mark_done()


def console_script(*names: str) -> str:
    """The first of ``names`` installed next to this interpreter."""
    bindir = Path(sys.executable).parent
    for name in names:
        if (bindir / name).exists():
            return str(bindir / name)
    raise SystemExit(f'none of {", ".join(names)} in {bindir}: is the side installed there?')
