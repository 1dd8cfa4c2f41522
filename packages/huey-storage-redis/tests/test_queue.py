"""Redis-specific queue and lease behaviour: priorities, receipts, blocking reads."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from conftest import counting_pool, wait_for
from huey_storage.base import EmptyData
from huey_storage_redis import PriorityRedisStorage, RedisStorage
from huey_storage_redis.storage import BATCH_SIZE

pytestmark = pytest.mark.redis


def _drain(storage) -> list[bytes]:
    items = []
    while (item := storage.dequeue()) is not None:
        items.append(item)
    return items


def test_priority_order_highest_first_fifo_within(make_storage):
    storage = make_storage(PriorityRedisStorage, blocking=False)
    items = [
        (b'n1', None),
        (b'big', 10**12),
        (b'neg', -7),
        (b'p3a', 3),
        (b'n2', 0),
        (b'p3b', 3),
        (b'negbig', -(10**12)),
        (b'p3c', 3),
        (b'n3', None),
    ]
    for data, priority in items:
        storage.enqueue(data, priority)
    expected = [b'big', b'p3a', b'p3b', b'p3c', b'n1', b'n2', b'n3', b'neg', b'negbig']
    assert storage.enqueued_items() == expected
    assert _drain(storage) == expected


def test_priority_requeue_returns_to_the_head_of_its_priority(make_storage):
    storage = make_storage(PriorityRedisStorage, blocking=False)
    storage.enqueue_many([(b'a', 1), (b'b', 1), (b'c', 1), (b'urgent', 9), (b'low', 0)])
    first = storage.lease(60)
    second = storage.lease(60)
    assert (first.data, second.data) == (b'urgent', b'a')
    storage.enqueue(b'd', 1)
    assert storage.requeue_expired_leases(time.time() + 3600) == 2
    assert storage.enqueued_items() == [b'urgent', b'a', b'b', b'c', b'd', b'low']
    assert storage.lease(60).deliveries == 2


def test_priority_must_be_an_integer(make_storage):
    storage = make_storage(PriorityRedisStorage)
    with pytest.raises(TypeError, match='high'):
        storage.enqueue(b'x', 'high')
    storage.enqueue(b'x', 2.0)  # floats are truncated, as everywhere
    storage.enqueue(b'y', 2.9)
    assert storage.queue_size() == 2


def test_identical_messages_get_distinct_receipts(make_storage):
    storage = make_storage(blocking=False)
    storage.enqueue(b'same')
    storage.enqueue(b'same')
    one, two = storage.lease(60), storage.lease(60)
    assert one.data == two.data == b'same'
    assert one.receipt != two.receipt
    assert storage.ack(one.receipt) is True
    assert storage.leased_count() == 1
    assert storage.release(two.receipt) is True
    assert storage.enqueued_items() == [b'same']


@pytest.mark.parametrize('cls', [RedisStorage, PriorityRedisStorage])
def test_a_retried_take_returns_the_same_lease(make_storage, cls):
    """A lease call retried after a lost reply must not take a second message."""
    storage = make_storage(cls, blocking=False)
    storage.enqueue(b'first')
    storage.enqueue(b'second')
    receipt = uuid.uuid4().hex
    assert storage._take(receipt, 60) == storage._take(receipt, 60)
    assert storage.leased_count() == 1
    assert storage.enqueued_items() == [b'second']


def test_messages_with_separator_bytes(make_storage):
    storage = make_storage(PriorityRedisStorage, blocking=False)
    payloads = [b'1:2|3', b'|', b':', b'0:0|x', b'|||:::']
    for payload in payloads:
        storage.enqueue(payload, 1)
    leases = [storage.lease(60) for _ in payloads]
    assert [lease.data for lease in leases] == payloads
    assert storage.requeue_expired_leases(time.time() + 60) == len(payloads)
    assert _drain(storage) == payloads


@pytest.mark.parametrize('cls', [RedisStorage, PriorityRedisStorage])
def test_batched_operations_cross_the_batch_size(make_storage, cls):
    storage = make_storage(cls, blocking=False)
    count = BATCH_SIZE * 2 + 7
    storage.enqueue_many((b'%d' % i, None) for i in range(count))
    for _ in range(count):
        storage.lease(60)
    assert storage.requeue_expired_leases(time.time() + 60) == count
    assert storage.queue_size() == count
    storage.flush_queue()
    now = time.time()
    for i in range(count):
        storage.add_to_schedule(b'%d' % i, now - count + i)
    assert storage.read_schedule(now) == [b'%d' % i for i in range(count)]
    for i in range(count):
        storage.add_to_schedule(b'%d' % i, now - 1)
    assert storage.enqueue_due(now) == count
    assert _drain(storage) == [b'%d' % i for i in range(count)]


# -- blocking reads -------------------------------------------------------


def _blocked_on(redis_client, client_name: str, command: str) -> bool:
    return any(
        client.get('name') == client_name and client.get('cmd') == command
        for client in redis_client.client_list()
    )


@pytest.mark.parametrize(
    'cls, method, command',
    [
        (RedisStorage, 'lease', 'blmove'),
        (RedisStorage, 'dequeue', 'brpop'),
        (PriorityRedisStorage, 'lease', 'blmove'),
        (PriorityRedisStorage, 'dequeue', 'blmove'),
    ],
)
def test_blocking_read_wakes_up_when_a_message_arrives(
    make_storage, redis_client, cls, method, command
):
    name = 'waiter-' + uuid.uuid4().hex[:8]
    storage = make_storage(cls, read_timeout=60, client_name=name)
    producer = make_storage(cls, name=storage.name)
    got = []
    reader = threading.Thread(
        target=lambda: got.append(storage.lease(60) if method == 'lease' else storage.dequeue()),
        daemon=True,
    )
    reader.start()
    wait_for(lambda: _blocked_on(redis_client, name, command), message=f'{command} blocking')
    producer.enqueue(b'wake up', 3)
    reader.join(10)  # far below read_timeout: only a wake-up gets here in time
    assert not reader.is_alive()
    data = got[0].data if method == 'lease' else got[0]
    assert data == b'wake up'
    assert storage.queue_size() == 0


def test_several_blocked_consumers_share_the_messages(make_storage):
    name = 'shared-' + uuid.uuid4().hex[:8]
    shared = [make_storage(PriorityRedisStorage, name=name, read_timeout=30) for _ in range(3)]
    got = []
    lock = threading.Lock()

    def consume(storage):
        lease = storage.lease(60)
        with lock:
            got.append(lease.data)

    threads = [threading.Thread(target=consume, args=(s,), daemon=True) for s in shared]
    for thread in threads:
        thread.start()
    for i in range(3):
        shared[0].enqueue(b'm%d' % i)
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive()
    assert sorted(got) == [b'm0', b'm1', b'm2']
    assert shared[0].leased_count() == 3


@pytest.mark.parametrize('cls', [RedisStorage, PriorityRedisStorage])
@pytest.mark.parametrize('method', ['lease', 'dequeue'])
def test_read_timeout_is_honoured(make_storage, cls, method):
    storage = make_storage(cls, read_timeout=0.3)
    start = time.monotonic()
    result = storage.lease(60) if method == 'lease' else storage.dequeue()
    assert result is None
    assert time.monotonic() - start >= 0.29


def test_read_timeout_longer_than_the_socket_timeout(make_storage):
    """Blocks are cut below socket_timeout, so a long read_timeout never times out."""
    storage = make_storage(read_timeout=1.6, socket_timeout=0.5)
    priority = make_storage(PriorityRedisStorage, read_timeout=1.6, socket_timeout=0.5)
    start = time.monotonic()
    assert storage.dequeue() is None
    assert storage.lease(5) is None
    assert priority.lease(5) is None
    assert time.monotonic() - start >= 3 * 1.55


@pytest.mark.parametrize('cls', [RedisStorage, PriorityRedisStorage])
def test_non_blocking_read_is_one_round_trip(make_storage, redis_params, cls):
    pool = counting_pool(redis_params)
    connection_class = pool.connection_class
    storage = make_storage(cls, blocking=False, read_timeout=30, connection_pool=pool)
    storage.lease(1)  # connect and load the script
    before = connection_class.sends
    assert storage.lease(1) is None
    assert storage.dequeue() is None
    assert connection_class.sends - before == 2


def test_read_timeout_zero_does_not_block(make_storage):
    storage = make_storage(read_timeout=0)
    assert storage.lease(1) is None and storage.dequeue() is None
    with pytest.raises(ValueError, match='read_timeout'):
        make_storage(read_timeout=-1)


@pytest.mark.parametrize('cls', [RedisStorage, PriorityRedisStorage])
def test_requeue_keeps_lease_order_across_batches(make_storage, cls):
    storage = make_storage(cls, blocking=False)
    count = BATCH_SIZE + 300
    storage.enqueue_many((b'%05d' % i, None) for i in range(count))
    for _ in range(count):
        storage.lease(60)
    storage.enqueue(b'waiting')
    assert storage.requeue_expired_leases(time.time() + 3600) == count
    assert storage.enqueued_items() == [b'%05d' % i for i in range(count)] + [b'waiting']


@pytest.mark.parametrize('cls', [RedisStorage, PriorityRedisStorage])
def test_entry_without_envelope_is_dead_lettered_when_its_lease_expires(
    make_storage, redis_client, cls
):
    storage = make_storage(cls, blocking=False)
    raw = b'no envelope: written by another client'
    if storage.priority:  # a sorted-set member: 16-digit sequence, then the entry
        redis_client.zadd(storage.keys.queue, {b'%016d' % 10**15 + raw: 0})
    else:
        redis_client.lpush(storage.keys.queue, raw)
    lease = storage.lease(0.01)
    assert lease.data == raw and lease.deliveries == 1
    assert storage.requeue_expired_leases(time.time() + 1) == 0
    letters = storage.dead_letters()
    assert [letter.data for letter in letters] == [raw]
    assert 'no huey envelope' in letters[0].reason
    assert storage.leased_count() == 0 and storage.queue_size() == 0


def test_entry_without_envelope_can_be_dead_lettered_by_receipt(make_storage, redis_client):
    storage = make_storage(blocking=False)
    redis_client.lpush(storage.keys.queue, b'raw|entry')
    lease = storage.lease(30)
    assert storage.dead_letter(lease.receipt, 'undecodable') is not None
    assert [letter.data for letter in storage.dead_letters()] == [b'raw|entry']


@pytest.mark.parametrize('cls', [RedisStorage, PriorityRedisStorage])
def test_batches_larger_than_a_script_call_are_split(make_storage, cls):
    storage = make_storage(cls, blocking=False)
    total = BATCH_SIZE + 5
    storage.enqueue_many([(b'%d' % i, 0) for i in range(total)])
    leases, _ = storage.lease_many(total, 60, 'flag')
    assert len(leases) == BATCH_SIZE  # at most one call's worth
    more, _ = storage.lease_many(total, 60, 'flag')
    assert [lease.data for lease in leases + more] == [b'%d' % i for i in range(total)]
    acks = [(lease.receipt, (f'r{i}', b'v')) for i, lease in enumerate(leases + more)]
    assert storage.ack_many(acks) == (total, [], EmptyData)
    assert storage.leased_count() == 0 and storage.result_store_size() == total


def test_a_retried_batch_lease_returns_the_same_messages(make_storage):
    storage = make_storage(RedisStorage, blocking=False)
    storage.enqueue_many([(b'a', 0), (b'b', 0), (b'c', 0)])
    prefix = 'owner/' + uuid.uuid4().hex + '.'
    first = storage._lease_many(prefix, 2, 60, 'flag', 1)
    again = storage._lease_many(prefix, 2, 60, 'flag', 1)  # the reply was lost
    assert first == again and storage._leases(prefix, again)[0][1].data == b'b'
    assert (storage.leased_count(), storage.queue_size()) == (2, 1)
