"""Await task results from asyncio code without blocking the event loop.

Storages are synchronous, so each look at the result store runs in a worker
thread (``asyncio.to_thread``). Between looks the coroutine waits: on a Redis
storage it listens (redis-py's asyncio client) on the channel the storage
publishes to whenever the result is written, so it wakes as soon as the
value is there; elsewhere it sleeps, backing off. The value is read with
``Result.get``, which keeps it on the ``Result``: a waiter cancelled while a
read is in flight loses nothing, ``result.get()`` has it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from typing import Any, AsyncIterator, Awaitable, Callable

from huey_api.exceptions import ResultTimeout
from huey_api.result import Result, ResultGroup

__all__ = ['aget_result', 'aget_result_group']

#: first pause between two looks at the result store, in seconds
FIRST_DELAY = 0.1

#: redis-py connection options the asyncio client is built with (the others,
#: such as retry policies, are objects of the synchronous client)
_REDIS_OPTIONS = (
    'host',
    'port',
    'path',
    'db',
    'username',
    'password',
    'socket_connect_timeout',
    'client_name',
)


def _look(result: Result, preserve: bool) -> tuple[bool, Any]:
    """(ready, value) from one look; a failed task raises ``TaskException``."""
    result.get(preserve=preserve)
    # True without a round trip once the value is cached on the Result
    if result.is_ready():
        # the cached value, or one stored just after the first read
        return True, result.get(preserve=preserve)
    return False, None


def _redis_subscription(result: Result) -> tuple[dict, str] | None:
    """asyncio client options and the channel announcing ``result``, when
    its huey stores in Redis over TCP or a Unix socket; else None."""
    try:
        import redis
        from huey_storage_redis import RedisStorage
    except ImportError:
        return None
    storage = result.huey.storage
    if not isinstance(storage, RedisStorage):
        return None
    pool = storage.client.connection_pool
    if pool.connection_class not in (redis.Connection, redis.UnixDomainSocketConnection):
        return None  # TLS and custom connections: sleep between looks instead
    settings = pool.connection_kwargs
    if settings.get('credential_provider') is not None:
        return None
    options = {name: settings[name] for name in _REDIS_OPTIONS if name in settings}
    return options, storage.keys.channel(result.id)


@contextlib.asynccontextmanager
async def _wake_on_publish(
    options: dict, channel: str
) -> AsyncIterator[Callable[[float], Awaitable[Any]]]:
    """A pause that ends early when ``channel`` announces a write."""
    from redis import asyncio as aioredis

    client = aioredis.Redis(**options)
    pubsub = client.pubsub()
    try:
        await pubsub.subscribe(channel)
        # listening only once confirmed: a write after that always wakes us
        await pubsub.get_message(timeout=FIRST_DELAY * 10)

        async def pause(seconds: float) -> None:
            await pubsub.get_message(timeout=seconds)

        yield pause
    finally:
        await pubsub.aclose()
        await client.aclose()


@contextlib.asynccontextmanager
async def _sleep_between_looks() -> AsyncIterator[Callable[[float], Awaitable[Any]]]:
    yield asyncio.sleep


async def aget_result(
    result: Result,
    backoff: float = 1.15,
    max_delay: float = 1.0,
    preserve: bool = False,
    timeout: float | None = None,
) -> Any:
    """The task's return value, once it has one.

    Looks again after 0.1 s, then ``backoff`` times longer each time, up to
    ``max_delay`` seconds (on Redis, sooner: as soon as the value is
    written). ``timeout`` (seconds) raises ``ResultTimeout``; a failed task
    raises ``TaskException``; ``preserve`` leaves the value in the store for
    other readers.
    """
    if backoff < 1:
        raise ValueError(f'backoff={backoff!r}: must be >= 1 (1 keeps the delay fixed)')
    deadline = None if timeout is None else time.monotonic() + timeout
    subscription = _redis_subscription(result)
    waiting = _sleep_between_looks() if subscription is None else _wake_on_publish(*subscription)
    async with waiting as pause:
        delay = FIRST_DELAY
        while True:
            ready, value = await asyncio.to_thread(_look, result, preserve)
            if ready:
                return value
            seconds = min(delay, max_delay)
            if deadline is not None:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise ResultTimeout(f'task {result.id} has no result after {timeout}s')
                seconds = min(seconds, remaining)
            await pause(seconds)
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
