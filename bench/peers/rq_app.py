"""The peer workload on RQ: default queue, default worker class (it forks a
work horse per job), ``rq worker-pool`` for several workers."""

from __future__ import annotations

import functools
import importlib.metadata

from redis import Redis
from rq import Queue
from workload import console_script, mark_done, mark_start, redis_url, settings

__all__ = [
    'close',
    'concurrency',
    'connect',
    'enqueue_noop',
    'enqueue_stamp',
    'noop',
    'queue',
    'stamp',
    'version',
    'worker_command',
]

_host, _port, _db = settings()
queue = Queue(connection=Redis(host=_host, port=_port, db=_db))


def noop():
    mark_done()


def stamp(index):
    mark_start(index)


enqueue_noop = functools.partial(queue.enqueue, noop)
enqueue_stamp = functools.partial(queue.enqueue, stamp)


async def connect() -> None:
    """Nothing to open: the producer connects on its first call."""


async def close() -> None:
    """Nothing to close."""


def version() -> str:
    return importlib.metadata.version('rq')


def concurrency(workers: int) -> str:
    return f'processes: worker-pool -n {workers}, fork per job'


def worker_command(workers: int) -> list[str]:
    script = console_script('rq')
    return [script, 'worker-pool', '--url', redis_url(), '--num-workers', str(workers)]
