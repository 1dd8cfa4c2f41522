"""The peer workload on Dramatiq, Redis broker, default middleware."""

from __future__ import annotations

import importlib.metadata

import dramatiq
from dramatiq.brokers.redis import RedisBroker
from workload import console_script, mark_done, mark_start, settings

__all__ = [
    'broker',
    'close',
    'concurrency',
    'connect',
    'enqueue_noop',
    'enqueue_stamp',
    'version',
    'worker_command',
]

_host, _port, _db = settings()
broker = RedisBroker(host=_host, port=_port, db=_db)
dramatiq.set_broker(broker)


@dramatiq.actor
def noop():
    mark_done()


@dramatiq.actor
def stamp(index):
    mark_start(index)


enqueue_noop = noop.send
enqueue_stamp = stamp.send


async def connect() -> None:
    """Nothing to open: the producer connects on its first call."""


async def close() -> None:
    """Nothing to close."""


def version() -> str:
    return importlib.metadata.version('dramatiq')


def concurrency(workers: int) -> str:
    return f'threads: -p 1 -t {workers}'


def worker_command(workers: int) -> list[str]:
    script = console_script('dramatiq')
    return [script, 'dramatiq_app', '--processes', '1', '--threads', str(workers)]
