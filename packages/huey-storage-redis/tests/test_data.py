"""Redis-specific data behaviour: key layout, isolation, expiring results, wait_data."""

from __future__ import annotations

import threading
import time

import pytest
from conftest import counting_pool, wait_for
from huey_storage import EmptyData
from huey_storage_redis import PriorityRedisExpireStorage, RedisExpireStorage, RedisStorage
from huey_storage_redis.data import WAIT_RECHECK_INTERVAL

pytestmark = pytest.mark.redis


def _fill(storage) -> None:
    storage.enqueue(b'q')
    storage.enqueue(b'leased')
    storage.lease(60)
    storage.add_to_schedule(b's', time.time() + 60)
    storage.put_data('plain', b'p')
    storage.put_data('result', b'r', is_result=True)
    storage.put_if_empty('lock', b'1', ttl=60)
    storage.incr('counter')
    storage.add_dead_letter(b'd', 'why')


def test_every_key_is_under_the_storage_prefix(make_storage, redis_client):
    storage = make_storage(name='layout')
    _fill(storage)
    keys = {key.decode() for key in redis_client.keys('*')}
    assert all(key.startswith('huey.{layout}.') for key in keys), keys
    assert {
        'huey.{layout}.queue',
        'huey.{layout}.leases',
        'huey.{layout}.lease_deadlines',
        'huey.{layout}.schedule',
        'huey.{layout}.kv.plain',
        'huey.{layout}.kv.result',
        'huey.{layout}.kv.lock',
        'huey.{layout}.counter.counter',
        'huey.{layout}.dead_letters',
    } <= keys
    assert redis_client.type('huey.{layout}.queue') == b'list'
    storage.flush_all()
    assert redis_client.keys('*') == []


@pytest.mark.parametrize('other_name', ['app.kv', 'app}.kv.{x', 'ap*', 'a?p', '[app]', 'app\\'])
def test_names_that_look_like_prefixes_or_globs_stay_isolated(make_storage, other_name):
    storage = make_storage(name='app')
    other = make_storage(name=other_name)
    _fill(storage)
    _fill(other)
    other.flush_all()
    assert other.queue_size() == 0 and other.peek_data('lock') is EmptyData
    assert storage.queue_size() == 1 and storage.leased_count() == 1
    assert storage.incr('counter', 0) == 1
    assert storage.peek_data('queue') is EmptyData
    storage.flush_data()
    _fill(other)
    storage.flush_all()
    assert other.peek_data('plain') == b'p' and other.result_store_size() == 3


@pytest.mark.parametrize('cls', [RedisExpireStorage, PriorityRedisExpireStorage])
def test_expire_storage_puts_a_ttl_on_results_only(make_storage, redis_client, cls):
    storage = make_storage(cls, expire_time=120)
    storage.put_data('result', b'r', is_result=True)
    storage.put_data('plain', b'p')
    storage.enqueue(b'task')
    storage.ack(storage.lease(60).receipt, result=('acked', b'a'))
    for key in ('result', 'acked'):
        assert 0 < redis_client.pttl(storage.keys.data(key)) <= 120_000
    assert redis_client.pttl(storage.keys.data('plain')) == -1
    storage.put_data('result', b'plain now')  # a non-result write drops the TTL
    assert redis_client.pttl(storage.keys.data('result')) == -1
    assert storage.result_items() == {'acked': b'a', 'plain': b'p', 'result': b'plain now'}


def test_expired_results_disappear_everywhere(make_storage):
    storage = make_storage(RedisExpireStorage, expire_time=0.2)
    storage.put_data('short', b'1', is_result=True)
    storage.put_data('plain', b'p')
    assert storage.result_store_size() == 2
    wait_for(lambda: storage.peek_data('short') is EmptyData, message='result expiring')
    assert storage.result_items() == {'plain': b'p'}
    assert storage.result_store_size() == 1


def test_expire_storage_counters_expire(make_storage, redis_client):
    storage = make_storage(RedisExpireStorage, expire_time=120)
    assert storage.incr('c') == 1
    assert 0 < redis_client.pttl(storage.counter_key('c')) <= 120_000
    assert storage.incr('c', ttl=5) == 2  # an existing counter keeps its expiry
    assert redis_client.pttl(storage.counter_key('c')) > 5_000


def test_expire_time_must_be_positive(make_storage):
    with pytest.raises(ValueError, match='expire_time'):
        make_storage(RedisExpireStorage, expire_time=0)
    assert make_storage(RedisExpireStorage).expire_time == 86400


def test_plain_storage_results_never_expire(make_storage, redis_client):
    storage = make_storage(RedisStorage)
    storage.put_data('r', b'1', is_result=True)
    assert redis_client.pttl(storage.keys.data('r')) == -1


def test_ttl_must_be_positive(make_storage):
    storage = make_storage()
    with pytest.raises(ValueError, match='ttl'):
        storage.put_if_empty('k', b'v', ttl=0)
    with pytest.raises(ValueError, match='ttl'):
        storage.incr('k', ttl=-1)


def _subscribed(redis_client, storage, key) -> bool:
    return (
        dict(redis_client.pubsub_numsub(storage.keys.channel(key)))[
            storage.keys.channel(key).encode()
        ]
        > 0
    )


@pytest.mark.parametrize('write', ['put_data', 'ack', 'put_if_empty'])
def test_wait_data_is_woken_by_every_kind_of_write(make_storage, redis_client, write):
    storage = make_storage()
    writer = make_storage(name=storage.name)
    got = []
    waiter = threading.Thread(
        target=lambda: got.append(storage.wait_data('k', timeout=60)), daemon=True
    )
    waiter.start()
    wait_for(lambda: _subscribed(redis_client, storage, 'k'), message='waiter subscribed')
    if write == 'put_data':
        writer.put_data('k', b'1', is_result=True)
    elif write == 'ack':
        writer.enqueue(b'task')
        writer.ack(writer.lease(60).receipt, result=('k', b'1'))
    elif write == 'put_if_empty':
        writer.put_if_empty('k', b'1')
    else:
        writer.incr('k')
    waiter.join(WAIT_RECHECK_INTERVAL - 1)  # woken, not found by the periodic re-read
    assert not waiter.is_alive()
    assert got == [b'1']


def test_wait_data_does_not_poll(make_storage, redis_params):
    pool = counting_pool(redis_params)
    storage = make_storage(connection_pool=pool)
    storage.peek_data('warm-up')
    before = len(pool.connection_class.commands)
    assert storage.wait_data('missing', timeout=1.5) is EmptyData
    sent = pool.connection_class.commands[before:]
    # read, subscribe, read, sleep on the subscription until the timeout, read
    assert sent.count('EVALSHA') <= 3, sent
    assert 'SUBSCRIBE' in sent
    pool.disconnect()


def test_wait_data_with_several_waiters_gives_a_popped_value_once(make_storage, redis_client):
    storage = make_storage()
    got = []
    waiters = [
        threading.Thread(target=lambda: got.append(storage.wait_data('k', timeout=3)), daemon=True)
        for _ in range(3)
    ]
    for waiter in waiters:
        waiter.start()
    wait_for(
        lambda: (
            dict(redis_client.pubsub_numsub(storage.keys.channel('k')))[
                storage.keys.channel('k').encode()
            ]
            == 3
        ),
        message='three waiters subscribed',
    )
    storage.put_data('k', b'once')
    for waiter in waiters:
        waiter.join(10)
        assert not waiter.is_alive()
    assert sorted(got, key=repr) == [EmptyData, EmptyData, b'once']
