"""The priority and expiring variants of ``RedisStorage``."""

from __future__ import annotations

from huey_storage.base import EmptyDataType

from huey_storage_redis.data import ttl_ms
from huey_storage_redis.storage import RedisStorage

__all__ = ['PriorityRedisExpireStorage', 'PriorityRedisStorage', 'RedisExpireStorage']


class PriorityRedisStorage(RedisStorage):
    """``RedisStorage`` whose queue honours ``priority`` (higher first, FIFO within one).

    The queue is a sorted set: score ``-priority``, member a 16-digit sequence
    (from ``INCR``) followed by the envelope, so equal priorities stay FIFO and
    requeued messages (smaller sequences) come back at the head of their
    priority. Blocking reads wait on a token list kept non-empty exactly while
    the queue is, since a sorted set cannot be waited on without popping.
    """

    priority = True


class RedisExpireStorage(RedisStorage):
    """``RedisStorage`` whose task results expire ``expire_time`` seconds after
    being stored (``SET ... PX``), so unread results never pile up.

    Results (``put_data(..., is_result=True)`` and ``ack`` with a result) and
    counters created without a ttl expire; revocations and locks keep their
    own rules. An expired result is gone from every read at once.

    Reads never delete here (``destructive_reads = False``, as in huey): a
    result can be read again until it expires; ``delete_data`` deletes.
    """

    destructive_reads = False

    def __init__(self, name: str = 'huey', expire_time: float = 86400, **kwargs) -> None:
        result_ttl_ms = ttl_ms(expire_time, f'{type(self).__name__} expire_time')
        super().__init__(name, **kwargs)
        self.expire_time = expire_time
        self._result_ttl_ms = result_ttl_ms
        self._counter_ttl_ms = result_ttl_ms  # counters expire too, as in huey

    def pop_data(self, key: str) -> bytes | EmptyDataType:
        return self.peek_data(key)


class PriorityRedisExpireStorage(RedisExpireStorage):
    """``RedisExpireStorage`` with the priority queue of ``PriorityRedisStorage``."""

    priority = True
