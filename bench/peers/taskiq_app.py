"""The peer workload on taskiq with taskiq-redis's ``RedisStreamBroker``
(the broker its docs lead with; acknowledged), no result backend (taskiq's
default). The tasks are plain functions, which taskiq runs on its thread
pool, so ``--max-threadpool-threads`` is the number of concurrent workers."""

from __future__ import annotations

import importlib.metadata

from taskiq_redis import RedisStreamBroker
from workload import console_script, mark_done, mark_start, redis_url

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

broker = RedisStreamBroker(url=redis_url())


@broker.task
def noop():
    mark_done()


@broker.task
def stamp(index: int):
    mark_start(index)


enqueue_noop = noop.kiq
enqueue_stamp = stamp.kiq


async def connect() -> None:
    """Start the client side (declares the consumer group before any message)."""
    await broker.startup()


async def close() -> None:
    await broker.shutdown()


def version() -> str:
    return (
        importlib.metadata.version('taskiq')
        + ' + taskiq-redis '
        + (importlib.metadata.version('taskiq-redis'))
    )


def concurrency(workers: int) -> str:
    return f'threads: -w 1 --max-threadpool-threads {workers}'


def worker_command(workers: int) -> list[str]:
    script = console_script('taskiq')
    return [
        script,
        'worker',
        'taskiq_app:broker',
        '--workers',
        '1',
        '--max-threadpool-threads',
        str(workers),
    ]
