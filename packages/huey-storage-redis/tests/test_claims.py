"""Blocking leases through claim lists: one waiter woken per message, one
round trip per blocking lease, and no message stranded by a vanished client."""

from __future__ import annotations

import threading
import time
import uuid

import pytest
from conftest import counting_pool, wait_for
from huey_storage_redis import RedisStorage
from huey_storage_redis.envelope import make_envelope
from huey_storage_redis.storage import CLAIM_GRACE

pytestmark = pytest.mark.redis


def _blocked(redis_client, client_name: str) -> int:
    return sum(
        1
        for client in redis_client.client_list()
        if client.get('name') == client_name and 'b' in client.get('flags', '')
    )


def test_one_message_wakes_exactly_one_blocked_lease(make_storage, redis_params, redis_client):
    name = 'claims-' + uuid.uuid4().hex[:8]
    client_name = 'waiter-' + uuid.uuid4().hex[:8]
    pool = counting_pool({**redis_params, 'client_name': client_name})
    waiting = make_storage(name=name, connection_pool=pool, read_timeout=30)
    producer = make_storage(name=name)
    leases: list = []

    def lease():
        leases.append(waiting.lease(60))

    threads = [threading.Thread(target=lease) for _ in range(4)]
    for thread in threads:
        thread.start()
    wait_for(lambda: _blocked(redis_client, client_name) == 4, message='4 blocked leases')
    sends = pool.connection_class.sends
    producer.enqueue(b'first')
    wait_for(lambda: len(leases) == 1, message='one lease taken')
    wait_for(lambda: _blocked(redis_client, client_name) == 3, message='3 still blocked')
    # the three others never woke up: not one command was sent on their behalf
    assert pool.connection_class.sends == sends
    assert leases[0].data == b'first'
    producer.enqueue_many([(b'a', None), (b'b', None), (b'c', None)])
    for thread in threads:
        thread.join(10)
    assert sorted(lease.data for lease in leases) == [b'a', b'b', b'c', b'first']
    assert producer.queue_size() == 0 and producer.leased_count() == 4
    pool.disconnect()


def test_a_blocking_lease_is_one_round_trip(make_storage, redis_params):
    pool = counting_pool(redis_params)
    name = 'claims-' + uuid.uuid4().hex[:8]
    waiting = make_storage(name=name, connection_pool=pool, read_timeout=30)
    producer = make_storage(name=name)
    producer.enqueue(b'warm-up')
    taken: list = []
    counted = pool.connection_class

    def lease_twice():
        waiting.lease_with_data(60, 'flag')  # connects and loads the script
        sends = counted.sends
        taken.append(waiting.lease_with_data(60, 'flag'))
        taken.append(counted.sends - sends)

    thread = threading.Thread(target=lease_twice)
    thread.start()
    time.sleep(0.05)  # let it block first (either way it must stay one round trip)
    producer.put_data('flag', b'on')
    producer.enqueue(b'job')
    thread.join(10)
    (lease, flag), sends = taken
    assert (lease.data, flag) == (b'job', b'on')
    assert sends == 1
    pool.disconnect()


def _strand(storage: RedisStorage, redis_client, data: bytes, last_used: float) -> str:
    """A claim list holding ``data``, as left by a client that vanished."""
    claim = storage.keys.claim(uuid.uuid4().hex)
    redis_client.lpush(claim, make_envelope(data, 0))
    redis_client.zadd(storage.keys.claims, {claim: last_used})
    return claim


def test_a_stranded_claim_returns_to_the_queue_head(make_storage, redis_client):
    storage = make_storage(read_timeout=0)
    storage.enqueue(b'waiting')
    claim = _strand(storage, redis_client, b'stranded', time.time() - CLAIM_GRACE - 1)
    recent = _strand(storage, redis_client, b'recent', time.time())
    assert storage.requeue_expired_leases() == 1
    assert redis_client.llen(claim) == 0
    assert redis_client.zscore(storage.keys.claims, claim) is None
    # a claim list in use recently is left alone
    assert redis_client.llen(recent) == 1
    for expected in (b'stranded', b'waiting'):
        lease = storage.lease(60)
        assert lease.data == expected
        storage.ack(lease.receipt)
    assert storage.lease(60) is None
    assert storage.requeue_expired_leases(time.time() + CLAIM_GRACE + 5) == 1
    assert storage.lease(60).data == b'recent'


def test_a_retried_claim_returns_the_same_lease_and_gives_back_the_extra(
    make_storage, redis_client
):
    storage = make_storage()
    storage.enqueue_many([(b'one', None), (b'two', None)])
    claim = storage.keys.claim('retry')
    keys = storage.keys.queue_keys + [claim]
    redis_client.lmove(storage.keys.queue, claim, 'RIGHT', 'LEFT')
    args = ['0', 'receipt-1', time.time() + 60]
    assert storage._run('claim', keys, args) == make_envelope(b'one', 0)
    # the retried pipeline moved a second message before claim.lua ran again
    redis_client.lmove(storage.keys.queue, claim, 'RIGHT', 'LEFT')
    assert storage._run('claim', keys, args) == make_envelope(b'one', 0)
    assert redis_client.llen(claim) == 0
    assert storage.enqueued_items() == [b'two']
    assert storage.leased_count() == 1


def test_flush_queue_empties_claim_lists(make_storage, redis_client):
    storage = make_storage()
    claim = _strand(storage, redis_client, b'x', time.time())
    storage.flush_queue()
    assert not redis_client.exists(claim, storage.keys.claims)


def test_each_thread_and_each_forked_child_claims_with_its_own_list(make_storage):
    import multiprocessing

    storage = make_storage()
    seen = {storage._claim_key()}
    thread = threading.Thread(target=lambda: seen.add(storage._claim_key()))
    thread.start()
    thread.join()
    assert len(seen) == 2 and storage._claim_key() in seen
    ctx = multiprocessing.get_context('fork')
    queue = ctx.Queue()
    child = ctx.Process(target=lambda: queue.put(storage._claim_key()))
    child.start()
    child_key = queue.get(timeout=10)
    child.join(10)
    assert child_key not in seen
