"""``RedisStorage`` from asyncio code: enqueue, read and wait for data through
redis-py's asyncio client, so an event loop never blocks on Redis.

``RedisStorage.async_access()`` returns the ``AsyncAccess`` of the running
event loop (a redis.asyncio client is bound to the loop that made it, so
each loop gets its own, made on first use and dropped with the loop). It
writes exactly what the synchronous storage writes (same keys, envelopes,
scripts), so producers of either kind and every consumer interoperate.

Waiting needs no polling: every write to a data key publishes on the key's
channel (see ``data.py``); ``wait_data`` subscribes first, then looks, then
sleeps until a publication or its timeout. All the waiters of one loop share
one pub/sub connection (``_Subscriptions``).
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING, Iterable

import redis
from huey_storage.base import EmptyData
from redis import asyncio as aioredis
from redis.exceptions import NoScriptError

from huey_storage_redis.envelope import make_envelope
from huey_storage_redis.scripts import script_sha, script_source

if TYPE_CHECKING:
    from huey_storage.base import EmptyDataType

    from huey_storage_redis.storage import RedisStorage

__all__ = ['MAX_CONNECTIONS', 'AsyncAccess', 'async_access']

#: connections of one loop's client (the waiters share one more, for pub/sub)
MAX_CONNECTIONS = 32
#: synchronous connection class -> its asyncio twin
_CONNECTIONS = {
    redis.Connection: aioredis.Connection,
    redis.UnixDomainSocketConnection: aioredis.UnixDomainSocketConnection,
    redis.SSLConnection: aioredis.SSLConnection,
}
#: connection options that mean the same to both clients (the others, such
#: as retry policies, are objects of the synchronous client)
_OPTIONS = (
    'host',
    'port',
    'path',
    'db',
    'username',
    'password',
    'credential_provider',
    'socket_timeout',
    'socket_connect_timeout',
    'socket_keepalive',
    'client_name',
    'ssl_keyfile',
    'ssl_certfile',
    'ssl_cert_reqs',
    'ssl_ca_certs',
    'ssl_ca_data',
    'ssl_check_hostname',
)


def async_access(storage: RedisStorage) -> AsyncAccess | None:
    """The running loop's ``AsyncAccess`` to ``storage``; None when its
    connections cannot be rebuilt for asyncio (a custom connection class)."""
    loop = asyncio.get_running_loop()
    per_loop = storage.__dict__.setdefault('_async_access', weakref.WeakKeyDictionary())
    access = per_loop.get(loop)
    if access is None:
        pool = storage.client.connection_pool
        connection_class = _CONNECTIONS.get(pool.connection_class)
        if connection_class is None:
            return None
        settings = pool.connection_kwargs
        options = {name: settings[name] for name in _OPTIONS if name in settings}
        # many concurrent calls queue for a connection instead of failing
        pool = aioredis.BlockingConnectionPool(
            connection_class=connection_class, max_connections=MAX_CONNECTIONS, **options
        )
        client = aioredis.Redis(connection_pool=pool)
        access = per_loop[loop] = AsyncAccess(storage, client)
    return access


class AsyncAccess:
    """The asyncio half of one storage, for one event loop."""

    def __init__(self, storage: RedisStorage, client: aioredis.Redis) -> None:
        self.storage = storage
        self.client = client
        self.keys = storage.keys
        self._subscriptions = _Subscriptions(client)

    async def _run(self, script: str, keys: list, args: list):
        """``EVALSHA`` of one script, loading it first if the server lost it."""
        try:
            return await self.client.evalsha(script_sha(script), len(keys), *keys, *args)
        except NoScriptError:
            await self.client.script_load(script_source(script))
            return await self.client.evalsha(script_sha(script), len(keys), *keys, *args)

    async def enqueue(self, data: bytes, priority: int | None = None) -> None:
        await self.enqueue_many([(data, priority)])

    async def enqueue_many(self, items: Iterable[tuple[bytes, int | None]]) -> None:
        """What ``RedisStorage.enqueue_many`` does, in one round trip."""
        storage = self.storage
        if storage.priority:
            args: list = [storage._flag]
            for data, priority in items:
                priority = storage._priority(priority)
                args += [priority, make_envelope(data, priority)]
            if len(args) > 1:
                await self._run('enqueue', self.keys.queue_keys, args)
            return
        envelopes = [make_envelope(data, storage._priority(priority)) for data, priority in items]
        if envelopes:
            await self.client.lpush(self.keys.queue, *envelopes)

    async def peek_data(self, key: str) -> bytes | EmptyDataType:
        value = await self.client.get(self.keys.data(key))
        return EmptyData if value is None else value

    async def pop_data(self, key: str) -> bytes | EmptyDataType:
        value = await self.client.execute_command('GETDEL', self.keys.data(key))
        return EmptyData if value is None else value

    async def wait_data(self, key: str, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds until ``key`` holds a value; True
        if it does (it is not read: a caller may be cancelled mid-read)."""
        return await self._subscriptions.wait(
            self.keys.channel(key).encode(), self.keys.data(key), timeout
        )


class _Subscriptions:
    """One pub/sub connection per loop, shared by every waiter on it.

    A waiter registers, subscribes to its key's channel (a channel another
    waiter holds is already subscribed), and only once the server confirmed
    looks at the key: a write after that look always wakes it. The last
    waiter of a channel unsubscribes. Subscribe and unsubscribe commands go
    out in the order their decisions were taken (``_order``), so a waiter
    arriving as another leaves never loses its subscription.
    """

    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self.pubsub = client.pubsub()
        self._waiters: dict[bytes, set[asyncio.Future]] = {}
        self._confirmed: dict[bytes, asyncio.Future] = {}
        self._order = asyncio.Lock()
        self._reader: asyncio.Task | None = None

    async def wait(self, channel: bytes, data_key: str, timeout: float) -> bool:
        loop = asyncio.get_running_loop()
        woken = loop.create_future()
        self._waiters.setdefault(channel, set()).add(woken)
        try:
            confirmed = self._confirmed.get(channel)
            if confirmed is None:
                confirmed = self._confirmed[channel] = loop.create_future()
                async with self._order:
                    await self.pubsub.subscribe(channel)
                if self._reader is None or self._reader.done():
                    self._reader = asyncio.ensure_future(self._read())
            await asyncio.wait_for(asyncio.shield(confirmed), timeout)
            if await self.client.exists(data_key):
                return True
            await asyncio.wait_for(woken, timeout)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            waiters = self._waiters[channel]
            waiters.discard(woken)
            if not waiters:
                del self._waiters[channel]
                self._confirmed.pop(channel, None)
                await asyncio.shield(self._unsubscribe(channel))

    async def _unsubscribe(self, channel: bytes) -> None:
        async with self._order:
            await self.pubsub.unsubscribe(channel)

    async def _read(self) -> None:
        """Wake the waiters of each message's channel, until the loop ends."""
        while True:
            message = await self.pubsub.get_message(timeout=None)
            if message is None:
                continue
            channel = message['channel']
            if message['type'] == 'subscribe':
                futures = [self._confirmed.get(channel)]
            elif message['type'] == 'message':
                futures = list(self._waiters.get(channel, ()))
            else:
                continue
            for future in futures:
                if future is not None and not future.done():
                    future.set_result(None)
