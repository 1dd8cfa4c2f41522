"""The consumer's closed sets of names, each written once.

Imports nothing but ``enum``: the script reads the worker types before
gevent monkey-patches the standard library.
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    'GRACEFUL_SIGNALS',
    'MAX_WORKERS',
    'SCHEDULER_INTERVALS',
    'WORKER_ALIASES',
    'WORKER_ASYNCIO',
    'WORKER_GREENLET',
    'WORKER_PROCESS',
    'WORKER_THREAD',
    'WORKER_TYPES',
    'WorkerType',
]


class WorkerType(str, Enum):
    """Where workers run; each member equals its string (``'thread'``...)."""

    THREAD = 'thread'
    PROCESS = 'process'
    GREENLET = 'greenlet'
    ASYNCIO = 'asyncio'

    def __str__(self) -> str:
        return self.value


#: huey's names for the worker types (``huey.constants``)
WORKER_THREAD = WorkerType.THREAD
WORKER_PROCESS = WorkerType.PROCESS
WORKER_GREENLET = WorkerType.GREENLET
WORKER_ASYNCIO = WorkerType.ASYNCIO
WORKER_TYPES = tuple(WorkerType)
#: other spellings accepted for a worker type
WORKER_ALIASES = {'gevent': WorkerType.GREENLET}
#: scheduler intervals that divide a minute, so a tick falls on every minute
SCHEDULER_INTERVALS = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)
#: The most workers of each type one consumer may run. Past these a consumer
#: gains nothing and takes minutes to start: each thread holds a stack and a
#: storage connection and they all share one GIL (servers refuse connections
#: long before: PostgreSQL allows 100 by default); asyncio workers are threads
#: feeding one loop; each process is a full Python interpreter of tens of MB
#: competing for a few cores; greenlets are cheap, but each waiting one still
#: holds a storage connection (Redis allows 10000 clients by default). Run more
#: consumers (or machines) instead.
MAX_WORKERS = {
    WorkerType.THREAD: 1024,
    WorkerType.ASYNCIO: 1024,
    WorkerType.PROCESS: 256,
    WorkerType.GREENLET: 10000,
}
#: signals that may be chosen for a graceful shutdown (the other one interrupts)
GRACEFUL_SIGNALS = ('INT', 'TERM')
