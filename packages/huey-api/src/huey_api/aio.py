"""Await task results from asyncio code without blocking the event loop.

Storages are synchronous, so each look at the result store runs in a worker
thread (``asyncio.to_thread``) and the coroutine sleeps between looks. The
value is read with ``Result.get``, which keeps it on the ``Result``: a waiter
cancelled while a read is in flight loses nothing, ``result.get()`` has it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from huey_api.exceptions import ResultTimeout
from huey_api.result import Result, ResultGroup

__all__ = ['aget_result', 'aget_result_group']

#: first pause between two looks at the result store, in seconds
FIRST_DELAY = 0.1


def _look(result: Result, preserve: bool) -> tuple[bool, Any]:
    """(ready, value) from one look; a failed task raises ``TaskException``."""
    result.get(preserve=preserve)
    # True without a round trip once the value is cached on the Result
    if result.is_ready():
        # the cached value, or one stored just after the first read
        return True, result.get(preserve=preserve)
    return False, None


async def aget_result(
    result: Result,
    backoff: float = 1.15,
    max_delay: float = 1.0,
    preserve: bool = False,
    timeout: float | None = None,
) -> Any:
    """The task's return value, once it has one.

    Looks again after 0.1 s, then ``backoff`` times longer each time, up to
    ``max_delay`` seconds. ``timeout`` (seconds) raises ``ResultTimeout``;
    a failed task raises ``TaskException``; ``preserve`` leaves the value
    in the store for other readers.
    """
    if backoff < 1:
        raise ValueError(f'backoff={backoff!r}: must be >= 1 (1 keeps the delay fixed)')
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = FIRST_DELAY
    while True:
        ready, value = await asyncio.to_thread(_look, result, preserve)
        if ready:
            return value
        pause = min(delay, max_delay)
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ResultTimeout(f'task {result.id} has no result after {timeout}s')
            pause = min(pause, remaining)
        await asyncio.sleep(pause)
        delay *= backoff


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
