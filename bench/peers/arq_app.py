"""The peer workload on arq: asyncio only, so its concurrency is
``max_jobs`` coroutines in one process; every other setting its default."""

from __future__ import annotations

import importlib.metadata
import os

import workload
from arq import create_pool
from arq.connections import RedisSettings
from workload import console_script, mark_done, mark_start, settings

__all__ = [
    'WorkerSettings',
    'close',
    'concurrency',
    'connect',
    'enqueue_nap',
    'enqueue_noop',
    'enqueue_stamp',
    'version',
    'worker_command',
]

_host, _port, _db = settings()
_redis_settings = RedisSettings(host=_host, port=_port, database=_db)
_pool = None


async def noop(ctx):
    mark_done()


async def stamp(ctx, index):
    mark_start(index)


async def nap(ctx):
    await workload.nap()


class WorkerSettings:
    """Read by ``arq arq_app.WorkerSettings``."""

    functions = [noop, stamp, nap]
    redis_settings = _redis_settings
    max_jobs = int(os.environ.get('BENCH_WORKERS', '4'))


async def connect() -> None:
    global _pool
    _pool = await create_pool(_redis_settings)


async def close() -> None:
    await _pool.aclose()


async def enqueue_noop():
    return await _pool.enqueue_job('noop')


async def enqueue_stamp(index):
    return await _pool.enqueue_job('stamp', index)


async def enqueue_nap():
    return await _pool.enqueue_job('nap')


def version() -> str:
    return importlib.metadata.version('arq')


def concurrency(workers: int) -> str:
    return f'asyncio: max_jobs={workers}, 1 process'


def worker_command(workers: int) -> list[str]:
    # ``max_jobs`` has no command-line flag: the driver passes the count to
    # the worker as BENCH_WORKERS, read by WorkerSettings above.
    return [console_script('arq'), 'arq_app.WorkerSettings']
