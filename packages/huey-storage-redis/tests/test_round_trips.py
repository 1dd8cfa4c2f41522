"""The hot path in round trips: enqueue 1, lease 1, ack with result 1.

Counted with a connection class that counts packed sends (one per request or
pipeline), after a warm-up that connects and loads the scripts.
"""

from __future__ import annotations

import pytest
import redis
from conftest import counting_pool
from huey_storage_redis import (
    PriorityRedisExpireStorage,
    PriorityRedisStorage,
    RedisExpireStorage,
    RedisStorage,
)
from huey_storage_redis.scripts import SCRIPTS, script_sha

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
    assert trips(storage.peek_counters, ['n', 'missing', 'k']) == (1, [1, 0, 0])
    assert trips(storage.peek_counters, []) == (0, [])
    pool.disconnect()


@pytest.mark.parametrize('cls', ALL)
def test_a_batch_is_leased_and_acknowledged_in_one_round_trip_each(make_storage, redis_params, cls):
    pool = counting_pool(redis_params)
    storage = make_storage(cls, connection_pool=pool, read_timeout=0.1)
    storage.enqueue_many([(b'warm', 0)])
    leases, _ = storage.lease_many(2, 60, 'flag')  # connect, load the scripts
    storage.ack_many([(lease.receipt, None) for lease in leases])
    storage.enqueue_many([(b'm%d' % i, 0) for i in range(12)])
    counted = pool.connection_class
    before = counted.sends
    leases, _ = storage.lease_many(5, 60, 'flag')
    assert (counted.sends - before, [lease.data for lease in leases]) == (
        1,
        [b'm%d' % i for i in range(5)],
    )
    acks = [(lease.receipt, (f'r{i}', b'v')) for i, lease in enumerate(leases)]
    before = counted.sends
    acked, more, _ = storage.ack_many(acks, 5, 60, 'flag')
    assert (counted.sends - before, acked, len(more)) == (1, 5, 5)
    assert storage.peek_many(['r0', 'r4']) == {'r0': b'v', 'r4': b'v'}
    pool.disconnect()


# -- a server whose script cache is empty (new, restarted, SCRIPT FLUSH) -------


def _drain_with_ack_and_lease(storage, counted, count: int) -> list[int]:
    """Lease the first of ``count`` queued messages, then acknowledge each and
    take the next in one call; return the sends of each ack_and_lease."""
    lease = storage.lease(60)
    assert lease is not None
    sends, taken = [], []
    while lease is not None:
        before = counted.sends
        acked, lease, _ = storage.ack_and_lease(lease.receipt, ('r', b'v'), 60, 'flag')
        sends.append(counted.sends - before)
        assert acked is True
        if lease is not None:
            taken.append(lease.data)
    assert taken == [b'm%d' % i for i in range(1, count)]
    assert storage.leased_count() == 0 and storage.queue_size() == 0
    return sends


@pytest.mark.parametrize('cls', ALL)
def test_ack_and_lease_takes_the_next_message_on_a_fresh_server(private_redis, cls):
    pool = counting_pool(private_redis)
    storage = cls('fresh', connection_pool=pool)
    try:
        storage.enqueue_many([(b'm%d' % i, 0) for i in range(5)])
        # the first lease meets NOSCRIPT and loads every script; from then on
        # acknowledging a task and taking the next is one round trip
        assert _drain_with_ack_and_lease(storage, pool.connection_class, 5) == [1, 1, 1, 1, 1]
    finally:
        storage.close()


@pytest.mark.parametrize('cls', ALL)
def test_script_flush_costs_one_reload_then_one_round_trip_per_task(private_redis, cls):
    pool = counting_pool(private_redis)
    storage = cls('flushed', connection_pool=pool)
    try:
        storage.enqueue_many([(b'm%d' % i, 0) for i in range(6)])
        lease = storage.lease(60)
        redis.Redis(**private_redis).script_flush()
        before = pool.connection_class.sends
        acked, lease, _ = storage.ack_and_lease(lease.receipt, None, 60, 'flag')
        # refused, every script loaded, the refused commands resent
        assert (acked, lease.data, pool.connection_class.sends - before) == (True, b'm1', 3)
        sends = []
        while lease is not None:
            before = pool.connection_class.sends
            acked, lease, _ = storage.ack_and_lease(lease.receipt, None, 60, 'flag')
            sends.append(pool.connection_class.sends - before)
        assert sends == [1, 1, 1, 1, 1]
        assert storage.queue_size() == 0 and storage.leased_count() == 0
    finally:
        storage.close()


def test_every_script_is_loaded_after_the_first_refusal(private_redis):
    storage = RedisStorage('loaded', **private_redis, read_timeout=0.1)
    try:
        client = redis.Redis(**private_redis)
        shas = [script_sha(name) for name in SCRIPTS]
        assert not any(client.script_exists(*shas))
        storage.enqueue(b'x')
        assert storage.lease(60).data == b'x'
        assert all(client.script_exists(*shas))
    finally:
        storage.close()
