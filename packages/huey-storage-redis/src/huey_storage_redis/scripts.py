"""Load the storage's Lua scripts (the ``*.lua`` files beside this module).

Scripts that touch the queue get ``queue_lib.lua`` prepended, so the queue
layout lives in one place. Each script is registered once per client with
``register_script``: redis-py sends ``EVALSHA`` and loads the source only when
the server answers ``NOSCRIPT`` (first use, or after a server restart).
"""

from __future__ import annotations

import functools
from importlib import resources

import redis

__all__ = ['BATCH_SIZE', 'QUEUE_SCRIPTS', 'SCRIPTS', 'Scripts', 'script_source']

#: items handled per call by the batched scripts (requeue, schedule, flush...)
BATCH_SIZE = 1000

#: scripts built on queue_lib.lua (they take the queue keys first)
QUEUE_SCRIPTS = (
    'enqueue',
    'take',
    'claim',
    'release',
    'requeue_expired',
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
    'pop_data',
    'put_if_empty',
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


class Scripts:
    """Every script registered on one client, as attributes named after the files."""

    def __init__(self, client: redis.Redis) -> None:
        for name in SCRIPTS:
            setattr(self, name, client.register_script(script_source(name)))
