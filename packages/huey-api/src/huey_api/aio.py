"""huey from asyncio code: enqueue and await results without blocking the loop.

``await add.aio(1, 2)`` / ``await huey.aenqueue(task)`` enqueue,
``await result`` / ``await result.aget(timeout=...)`` wait for a value, and
``aget_result`` / ``aget_result_group`` are huey's ``huey.contrib.asyncio``.

Each storage call goes through the storage's asyncio access when it has one
(``storage.async_access()``; Redis: redis-py's asyncio client, and a wait is
a pub/sub subscription woken by the write, never a poll). Other storages
(SQLite, SQL, memory, file) are synchronous: their calls run in the default
executor's threads, and a wait is the storage's own ``wait_result`` there,
in slices of at most ``WAIT_SLICE`` seconds so a cancelled waiter never
leaves a thread waiting long. A value read is kept on its ``Result`` (as
``Result.get`` does), so a waiter cancelled mid-read loses nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from huey_storage import EmptyData

from huey_api import signals as S
from huey_api.exceptions import ResultTimeout
from huey_api.result import Result, ResultGroup
from huey_api.task import Task

__all__ = ['WAIT_SLICE', 'aenqueue', 'aget_result', 'aget_result_group', 'storage_access']

logger = logging.getLogger(__name__.replace('huey_api', 'huey', 1))

#: longest wait handed to a thread at once (storages without asyncio access)
WAIT_SLICE = 1.0
#: how often a waiter re-reads even if no wake-up came (a safety net)
RECHECK = 5.0


class _ThreadedAccess:
    """A synchronous storage's calls, each run in the loop's default executor."""

    def __init__(self, storage) -> None:
        self.storage = storage

    async def enqueue(self, data: bytes, priority: int | None = None) -> None:
        await asyncio.to_thread(self.storage.enqueue, data, priority)

    async def peek_data(self, key: str):
        return await asyncio.to_thread(self.storage.peek_data, key)

    async def pop_data(self, key: str):
        return await asyncio.to_thread(self.storage.pop_data, key)

    async def wait_data(self, key: str, timeout: float) -> bool:
        seconds = min(timeout, WAIT_SLICE)
        return await asyncio.to_thread(self.storage.wait_result, key, seconds)


def storage_access(storage):
    """The asyncio access to ``storage`` on the running loop: its own
    (``storage.async_access()``), else its calls run in threads."""
    own = getattr(storage, 'async_access', None)
    access = own() if own is not None else None
    return _ThreadedAccess(storage) if access is None else access


async def aenqueue(huey, task):
    """``huey.enqueue(task)`` without blocking the running loop; returns the
    same ``Result`` / ``ResultGroup`` (None when results are off).

    A plain task or pipeline is one awaited storage write; a ``group``, a
    ``chord`` or immediate mode runs ``huey.enqueue`` in a thread.
    """
    if not isinstance(task, Task) or huey.immediate:
        return await asyncio.to_thread(huey.enqueue, task)
    if task.expires is not None:
        task.resolve_expires()  # a relative expiry counts from enqueueing
    data = huey.serialize_task(task)
    await storage_access(huey.storage).enqueue(data, task.priority)
    huey._emit(S.SIGNAL_ENQUEUED, task)
    return huey._results_for(task)


async def _read(result: Result, access, preserve: bool) -> Any:
    """The value, read into ``result`` if stored (EmptyData if not yet).

    The read is shielded: a waiter cancelled meanwhile (``wait_for``, a
    client gone) lets it land and keeps its value on ``result``, then stops,
    so a value the read took out of the store is never lost.
    """
    if result._value is EmptyData:
        read = asyncio.ensure_future(
            access.peek_data(result.id) if preserve else access.pop_data(result.id)
        )
        try:
            data = await asyncio.shield(read)
        except asyncio.CancelledError:
            read.add_done_callback(lambda done: _keep(result, done))
            await asyncio.wait({read})  # one round trip at most
            raise
        if data is not EmptyData and result._value is EmptyData:
            result._value = result.huey.deserialize_value(result.id, data)
    return result._value


def _keep(result: Result, read: asyncio.Future) -> None:
    """Keep what a cancelled waiter's read brought back on its ``Result``."""
    if read.cancelled() or read.exception() is not None:
        return
    data = read.result()
    if data is EmptyData or result._value is not EmptyData:
        return
    try:
        result._value = result.huey.deserialize_value(result.id, data)
    except Exception:  # nobody is waiting to be told: say it here
        logger.exception('result %s could not be decoded', result.id)


async def aget_result(
    result: Result,
    backoff: float = 1.15,
    max_delay: float = 1.0,
    preserve: bool = False,
    timeout: float | None = None,
) -> Any:
    """The task's return value, once it has one.

    Waits without blocking the loop (see the module docstring); ``timeout``
    (seconds) raises ``ResultTimeout``; a failed task raises
    ``TaskException``; ``preserve`` leaves the value in the store for other
    readers. ``backoff`` and ``max_delay`` are accepted for compatibility:
    the storage picks how to wait.
    """
    if backoff < 1:
        raise ValueError(f'backoff={backoff!r}: must be >= 1 (1 keeps the delay fixed)')
    access = storage_access(result.huey.storage)
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        value = await _read(result, access, preserve)
        if value is not EmptyData:
            return result._unwrap(value)
        wait = RECHECK
        if deadline is not None:
            wait = min(wait, deadline - time.monotonic())
            if wait <= 0:
                raise ResultTimeout(f'task {result.id} has no result after {timeout}s')
        await access.wait_data(result.id, wait)


async def aget_result_group(group: ResultGroup, *args: Any, **kwargs: Any) -> list[Any]:
    """Every value of ``group``, in order, awaited concurrently (same options
    as ``aget_result``). If one fails or times out, the other waits are
    cancelled and its exception is raised."""
    waits = [asyncio.ensure_future(aget_result(result, *args, **kwargs)) for result in group]
    try:
        return await asyncio.gather(*waits)
    except BaseException:
        for wait in waits:
            wait.cancel()
        await asyncio.gather(*waits, return_exceptions=True)
        raise
