"""The peer workload on huey: ours or the reference 3.5.4, whichever
``huey`` the interpreter running it imports (the same file for both)."""

from __future__ import annotations

import sys

from huey import RedisHuey
from workload import console_script, mark_done, mark_start, settings

__all__ = [
    'close',
    'concurrency',
    'connect',
    'enqueue_noop',
    'enqueue_stamp',
    'huey',
    'version',
    'worker_command',
]

_host, _port, _db = settings()
huey = RedisHuey('bench-peers', host=_host, port=_port, db=_db)


@huey.task()
def noop():
    mark_done()


@huey.task()
def stamp(index):
    mark_start(index)


enqueue_noop = noop
enqueue_stamp = stamp


async def connect() -> None:
    """Nothing to open: the producer connects on its first call."""


async def close() -> None:
    """Nothing to close."""


def version() -> str:
    import huey as package

    return getattr(package, '__version__', 'unknown')


def concurrency(workers: int) -> str:
    return f'threads: -k thread -w {workers}'


def worker_command(workers: int) -> list[str]:
    script = console_script('huey_consumer.py', 'huey_consumer')
    return [sys.executable, script, 'huey_app.huey', '-k', 'thread', '-w', str(workers)]
