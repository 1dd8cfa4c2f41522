"""Task module the benchmark consumers import (``bench_app.huey``).

The same file is imported by both interpreters (ours and the reference), so
it uses only the public ``huey`` API. The storage is chosen by environment
variables set by ``bench/driver.py``:

* ``BENCH_STORAGE``: ``redis`` (default), ``sqlite`` or ``memory``;
* ``BENCH_REDIS_DB``: Redis database number (default 5, the bench db);
* ``BENCH_SQLITE_FILE``: the SQLite file (required for ``sqlite``);
* ``BENCH_MONITOR``: set to record with huey-monitor (compare an interpreter
  wrapper that sets it against the same interpreter without it).
"""

from __future__ import annotations

import os
import time

from huey import MemoryHuey, RedisHuey, SqliteHuey

__all__ = ['huey', 'make_huey', 'nap', 'noop', 'settle', 'stamp']


def make_huey():
    """Build the Huey instance described by the ``BENCH_*`` environment variables."""
    kind = os.environ.get('BENCH_STORAGE', 'redis')
    if kind == 'redis':
        return RedisHuey(
            'bench',
            host=os.environ.get('BENCH_REDIS_HOST', '127.0.0.1'),
            port=int(os.environ.get('BENCH_REDIS_PORT', '6379')),
            db=int(os.environ.get('BENCH_REDIS_DB', '5')),
        )
    if kind == 'sqlite':
        filename = os.environ.get('BENCH_SQLITE_FILE')
        if not filename:
            raise RuntimeError('BENCH_STORAGE=sqlite needs BENCH_SQLITE_FILE=/path/to/file.db')
        return SqliteHuey('bench', filename=filename)
    if kind == 'memory':
        return MemoryHuey('bench')
    raise RuntimeError(f'BENCH_STORAGE={kind!r}: use redis, sqlite or memory')


huey = make_huey()

if os.environ.get('BENCH_MONITOR'):  # measure huey-monitor's recording cost (ours only)
    import huey_monitor

    huey_monitor.enable(huey)


def settle():
    """Write what this producer buffered (huey-monitor's enqueue events)
    before a drain starts, so the drain measures the consumer alone."""
    if os.environ.get('BENCH_MONITOR'):
        huey_monitor.monitor_for(huey).flush()


@huey.task()
def noop():
    """Do nothing; return a constant so the result is stored (None is not)."""
    return 1


@huey.task()
def stamp():
    """Return the wall-clock time at which the task started."""
    return time.time()


@huey.task()
def nap(seconds):
    """Sleep (I/O-bound stand-in); greenlet workers get the patched sleep."""
    time.sleep(seconds)
    return 1
