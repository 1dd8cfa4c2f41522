"""One benchmark measurement, run in a fresh interpreter of the side under test.

``bench/run.py`` starts this script once per measurement, with either our
interpreter or the reference huey's, so exactly the same code drives both.
It uses only the public huey API (``from huey import RedisHuey, ...``, task
decorators, ``Result.get``, ``Huey.result_count``) and the console script
next to ``sys.executable`` (``huey_consumer.py`` or ``huey_consumer``).

Usage::

    python bench/driver.py SCENARIO '{"json": "params"}'

The last stdout line starting with ``BENCH_RESULT`` carries a JSON object
with the figures (seconds, tasks/s, MiB).
"""

from __future__ import annotations

import os
import random
import shutil
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

from harness import (
    REDIS_DB,
    WorkerProcess,
    percentile,
    redis_client,
    rss_mib,
    run_scenario,
    tree_cpu_seconds,
    tree_rss_mib,
)

__all__ = ['main']

APPS = Path(__file__).resolve().parent / 'apps'


# -- helpers ---------------------------------------------------------------


def _server_reads(storage: Storage) -> int | None:
    """Requests the Redis server has read so far (a pipeline is one read):
    the difference over a measurement, per task, is its round trips."""
    if storage.kind != 'redis':
        return None
    return int(redis_client().info('stats')['total_reads_processed'])


def _per_task(before: int | None, after: int | None, count: int) -> dict:
    return {} if before is None or after is None else {'trips': (after - before) / count}


class Storage:
    """Prepare a fresh backing store (flushed Redis db or new SQLite file)."""

    def __init__(self, kind: str):
        if kind not in ('redis', 'sqlite', 'memory'):
            raise SystemExit(f'storage {kind!r}: use redis, sqlite or memory')
        self.kind = kind
        self.tmpdir = tempfile.mkdtemp(prefix='huey-bench-')
        self.env = dict(os.environ)
        self.env['BENCH_STORAGE'] = kind
        self.env['BENCH_REDIS_DB'] = str(REDIS_DB)
        self.env['BENCH_SQLITE_FILE'] = os.path.join(self.tmpdir, 'bench.db')
        self.env['PYTHONPATH'] = str(APPS)
        os.environ.update(
            {k: self.env[k] for k in ('BENCH_STORAGE', 'BENCH_REDIS_DB', 'BENCH_SQLITE_FILE')}
        )
        if kind == 'redis':
            client = redis_client()
            client.flushdb()
            client.script_flush()  # every measurement starts on an empty script cache

    def app(self):
        """Import the task module (after the environment is set)."""
        if str(APPS) not in sys.path:
            sys.path.insert(0, str(APPS))
        import bench_app

        return bench_app

    def cleanup(self) -> None:
        if self.kind == 'redis':
            try:
                redis_client().flushdb()
            except Exception:  # noqa: BLE001 - best effort cleanup
                pass
        shutil.rmtree(self.tmpdir, ignore_errors=True)


def consumer_script() -> str:
    """The consumer console script installed next to this interpreter."""
    bindir = Path(sys.executable).parent
    for name in ('huey_consumer.py', 'huey_consumer'):
        candidate = bindir / name
        if candidate.exists():
            return str(candidate)
    raise SystemExit(f'no huey_consumer.py / huey_consumer script in {bindir}')


_GEVENT_BOOT = (
    'from gevent import monkey; monkey.patch_all()\n'
    'import runpy, sys\n'
    'sys.argv = sys.argv[1:]\n'
    "runpy.run_path(sys.argv[0], run_name='__main__')\n"
)


def _wants_greenlets(args: list[str]) -> bool:
    for index, arg in enumerate(args):
        if (
            arg in ('-k', '--worker-type')
            and index + 1 < len(args)
            and args[index + 1] == 'greenlet'
        ):
            return True
        if arg in ('-kgreenlet', '--worker-type=greenlet'):
            return True
    return False


class Consumer(WorkerProcess):
    """A real consumer subprocess: ``python huey_consumer.py bench_app.huey ARGS``."""

    def __init__(self, storage: Storage, args: list[str]):
        self.args = args
        command = [sys.executable, consumer_script(), 'bench_app.huey', *args]
        if _wants_greenlets(args):
            # The reference consumer only warns when gevent's monkey-patch is
            # missing, so greenlet workers would run tasks one at a time.
            # Patch first, then run the unchanged console script.
            command[1:1] = ['-c', _GEVENT_BOOT]
        super().__init__(
            command,
            cwd=str(APPS),
            env=storage.env,
            log_path=os.path.join(storage.tmpdir, 'consumer.log'),
        )
        self.cpu_at_first: float | None = None  # see _wait_all_results
        self.cpu_at_end: float | None = None


def _get_or_none(result, timeout: float):
    try:
        return result.get(blocking=True, timeout=timeout)
    except Exception as exc:  # noqa: BLE001 - huey raises its own timeout class
        if type(exc).__name__ in ('ResultTimeout', 'TimeoutError'):
            return None
        raise


def _data_keys(huey) -> int:
    """The data keys stored before a drain (see ``_wait_all_results``)."""
    return huey.result_count() if hasattr(huey, 'result_count') else 0


def _pause(count: int, expected: int, first_at: float, interval: float) -> float:
    """Seconds to the next poll of a drain: ``interval`` near its end, up to
    half a second while far from it (a third of the time left at the rate
    so far). Why: our ``result_count()`` on Redis SCANs every data key (tens
    of milliseconds at 60,000 results, where huey's is one HLEN), and a
    driver polling it back to back takes a core and the server from the
    consumer it measures."""
    elapsed = time.time() - first_at
    if count <= 0 or elapsed <= 0:
        return interval
    left = (expected - count) * elapsed / count
    return min(0.5, max(interval, left / 3))


def _wait_result(result, consumer: Consumer, timeout: float):
    deadline = time.time() + timeout
    while True:
        value = _get_or_none(result, 0.5)
        if value is not None:
            return value
        consumer.check()
        if time.time() > deadline:
            raise RuntimeError(f'no result after {timeout}s; consumer log:\n{consumer.log_tail()}')


def _wait_all_results(
    huey,
    handles: list,
    consumer: Consumer,
    timeout: float,
    interval: float = 0.01,
    baseline: int = 0,
    watch_last: bool = False,
):
    """Wait until every handle's result is stored; return (finish time, method).

    Uses ``huey.result_count()`` when the implementation has it, otherwise
    walks the handles in order. With ``result_count()`` the consumer's CPU
    seconds are noted when the first result appears (polled every
    millisecond until then) as ``consumer.cpu_at_first``, and at the end as
    ``consumer.cpu_at_end``; polls are spaced by ``_pause``. ``baseline`` is
    the count before the consumer started: data keys that are not results
    of ``handles`` (the monitor's, with ``BENCH_MONITOR``), which would
    otherwise read as a first result before the consumer ran anything.
    ``watch_last`` (the last handle's task returns a value): until its
    result is stored, only it is read, every ``interval``; ours counts
    results by listing their keys (half a second at 250,000 on SQLite), and
    a driver counting them all the time takes a core from the consumer. The
    finish is then when the count that found them all was asked for (the
    last result is stored last, or within a few tasks of it).
    """
    expected = len(handles)
    deadline = time.time() + timeout
    if hasattr(huey, 'result_count'):
        polls = 0
        first_at = None  # when the first result was seen
        last_done = not watch_last
        while True:
            if last_done or consumer.cpu_at_first is None:
                asked = time.time()  # a count of many keys takes a while
                count = huey.result_count() - baseline
                if count > 0 and consumer.cpu_at_first is None:
                    consumer.cpu_at_first = tree_cpu_seconds(consumer.proc.pid)
                if count >= expected:
                    consumer.cpu_at_end = tree_cpu_seconds(consumer.proc.pid)
                    return (asked if watch_last else time.time()), 'result_count'
            else:
                last_done = handles[-1].get(preserve=True) is not None
                if last_done:
                    continue
            polls += 1
            if polls % 50 == 0:
                consumer.check()
            if time.time() > deadline:
                raise RuntimeError(
                    f'{huey.result_count()}/{expected} results after {timeout}s; '
                    f'consumer log:\n{consumer.log_tail()}'
                )
            if consumer.cpu_at_first is None:
                time.sleep(0.001)
                continue
            if first_at is None:
                first_at = time.time()
            if last_done:
                time.sleep(_pause(count, expected, first_at, interval))
            else:
                time.sleep(interval)
    index = 0
    while index < expected:
        if handles[index].get() is not None:  # consumes the result; counted here
            index += 1
            continue
        consumer.check()
        if time.time() > deadline:
            raise RuntimeError(
                f'{index}/{expected} results after {timeout}s; consumer log:\n{consumer.log_tail()}'
            )
        time.sleep(interval)
    return time.time(), 'walk'


def _idle_consumer(storage: Storage, app, args: list[str], idle: float = 0.5) -> Consumer:
    """Start a consumer, wait until it has run one task, then let it go idle."""
    consumer = Consumer(storage, args)
    try:
        _wait_result(app.stamp(), consumer, timeout=60)
    except BaseException:
        consumer.stop()
        raise
    time.sleep(idle)
    return consumer


# -- scenarios -------------------------------------------------------------


def scenario_enqueue(params: dict) -> dict:
    """Time ``count`` calls of a no-op task (producer side only)."""
    storage = Storage(params['storage'])
    try:
        app = storage.app()
        for _ in range(100):
            app.noop()
        count = int(params['count'])
        noop = app.noop
        reads = _server_reads(storage)
        started = time.perf_counter()
        for _ in range(count):
            noop()
        elapsed = time.perf_counter() - started
        trips = _per_task(reads, _server_reads(storage), count)
        # Resident memory of this producer after the calls (handles dropped).
        return {
            'seconds': elapsed,
            'rate': count / elapsed,
            'producer_rss': rss_mib(os.getpid()),
            **trips,
        }
    finally:
        storage.cleanup()


def scenario_aenqueue(params: dict) -> dict:
    """Ours only (the asyncio table): ``count`` sequential ``await
    task.aio()`` of an ``async def`` no-op, then ``await`` of ``count``
    stored results, from one event loop."""
    import asyncio

    storage = Storage(params['storage'])
    try:
        app = storage.app()
        count = int(params['count'])

        async def anoop():
            return 1

        task = app.huey.task(name='bench_app.anoop')(anoop)

        async def measure() -> tuple[float, float]:
            for _ in range(100):  # warm-up: connections, scripts
                await task.aio()
            started = time.perf_counter()
            results = [await task.aio() for _ in range(count)]
            enqueue = time.perf_counter() - started
            app.huey.flush()
            for result in results:  # the values, stored as a worker would
                app.huey.put_result(result.id, 1)
            started = time.perf_counter()
            for result in results:
                await result
            return enqueue, time.perf_counter() - started

        enqueue, read = asyncio.run(measure())
        return {'rate': count / enqueue, 'read_rate': count / read}
    finally:
        storage.cleanup()


def scenario_drain(params: dict) -> dict:
    """Pre-queue tasks, start a consumer, time until every result is stored.

    A ``stamp`` task is queued first; the queue is FIFO, so its start time
    marks the moment the consumer began working, and start-up (imports,
    connections) is reported separately from the drain.
    """
    storage = Storage(params['storage'])
    try:
        app = storage.app()
        count = int(params['count'])
        nap = float(params.get('nap', 0.0))
        gate = app.stamp()
        handles = [gate]
        fill_started = time.perf_counter()
        if nap:
            handles.extend(app.nap(nap) for _ in range(count))
        elif params.get('batched'):
            handles.extend(_fill_batched(app, count))
        else:
            handles.extend(app.noop() for _ in range(count))
        fill_seconds = time.perf_counter() - fill_started
        app.settle()
        baseline = _data_keys(app.huey)
        consumer = Consumer(storage, params['consumer_args'])
        reads = _server_reads(storage)
        with consumer:
            finished, method = _wait_all_results(
                app.huey,
                handles,
                consumer,
                timeout=float(params.get('timeout', 300)),
                baseline=baseline,
                watch_last=bool(params.get('watch_last')),
            )
            trips = _per_task(reads, _server_reads(storage), count)
            first_start = _wait_result(gate, consumer, timeout=10)
        drain = finished - first_start
        figures = {
            'count': count,
            'drain': drain,
            'rate': count / drain,
            'startup': first_start - consumer.started,
            'fill_seconds': fill_seconds,
            'method': method,
            **trips,
        }
        if consumer.cpu_at_first is not None and consumer.cpu_at_end is not None:
            # consumer CPU per task from the first result on (start-up left out)
            figures['cpu_per_task'] = (consumer.cpu_at_end - consumer.cpu_at_first) / count
        if nap:
            workers = int(params['workers'])
            figures['ideal'] = count * nap / workers
        return figures
    finally:
        storage.cleanup()


def _fill_batched(app, count: int, batch: int = 1000) -> list:
    """Queue ``count`` no-ops ``batch`` at a time with ``Huey.enqueue_many``
    (ours only: the costs table); a drain's tasks queue several times faster
    than one by one, which leaves more of a run's time to the drains."""
    handles = []
    for first in range(0, count, batch):
        tasks = [app.noop.s() for _ in range(min(batch, count - first))]
        handles.extend(app.huey.enqueue_many(tasks))
    return handles


def scenario_toggle(params: dict) -> dict:
    """Drain pre-queued no-ops while the consumer turns a feature off and on
    (``BENCH_TOGGLE``, see ``bench_app``) about every ``period`` seconds; return
    the rate of each window with the feature on and off, and each adjacent
    pair's ratio (on / off).

    Why windows of one drain rather than separate runs: this machine's speed
    drifts by tens of percent within seconds, and neighbouring windows share
    it. The first ``settle`` seconds of a window (the switch's own wake) are
    left out, and so are the first two windows (the consumer warming up)
    and the last, unfinished one. The consumer samples its own progress
    (no-ops run) and CPU time every 10 ms, next to its switches.
    """
    storage = Storage(params['storage'])
    try:
        app = storage.app()
        count = int(params['count'])
        notes = os.path.join(storage.tmpdir, 'toggles')
        storage.env.update(
            BENCH_TOGGLE=params['feature'],
            BENCH_TOGGLE_PERIOD=str(params['period']),
            BENCH_TOGGLE_FILE=notes,
        )
        handles = _fill_batched(app, count)
        app.settle()
        baseline = _data_keys(app.huey)
        consumer = Consumer(storage, params['consumer_args'])
        with consumer:
            _wait_all_results(
                app.huey, handles, consumer, timeout=300, baseline=baseline, watch_last=True
            )
        switches, samples = [], []  # (time, on), (time, tasks run, consumer CPU s)
        with open(notes) as handle:
            for kind, *fields in map(str.split, handle):
                if kind == 'switch':
                    switches.append((float(fields[0]), fields[1] == '1'))
                elif float(fields[1]) < count:  # the drain's, not the idle end's
                    samples.append(tuple(map(float, fields)))
        windows = _windows(samples, switches, float(params['settle']))[2:]
        ratios = []
        for first, second in zip(windows, windows[1:]):
            on, off = (first, second) if first['on'] else (second, first)
            ratios.append(on['rate'] / off['rate'])
        return {'count': count, 'windows': windows, 'ratios': ratios}
    finally:
        storage.cleanup()


def _windows(samples: list, switches: list, settle: float) -> list[dict]:
    """Rate and consumer CPU per task in each whole window between switches,
    from ``samples`` of (time, results, CPU seconds), interpolated."""

    def at(moment: float) -> tuple[float, float]:
        for (t0, n0, c0), (t1, n1, c1) in zip(samples, samples[1:]):
            if t0 <= moment <= t1:
                share = (moment - t0) / (t1 - t0) if t1 > t0 else 0.0
                return n0 + share * (n1 - n0), c0 + share * (c1 - c0)
        raise ValueError(moment)

    first, last = samples[0][0], samples[-1][0]
    windows = []
    for (start, on), (end, _) in zip(switches, switches[1:]):
        start += settle
        if start >= end or start < first or end > last:
            continue
        (n0, c0), (n1, c1) = at(start), at(end)
        done = n1 - n0
        if done > 0:
            windows.append({'on': on, 'rate': done / (end - start), 'cpu': (c1 - c0) / done})
    return windows


def scenario_latency(params: dict) -> dict:
    """Enqueue tasks one by one at a fixed rate to an idle consumer."""
    storage = Storage(params['storage'])
    try:
        app = storage.app()
        count = int(params['count'])
        rate = float(params['rate'])
        with _idle_consumer(storage, app, params['consumer_args']) as consumer:
            # Resident memory of the idle consumer (whole process tree).
            consumer_rss = tree_rss_mib(consumer.proc.pid)
            sent = []
            stamp = app.stamp
            origin = time.time()
            for index in range(count):
                delay = origin + index / rate - time.time()
                if delay > 0:
                    time.sleep(delay)
                before = time.time()
                sent.append((before, stamp()))
            latencies = [
                _wait_result(handle, consumer, timeout=60) - before for before, handle in sent
            ]
        return {
            'p50': percentile(latencies, 0.50),
            'p99': percentile(latencies, 0.99),
            'max': max(latencies),
            'send_rate': count / (sent[-1][0] - origin) if count > 1 else 0.0,
            'consumer_rss': consumer_rss,
        }
    finally:
        storage.cleanup()


def scenario_schedule(params: dict) -> dict:
    """Schedule tasks 1-3 s ahead; measure how late they start."""
    storage = Storage(params['storage'])
    try:
        app = storage.app()
        count = int(params['count'])
        rng = random.Random(20261122)
        with _idle_consumer(storage, app, params['consumer_args']) as consumer:
            sent = []
            for _ in range(count):
                delay = rng.uniform(1.0, 3.0)
                before = time.time()
                sent.append((before + delay, app.stamp.schedule(delay=delay)))
            lateness = [_wait_result(handle, consumer, timeout=60) - due for due, handle in sent]
        return {
            'p50': percentile(lateness, 0.50),
            'p99': percentile(lateness, 0.99),
            'min': min(lateness),
        }
    finally:
        storage.cleanup()


def scenario_msgsize(params: dict) -> dict:
    """Size in bytes of one queued no-op message, as stored in Redis."""
    storage = Storage('redis')
    try:
        app = storage.app()
        app.noop()
        client = redis_client()
        sizes = []
        for key in client.scan_iter():
            if client.type(key) == b'list':
                sizes.extend(len(item) for item in client.lrange(key, 0, -1))
        return {'bytes': max(sizes) if sizes else 0}
    finally:
        storage.cleanup()


def scenario_floor(params: dict) -> dict:
    """Raw redis-py LPUSH/BRPOP and raw sqlite3 insert/delete of ``size``-byte payloads."""
    count = int(params['count'])
    payload = os.urandom(int(params['size']))
    figures = {}
    client = redis_client()
    client.flushdb()
    try:
        started = time.perf_counter()
        for _ in range(count):
            client.lpush('bench.floor', payload)
        push = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(count):
            client.brpop('bench.floor', timeout=1)
        pop = time.perf_counter() - started
        # The same LPUSH on one checked-out connection, past redis-py's
        # per-command machinery (retry, events, metrics): the wire's limit.
        connection = client.connection_pool.get_connection()
        try:
            started = time.perf_counter()
            for _ in range(count):
                connection.send_command('LPUSH', 'bench.floor', payload)
                connection.read_response()
            raw_push = time.perf_counter() - started
        finally:
            client.connection_pool.release(connection)
        figures.update(
            redis_push=count / push,
            redis_pop=count / pop,
            redis_pair=count / (push + pop),
            redis_conn_push=count / raw_push,
        )
    finally:
        client.flushdb()
    tmpdir = tempfile.mkdtemp(prefix='huey-bench-floor-')
    try:
        conn = sqlite3.connect(os.path.join(tmpdir, 'floor.db'), isolation_level=None)
        conn.execute('PRAGMA journal_mode=wal')
        conn.execute('PRAGMA synchronous=NORMAL')
        conn.execute(
            'CREATE TABLE queue (id INTEGER PRIMARY KEY AUTOINCREMENT, data BLOB NOT NULL)'
        )
        started = time.perf_counter()
        for _ in range(count):
            conn.execute('INSERT INTO queue (data) VALUES (?)', (payload,))
        insert = time.perf_counter() - started
        started = time.perf_counter()
        for _ in range(count):
            conn.execute('BEGIN IMMEDIATE')
            row = conn.execute('SELECT id, data FROM queue ORDER BY id LIMIT 1').fetchone()
            conn.execute('DELETE FROM queue WHERE id = ?', (row[0],))
            conn.execute('COMMIT')
        delete = time.perf_counter() - started
        conn.close()
        figures.update(
            sqlite_insert=count / insert,
            sqlite_delete=count / delete,
            sqlite_pair=count / (insert + delete),
        )
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)
    return figures


def scenario_version(params: dict) -> dict:
    """Which huey this interpreter imports (for the report header)."""
    import huey

    return {'version': getattr(huey, '__version__', 'unknown'), 'python': sys.version.split()[0]}


SCENARIOS = {
    'enqueue': scenario_enqueue,
    'aenqueue': scenario_aenqueue,
    'drain': scenario_drain,
    'toggle': scenario_toggle,
    'latency': scenario_latency,
    'schedule': scenario_schedule,
    'msgsize': scenario_msgsize,
    'floor': scenario_floor,
    'version': scenario_version,
}


def main(argv: list[str] | None = None) -> int:
    return run_scenario(SCENARIOS, argv)


if __name__ == '__main__':
    sys.exit(main())
