"""The 0.x/1.x Redis backends (``huey.backends.redis_backend``), deprecated.

Each class is a thin view of today's ``RedisStorage`` named like the legacy
object: backends with the same name and connection share one storage, so
``RedisBlockingQueue('app')``, ``RedisDataStore('app')`` and
``RedisSchedule('app')`` together are exactly ``RedisHuey('app')``, with its
leases, atomic acknowledgements and dead letters.
"""

from __future__ import annotations

import datetime
import threading
from typing import Any

import redis
from huey_storage_redis import RedisStorage
from huey_storage_redis.envelope import make_envelope

from huey_legacy.backends import BaseDataStore, BaseEventEmitter, BaseQueue, BaseSchedule

__all__ = [
    'RedisBlockingQueue',
    'RedisDataStore',
    'RedisEventEmitter',
    'RedisQueue',
    'RedisSchedule',
    'shared_storage',
]

_storages: dict[tuple, RedisStorage] = {}
_storages_lock = threading.Lock()


def _hashable(value: Any) -> Any:
    try:
        hash(value)
    except TypeError:
        return ('id', id(value))
    return value


def shared_storage(name: str, connection: dict[str, Any]) -> RedisStorage:
    """The ``RedisStorage`` for ``name`` on this connection, one per process."""
    key = (name, tuple(sorted((k, _hashable(v)) for k, v in connection.items())))
    with _storages_lock:
        storage = _storages.get(key)
        if storage is None:
            storage = _storages[key] = RedisStorage(name, **connection)
        return storage


def _timestamp(ts: Any) -> float:
    """Epoch seconds from a float or a datetime (naive = local time, as 1.x did)."""
    if isinstance(ts, datetime.datetime):
        return ts.timestamp()
    return float(ts)


class _RedisBackend:
    _replacement = "RedisHuey('name')"

    @property
    def storage(self) -> RedisStorage:
        """Today's storage behind this legacy object."""
        return shared_storage(self.name, self.connection)


class RedisQueue(_RedisBackend, BaseQueue):
    """Deprecated: a Redis list the consumer polls. Use ``RedisHuey(name, blocking=False)``."""

    blocking = False

    @property
    def storage(self) -> RedisStorage:
        storage = shared_storage(self.name, self.connection)
        storage.blocking = self.blocking
        return storage

    def write(self, data: bytes) -> None:
        self.storage.enqueue(data)

    def read(self) -> bytes | None:
        return self.storage.dequeue()

    def remove(self, data: bytes) -> int:
        storage = self.storage
        return storage.client.lrem(storage.keys.queue, 0, make_envelope(data, 0))

    def flush(self) -> None:
        self.storage.flush_queue()

    def __len__(self) -> int:
        return self.storage.queue_size()


class RedisBlockingQueue(RedisQueue):
    """Deprecated: a Redis list read with a blocking pop. Use ``RedisHuey(name)``."""

    blocking = True


class RedisDataStore(_RedisBackend, BaseDataStore):
    """Deprecated: results in Redis. Use ``RedisHuey(name)`` (results are on)."""

    def put(self, key: str, value: bytes) -> None:
        self.storage.put_data(key, value, is_result=True)

    def peek(self, key: str) -> Any:
        return self.storage.peek_data(key)

    def get(self, key: str) -> Any:
        return self.storage.pop_data(key)

    def flush(self) -> None:
        self.storage.flush_data()

    def __len__(self) -> int:
        return self.storage.result_store_size()


class RedisSchedule(_RedisBackend, BaseSchedule):
    """Deprecated: scheduled tasks in a Redis sorted set. Use ``RedisHuey(name)``."""

    def add(self, data: bytes, ts: Any) -> None:
        self.storage.add_to_schedule(data, _timestamp(ts))

    def read(self, ts: Any) -> list[bytes]:
        return self.storage.read_schedule(_timestamp(ts))

    def flush(self) -> None:
        self.storage.flush_schedule()

    def __len__(self) -> int:
        return self.storage.schedule_size()


class RedisEventEmitter(BaseEventEmitter):
    """Deprecated: publishes each task event as JSON on the Redis pub/sub
    channel ``channel`` (fields: ``huey_legacy.events``). Use ``huey.signal()``."""

    def __init__(self, channel: str, **connection: Any) -> None:
        super().__init__(channel, **connection)
        self._client: redis.Redis | None = None

    @property
    def client(self) -> redis.Redis:
        if self._client is None:
            self._client = redis.Redis(**self.connection)
        return self._client

    def emit(self, message: str) -> None:
        self.client.publish(self.channel, message)
