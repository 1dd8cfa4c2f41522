"""The hot path in round trips: enqueue 1, lease 1, ack with result 1.

Counted with a connection class that counts packed sends (one per request or
pipeline), after a warm-up that connects and loads the scripts.
"""

from __future__ import annotations

import pytest
from conftest import counting_pool
from huey_storage_redis import (
    PriorityRedisExpireStorage,
    PriorityRedisStorage,
    RedisExpireStorage,
    RedisStorage,
)

pytestmark = pytest.mark.redis

ALL = [RedisStorage, PriorityRedisStorage, RedisExpireStorage, PriorityRedisExpireStorage]


def _hot_path(storage) -> None:
    storage.enqueue(b'task', 1)
    lease = storage.lease(60)
    storage.ack(lease.receipt, result=('result', b'value'))
    storage.enqueue(b'task', 1)
    storage.ack(storage.lease_with_data(60, 'result')[0].receipt)
    storage.enqueue(b'task', 1)
    storage.dequeue()
    storage.put_data('k', b'v', is_result=True)
    storage.peek_data('k')
    storage.pop_data('k')
    storage.enqueue_many([(b'a', 1), (b'b', 2)])
    storage.add_to_schedule(b's', 0)
    storage.enqueue_due(1)
    storage.dequeue()
    storage.dequeue()
    storage.dequeue()


@pytest.mark.parametrize('cls', ALL)
def test_hot_path_round_trips(make_storage, redis_params, cls):
    pool = counting_pool(redis_params)
    storage = make_storage(cls, connection_pool=pool)
    _hot_path(storage)  # warm up: connect, load every script used
    counted = pool.connection_class

    def trips(operation, *args, **kwargs):
        before = counted.sends
        value = operation(*args, **kwargs)
        return counted.sends - before, value

    assert trips(storage.enqueue, b'task', 1)[0] == 1
    sends, lease = trips(storage.lease, 60)
    assert sends == 1 and lease.data == b'task'
    assert trips(storage.ack, lease.receipt, result=('result', b'value')) == (1, True)
    storage.enqueue(b'flagged', 1)
    sends, (lease, flag) = trips(storage.lease_with_data, 60, 'result')
    assert (sends, lease.data, flag) == (1, b'flagged', b'value')
    storage.ack(lease.receipt)
    assert trips(storage.enqueue_many, [(b'a', 1), (b'b', 2), (b'c', None)])[0] == 1
    assert trips(storage.dequeue)[0] == 1
    assert trips(storage.put_data, 'k', b'v', is_result=True)[0] == 1
    assert trips(storage.peek_data, 'k') == (1, b'v')
    assert trips(storage.peek_data_many, ['k', 'result'])[0] == 1
    assert trips(storage.pop_data, 'k') == (1, b'v')
    assert trips(storage.add_to_schedule, b's', 0)[0] == 1
    assert trips(storage.enqueue_due, 1) == (1, 1)
    assert trips(storage.put_if_empty, 'lock', b'1', 60) == (1, True)
    assert trips(storage.incr, 'n', 1, 60) == (1, 1)
    pool.disconnect()
