"""Task module the benchmark consumers import (``bench_app.huey``).

The same file is imported by both interpreters (ours and the reference), so
it uses only the public ``huey`` API. The storage is chosen by environment
variables set by ``bench/driver.py``:

* ``BENCH_STORAGE``: ``redis`` (default), ``sqlite`` or ``memory``;
* ``BENCH_REDIS_DB``: Redis database number (default 5, the bench db);
* ``BENCH_SQLITE_FILE``: the SQLite file (required for ``sqlite``);
* ``BENCH_MONITOR``: set to record with huey-monitor (compare an interpreter
  wrapper that sets it against the same interpreter without it);
* ``BENCH_TOGGLE``: ``logging``, ``monitor`` (with ``BENCH_MONITOR``) or
  ``none`` (a control): the consumer turns that feature off and on about
  every ``BENCH_TOGGLE_PERIOD`` seconds and appends each switch (time, 1 on /
  0 off) and, every 10 ms, a sample (time, no-ops run, CPU seconds) to
  ``BENCH_TOGGLE_FILE`` (ours only; see ``scenario_toggle`` in driver.py).
"""

from __future__ import annotations

import itertools
import logging
import os
import random
import threading
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


_toggler_started = threading.Lock()


if os.environ.get('BENCH_TOGGLE'):

    @huey.on_startup()
    def _start_toggler():
        # every worker runs this hook; the first one starts the toggler
        if _toggler_started.acquire(blocking=False):
            threading.Thread(target=_toggle, name='bench-toggle', daemon=True).start()


def _toggle():
    """Turn ``BENCH_TOGGLE`` off and on in this consumer, forever.

    Before a feature goes off, the work it has buffered is done (the log
    lines written, the monitor's events stored), so each window pays for
    its own tasks."""
    feature = os.environ['BENCH_TOGGLE']
    period = float(os.environ.get('BENCH_TOGGLE_PERIOD', '1.0'))
    root = logging.getLogger()
    if feature == 'logging':

        def switch(on):
            if not on:
                for handler in root.handlers:
                    handler.flush()
            root.setLevel(logging.INFO if on else logging.WARNING)

    elif feature == 'monitor':
        recorder = huey_monitor.monitor_for(huey).recorder

        def switch(on):
            recorder.listen(on)
            if not on:
                recorder.flush()

    elif feature == 'none':  # the control: the same switching, nothing switched

        def switch(on):
            pass

    else:
        raise RuntimeError(f'BENCH_TOGGLE={feature!r}: use logging, monitor or none')
    on = True
    with open(os.environ['BENCH_TOGGLE_FILE'], 'a') as notes:
        while True:
            notes.write(f'switch {time.time():.6f} {int(on)}\n')
            # a random length, so that nothing periodic in the consumer
            # (the scheduler's second) falls into one side's windows only
            until = time.monotonic() + period * random.uniform(0.7, 1.3)
            while (left := until - time.monotonic()) > 0:
                time.sleep(min(_SAMPLE_EVERY, left))
                ran = repr(_noops)[6:-1]  # 'count(N)': the count so far, not advanced
                notes.write(f'sample {time.time():.6f} {ran} {time.process_time():.6f}\n')
            notes.flush()
            on = not on
            switch(on)


def settle():
    """Write what this producer buffered (huey-monitor's enqueue events)
    before a drain starts, so the drain measures the consumer alone."""
    if os.environ.get('BENCH_MONITOR'):
        huey_monitor.monitor_for(huey).flush()


#: no-ops run in this process: the toggle's samples (one C call a task)
_noops = itertools.count()
#: seconds between the toggle's samples of that count and the process's CPU
#: time, taken here: a driver counting the stored results as often would
#: take a core from the consumer
_SAMPLE_EVERY = 0.01


@huey.task()
def noop():
    """Do nothing; return a constant so the result is stored (None is not)."""
    next(_noops)
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
