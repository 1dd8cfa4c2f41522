"""The consumer's closed sets of names, each written once.

Imports nothing but ``enum``: the script reads the worker types before
gevent monkey-patches the standard library.
"""

from __future__ import annotations

from enum import Enum

__all__ = [
    'GRACEFUL_SIGNALS',
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
#: signals that may be chosen for a graceful shutdown (the other one interrupts)
GRACEFUL_SIGNALS = ('INT', 'TERM')
