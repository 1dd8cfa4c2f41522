"""The asyncio table's workload on our huey: the I/O-bound task as an
``async def`` (huey 3.5.4 refuses those, so this module is ours only).

The worker type comes from ``kind`` (``-k asyncio`` or ``-k greenlet``);
the producer enqueues with ``await nap.aio()``.
"""

from __future__ import annotations

import sys

import workload
from huey import RedisHuey
from workload import console_script, settings

__all__ = [
    'close',
    'concurrency',
    'connect',
    'enqueue_nap',
    'huey',
    'version',
    'worker_command',
]

_host, _port, _db = settings()
huey = RedisHuey('bench-aio', host=_host, port=_port, db=_db)


@huey.task()
async def nap():
    await workload.nap()


enqueue_nap = nap.aio


async def connect() -> None:
    """Nothing to open: the producer connects on its first call."""


async def close() -> None:
    """Nothing to close."""


def version() -> str:
    import huey as package

    return package.__version__


def concurrency(workers: int, kind: str = 'asyncio') -> str:
    return f'{kind}: -k {kind} -w {workers}'


def worker_command(workers: int, kind: str = 'asyncio') -> list[str]:
    script = console_script('huey_consumer.py', 'huey_consumer')
    return [sys.executable, script, 'huey_aio_app.huey', '-k', kind, '-w', str(workers)]
