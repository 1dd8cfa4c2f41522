"""``RedisStorage.async_access()``: the asyncio client writes what the
synchronous storage writes, and waits without polling."""

from __future__ import annotations

import asyncio

import redis
from conftest import wait_for
from huey_storage import EmptyData
from huey_storage_redis import PriorityRedisStorage


def test_awaited_enqueues_are_leased_by_the_sync_storage(make_storage):
    storage = make_storage()

    async def produce():
        access = storage.async_access()
        await access.enqueue(b'one')
        await access.enqueue_many([(b'two', None), (b'three', None)])

    asyncio.run(produce())
    assert [storage.dequeue() for _ in range(3)] == [b'one', b'two', b'three']


def test_priorities_and_a_server_that_lost_its_scripts(make_storage, redis_client):
    storage = make_storage(PriorityRedisStorage)
    redis_client.script_flush()  # a new or restarted server

    async def produce():
        access = storage.async_access()
        await access.enqueue(b'low', 1)
        await access.enqueue(b'high', 9)

    asyncio.run(produce())
    assert [storage.dequeue(), storage.dequeue()] == [b'high', b'low']


def test_peek_and_pop_read_what_put_data_stored(make_storage):
    storage = make_storage()
    storage.put_data('k', b'value')

    async def read():
        access = storage.async_access()
        return await access.peek_data('k'), await access.pop_data('k'), await access.pop_data('k')

    assert asyncio.run(read()) == (b'value', b'value', EmptyData)
    assert storage.peek_data('k') is EmptyData


def test_a_write_wakes_the_waiters_and_a_timeout_ends_a_wait(make_storage):
    storage = make_storage()

    async def wait():
        access = storage.async_access()
        waiters = [asyncio.ensure_future(access.wait_data('k', 10)) for _ in range(3)]
        other = asyncio.ensure_future(access.wait_data('other', 0.2))
        while storage.client.pubsub_numsub(storage.keys.channel('k'))[0][1] < 1:
            await asyncio.sleep(0.01)
        storage.put_data('k', b'v')  # the synchronous storage writes
        return await asyncio.gather(*waiters), await other

    assert asyncio.run(wait()) == ([True, True, True], False)


def test_a_value_stored_before_the_wait_is_seen_at_once(make_storage):
    storage = make_storage()
    storage.put_data('k', b'v')

    async def wait():
        return await storage.async_access().wait_data('k', 10)

    assert asyncio.run(wait()) is True


def test_waiters_share_one_pub_sub_connection_and_leave_no_subscription(make_storage, redis_params):
    storage = make_storage()
    channels = [storage.keys.channel(f'k{n}') for n in range(100)]

    async def wait():
        access = storage.async_access()
        waits = [asyncio.ensure_future(access.wait_data(f'k{n}', 10)) for n in range(100)]
        while storage.client.pubsub_numsub(channels[-1])[0][1] < 1:
            await asyncio.sleep(0.01)
        subscribers = _subscribed_connections(redis_params)
        for n in range(100):
            storage.put_data(f'k{n}', b'v')
        return await asyncio.gather(*waits), subscribers

    woken, subscribers = asyncio.run(wait())
    assert woken == [True] * 100
    assert subscribers == 1
    # the unsubscribes were sent on another connection: the server may read
    # this test's next command first
    wait_for(
        lambda: all(count == 0 for _, count in storage.client.pubsub_numsub(*channels)),
        message='every channel unsubscribed',
    )


def test_each_event_loop_gets_its_own_access(make_storage):
    storage = make_storage()

    async def access():
        return storage.async_access()

    first, second = asyncio.run(access()), asyncio.run(access())
    assert first is not second


def _subscribed_connections(params: dict) -> int:
    """Connections to the test db holding a subscription."""
    client = redis.Redis(**params)
    try:
        return sum(
            1
            for c in client.client_list()
            if int(c['db']) == params['db'] and int(c.get('sub', 0)) > 0
        )
    finally:
        client.close()
