"""The peer workload on Celery, Redis broker, no result backend (its default)."""

from __future__ import annotations

import importlib.metadata

from celery import Celery
from workload import console_script, mark_done, mark_start, redis_url

__all__ = [
    'app',
    'close',
    'concurrency',
    'connect',
    'enqueue_noop',
    'enqueue_stamp',
    'version',
    'worker_command',
]

app = Celery('bench_peers', broker=redis_url())


@app.task
def noop():
    mark_done()


@app.task
def stamp(index):
    mark_start(index)


enqueue_noop = noop.delay
enqueue_stamp = stamp.delay


async def connect() -> None:
    """Nothing to open: the producer connects on its first call."""


async def close() -> None:
    """Nothing to close."""


def version() -> str:
    return importlib.metadata.version('celery')


def concurrency(workers: int) -> str:
    return f'threads: --pool threads -c {workers}'


def worker_command(workers: int) -> list[str]:
    celery = console_script('celery')
    return [celery, '-A', 'celery_app', 'worker', '--pool', 'threads', '-c', str(workers)]
