"""One measurement of the peers table, in the interpreter of the side under test.

``bench/run.py --peers`` starts this script once per measurement with the
venv of one side (ours, huey 3.5.4, Celery, Dramatiq, RQ, taskiq, arq) and
the name of that side's app module in ``bench/peers/``. Every app module
offers the same few functions (``connect``, ``close``, ``enqueue_noop``,
``enqueue_stamp``, ``worker_command``, ``concurrency``, ``version``), so one
code path here measures every side, and completions and start times are
read the same way for all of them (see ``bench/peers/workload.py``).

Usage::

    python bench/peer_driver.py SCENARIO '{"app": "celery_app", ...}'
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from harness import WorkerProcess, percentile, redis_client, run_scenario, tree_rss_mib

__all__ = ['main']

PEERS = Path(__file__).resolve().parent / 'peers'
POLL = 0.005  # seconds between the producer's reads of the progress keys


class Bench:
    """A flushed bench db, the side's app module and its worker's settings."""

    def __init__(self, params: dict):
        self.params = params
        self.client = redis_client()
        self.client.flushdb()
        self.client.script_flush()  # as a new or restarted server would be
        if str(PEERS) not in sys.path:
            sys.path.insert(0, str(PEERS))
        self.app = importlib.import_module(params['app'])
        import workload

        self.done_key = workload.DONE_KEY
        self.starts_key = workload.STARTS_KEY
        self.tmpdir = tempfile.mkdtemp(prefix='huey-bench-peer-')
        self.workers = int(params.get('workers', 4))

    def worker(self) -> WorkerProcess:
        """Start the side's own worker command with ``workers`` concurrent workers."""
        env = dict(os.environ)
        env['PYTHONPATH'] = str(PEERS)
        env['BENCH_WORKERS'] = str(self.workers)
        kind = self.params.get('kind')  # the asyncio table's worker type
        return WorkerProcess(
            self.app.worker_command(self.workers, *([kind] if kind else [])),
            cwd=str(PEERS),
            env=env,
            log_path=os.path.join(self.tmpdir, 'worker.log'),
            deadline=float(self.params.get('stop_deadline', 10)),
        )

    async def send(self, function, *args) -> None:
        # Only a coroutine is the call itself: ours returns a Result that is
        # awaitable too (it waits for the task's value), never to be awaited here.
        result = function(*args)
        if inspect.iscoroutine(result):
            await result

    def done(self) -> int:
        return int(self.client.get(self.done_key) or 0)

    def cleanup(self) -> None:
        try:
            self.client.flushdb()
        except Exception:  # noqa: BLE001 - best effort cleanup
            pass
        shutil.rmtree(self.tmpdir, ignore_errors=True)


def _is_async(function) -> bool:
    return inspect.iscoroutinefunction(function)


async def _enqueue(bench: Bench, count: int) -> float:
    """``count`` calls of the task (``params['task']``, default the no-op) in
    a tight loop; return the seconds taken."""
    send = getattr(bench.app, f'enqueue_{bench.params.get("task", "noop")}')
    if _is_async(send):
        started = time.perf_counter()
        for _ in range(count):
            await send()
    else:
        started = time.perf_counter()
        for _ in range(count):
            send()
    return time.perf_counter() - started


def _server_reads(bench: Bench) -> int:
    return int(bench.client.info('stats')['total_reads_processed'])


async def _enqueue_scenario(params: dict) -> dict:
    bench = Bench(params)
    try:
        await bench.app.connect()
        try:
            await _enqueue(bench, 100)  # warm-up: connections, imports, scripts
            count = int(params['count'])
            reads = _server_reads(bench)
            seconds = await _enqueue(bench, count)
            trips = (_server_reads(bench) - reads - 1) / count
        finally:
            await bench.app.close()
        return {'seconds': seconds, 'rate': count / seconds, 'trips': trips}
    finally:
        bench.cleanup()


async def _drain_scenario(params: dict) -> dict:
    """Pre-queue ``count`` no-ops (or ``task``), start the worker, poll the
    done counter.

    The drain runs from the first poll that sees any task done to the first
    that sees all of them: both ends are read the same way, so the rate
    counts the tasks finished in between. For ``task='nap'`` the first task
    done started ``NAP`` seconds earlier, so ``drain_total`` adds that.
    """
    bench = Bench(params)
    try:
        count = int(params['count'])
        await bench.app.connect()
        try:
            fill_seconds = await _enqueue(bench, count)
        finally:
            await bench.app.close()
        deadline = time.time() + float(params.get('timeout', 300))
        with bench.worker() as worker:
            first_time, first_done = None, 0
            polls = 0
            while True:
                now, done = time.time(), bench.done()
                if done and first_time is None:
                    first_time, first_done = now, done
                if done >= count:
                    break
                polls += 1
                if polls % 100 == 0:
                    worker.check()
                if now > deadline:
                    raise RuntimeError(
                        f'{done}/{count} tasks done after {params.get("timeout", 300)}s; '
                        f'worker log:\n{worker.log_tail()}'
                    )
                await asyncio.sleep(POLL)
        drained, seconds = done - first_done, now - first_time
        if seconds <= 0:
            raise RuntimeError(f'all {count} tasks done within one poll: use a larger count')
        import workload

        napped = workload.NAP if params.get('task') == 'nap' else 0.0
        return {
            'count': count,
            'done': done,
            'drain': seconds,
            'drain_total': seconds + napped,
            'enqueue_rate': count / fill_seconds,
            'rate': drained / seconds,
            'startup': first_time - worker.started,
            'fill_seconds': fill_seconds,
            'stopped': worker.stopped,
        }
    finally:
        bench.cleanup()


async def _wait_starts(bench: Bench, worker: WorkerProcess, count: int, timeout: float) -> None:
    deadline = time.time() + timeout
    while bench.client.llen(bench.starts_key) < count:
        worker.check()
        if time.time() > deadline:
            raise RuntimeError(
                f'{bench.client.llen(bench.starts_key)}/{count} tasks started after {timeout}s; '
                f'worker log:\n{worker.log_tail()}'
            )
        await asyncio.sleep(POLL)


async def _latency_scenario(params: dict) -> dict:
    """Idle worker (one warm-up task, then ``idle`` s), tasks sent at ``rate``/s.

    Also takes the idle worker's resident memory (whole process tree) just
    before the first timed task.
    """
    bench = Bench(params)
    try:
        count = int(params['count'])
        rate = float(params['rate'])
        await bench.app.connect()
        try:
            with bench.worker() as worker:
                await bench.send(bench.app.enqueue_stamp, -1)
                await _wait_starts(bench, worker, 1, timeout=120)
                startup = time.time() - worker.started
                await asyncio.sleep(float(params.get('idle', 0.5)))
                bench.client.delete(bench.starts_key)
                worker_rss = tree_rss_mib(worker.proc.pid)
                send = bench.app.enqueue_stamp
                is_async = _is_async(send)
                sent = []
                origin = time.time()
                for index in range(count):
                    delay = origin + index / rate - time.time()
                    if delay > 0:
                        await asyncio.sleep(delay)
                    sent.append(time.time())
                    if is_async:
                        await send(index)
                    else:
                        send(index)
                await _wait_starts(bench, worker, count, timeout=60)
        finally:
            await bench.app.close()
        starts = {}
        for entry in bench.client.lrange(bench.starts_key, 0, -1):
            index, started = entry.split()
            starts.setdefault(int(index), float(started))  # first start if redelivered
        latencies = [starts[index] - before for index, before in enumerate(sent)]
        return {
            'p50': percentile(latencies, 0.50),
            'p99': percentile(latencies, 0.99),
            'max': max(latencies),
            'send_rate': count / (sent[-1] - origin) if count > 1 else 0.0,
            'worker_rss': worker_rss,
            'startup': startup,
            'stopped': worker.stopped,
        }
    finally:
        bench.cleanup()


def scenario_version(params: dict) -> dict:
    """Which framework version this interpreter runs, and its concurrency model."""
    bench = Bench(params)
    try:
        kind = params.get('kind')
        return {
            'version': bench.app.version(),
            'python': sys.version.split()[0],
            'concurrency': bench.app.concurrency(bench.workers, *([kind] if kind else [])),
        }
    finally:
        bench.cleanup()


SCENARIOS = {
    'enqueue': lambda params: asyncio.run(_enqueue_scenario(params)),
    'drain': lambda params: asyncio.run(_drain_scenario(params)),
    'latency': lambda params: asyncio.run(_latency_scenario(params)),
    'version': scenario_version,
}


def main(argv: list[str] | None = None) -> int:
    return run_scenario(SCENARIOS, argv)


if __name__ == '__main__':
    sys.exit(main())
