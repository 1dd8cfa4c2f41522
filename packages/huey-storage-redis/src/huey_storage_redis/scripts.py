"""The storage's Lua scripts (the ``*.lua`` files beside this module).

Scripts that touch the queue get ``queue_lib.lua`` prepended, so the queue
layout lives in one place. The storage sends ``EVALSHA script_sha(name)``
itself, pipelined with other commands where that saves a round trip; when the
server answers ``NOSCRIPT`` (a new or restarted server, ``SCRIPT FLUSH``, a
failover) it sends ``load_commands()`` once, loading every script, and resends.
"""

from __future__ import annotations

import functools
import hashlib
from importlib import resources

__all__ = ['BATCH_SIZE', 'QUEUE_SCRIPTS', 'SCRIPTS', 'load_commands', 'script_sha', 'script_source']

#: items handled per call by the batched scripts (requeue, schedule, flush...)
BATCH_SIZE = 1000

#: scripts built on queue_lib.lua (they take the queue keys first)
QUEUE_SCRIPTS = (
    'enqueue',
    'take',
    'claim',
    'lease_many',
    'release',
    'requeue_expired',
    'requeue_orphans',
    'requeue_claims',
    'schedule_pop',
    'dead_letter_add',
    'dead_letter_requeue',
)
#: every script, by file name without ``.lua``
SCRIPTS = QUEUE_SCRIPTS + (
    'extend_leases',
    'schedule_add',
    'dead_letter_list',
    'store',
    'store_many',
    'pop_data',
    'put_if_empty',
    'delete_if',
    'incr',
)


def _read(name: str) -> str:
    return resources.files(__package__).joinpath(name + '.lua').read_text('utf-8')


@functools.cache
def script_source(name: str) -> str:
    """The full source of script ``name``, library prepended when it needs one."""
    if name not in SCRIPTS:
        raise ValueError(f'unknown script {name!r}; expected one of {", ".join(SCRIPTS)}')
    if name in QUEUE_SCRIPTS:
        return _read('queue_lib') + '\n' + _read(name)
    return _read(name)


@functools.cache
def script_sha(name: str) -> str:
    """The SHA1 that ``EVALSHA`` names script ``name`` by."""
    return hashlib.sha1(script_source(name).encode('utf-8')).hexdigest()


def load_commands() -> list[tuple]:
    """``SCRIPT LOAD`` of every script, to pipeline after a ``NOSCRIPT`` reply:
    a server that lost one script has lost them all."""
    return [('SCRIPT', 'LOAD', script_source(name)) for name in SCRIPTS]
