"""aget_result / aget_result_group: results awaited without blocking the event loop."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from conftest import REDIS_DB, requires
from huey import MemoryHuey, ResultTimeout, TaskException
from huey.contrib.asyncio import aget_result, aget_result_group
from huey_storage import EmptyData
from huey_storage.testing.services import require_service


@pytest.fixture
def redis_huey():
    requires('huey_storage_redis')
    redis = requires('redis')
    from huey import RedisHuey

    host, port = require_service('redis')
    client = redis.Redis(host=host, port=port, db=REDIS_DB)
    client.flushdb()
    yield RedisHuey('aio', host=host, port=port, db=REDIS_DB, read_timeout=0.1)
    client.flushdb()
    client.close()


def _consume_later(huey, run_all, delay: float) -> threading.Thread:
    """Play the consumer in a thread: run everything queued after ``delay`` seconds."""
    worker = threading.Timer(delay, run_all, args=(huey,))
    worker.start()
    return worker


async def _ticking_while(awaitable) -> tuple[object, int]:
    """Await ``awaitable`` while counting 10 ms ticks of the same event loop."""
    ticks = 0
    done = asyncio.Event()

    async def tick():
        nonlocal ticks
        while not done.is_set():
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.ensure_future(tick())
    try:
        return await awaitable, ticks
    finally:
        done.set()
        await ticker


@pytest.mark.redis
def test_awaits_a_redis_result_while_the_loop_keeps_running(redis_huey, run_all):
    add = redis_huey.task()(lambda a, b: a + b)
    result = add(2, 3)
    worker = _consume_later(redis_huey, run_all, 0.5)

    value, ticks = asyncio.run(_ticking_while(aget_result(result, max_delay=0.1)))

    worker.join()
    assert value == 5
    assert ticks >= 25  # the loop ran all along (about 50 ticks in 0.5 s)
    assert redis_huey.result_count() == 0  # read and removed, as Result.get does


@pytest.mark.redis
def test_on_redis_the_write_wakes_the_waiter_at_once(redis_huey, run_all):
    result = redis_huey.task()(lambda: 'prompt')()
    worker = _consume_later(redis_huey, run_all, 0.5)
    started = time.monotonic()

    # sleeping between looks would look at 0 s, 0.1 s, then only at 10.1 s
    value = asyncio.run(aget_result(result, backoff=100, max_delay=10, timeout=20))

    worker.join()
    assert value == 'prompt'
    assert time.monotonic() - started < 2.0
    channel = redis_huey.storage.keys.channel(result.id)
    assert redis_huey.storage.client.pubsub_numsub(channel) == [(channel.encode(), 0)]


@pytest.mark.redis
def test_preserve_leaves_the_value_for_other_readers(redis_huey, run_all):
    result = redis_huey.task()(lambda: 'kept')()
    run_all(redis_huey)
    assert asyncio.run(aget_result(result, preserve=True)) == 'kept'
    assert redis_huey.result(result.id, preserve=True) == 'kept'


def test_a_stored_none_is_a_result(run_all):
    huey = MemoryHuey('store-none', store_none=True)  # None is not stored by default
    result = huey.task()(lambda: None)()
    run_all(huey)
    assert asyncio.run(aget_result(result, timeout=1)) is None


def test_a_failed_task_raises_task_exception(huey, run_all):
    @huey.task()
    def fail():
        raise ValueError('bad input')

    result = fail()
    run_all(huey)
    with pytest.raises(TaskException) as info:
        asyncio.run(aget_result(result))
    assert 'bad input' in str(info.value)


def test_timeout_raises_result_timeout_naming_the_task(huey):
    result = huey.task()(lambda: 1)()  # never run
    started = time.monotonic()
    with pytest.raises(ResultTimeout, match=f'task {result.id} has no result after 0.3s'):
        asyncio.run(aget_result(result, timeout=0.3))
    assert 0.3 <= time.monotonic() - started < 1.0


def test_a_cancelled_wait_leaves_the_result_readable(huey, run_all):
    result = huey.task()(lambda: 'late')()

    async def give_up():
        waiter = asyncio.ensure_future(aget_result(result))
        await asyncio.sleep(0.05)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter

    asyncio.run(give_up())
    run_all(huey)
    assert result.get() == 'late'


def test_group_values_come_in_order_and_concurrently(huey, run_all):
    square = huey.task()(lambda n: n * n)
    group = square.map(range(5))
    worker = _consume_later(huey, run_all, 0.2)
    assert asyncio.run(aget_result_group(group, max_delay=0.05, timeout=5)) == [0, 1, 4, 9, 16]
    worker.join()


def test_group_failure_cancels_the_other_waits(huey, run_one):
    @huey.task()
    def fail():
        raise KeyError('gone')

    slow = huey.task()(lambda: 'never run')
    failing, pending = fail(), slow()
    run_one(huey)  # only the failing task runs

    async def wait_for_both():
        waits = aget_result_group([failing, pending])
        with pytest.raises(TaskException):
            await asyncio.wait_for(waits, timeout=2)
        return [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]

    assert asyncio.run(wait_for_both()) == []  # nothing left waiting on `pending`


def test_backoff_below_one_is_refused(huey):
    result = huey.task()(lambda: 1)()
    with pytest.raises(ValueError, match='backoff=0.5: must be >= 1'):
        asyncio.run(aget_result(result, backoff=0.5))


@pytest.mark.redis
def test_await_aio_enqueues_on_redis_without_a_thread(redis_huey, run_all):
    add = redis_huey.task()(lambda a, b: a + b)

    async def produce():
        results = [await add.aio(n, 1) for n in range(5)]
        return results, asyncio.get_running_loop()._default_executor

    results, executor = asyncio.run(produce())
    assert executor is None  # every storage call was awaited on the loop
    assert redis_huey.pending_count() == 5
    run_all(redis_huey)
    assert [result.get() for result in results] == [1, 2, 3, 4, 5]


@pytest.mark.redis
def test_a_pipeline_enqueued_with_aenqueue_returns_its_result_group(redis_huey, run_all):
    add = redis_huey.task()(lambda a, b: a + b)

    async def produce():
        return await redis_huey.aenqueue(add.s(1, 2).then(add, 3))

    results = asyncio.run(produce())
    run_all(redis_huey)
    assert results.get() == [3, 6]


@pytest.mark.redis
def test_priorities_hold_for_awaited_enqueues():
    requires('huey_storage_redis')
    from huey import PriorityRedisHuey

    host, port = require_service('redis')
    huey = PriorityRedisHuey('aio-priority', host=host, port=port, db=REDIS_DB)
    try:
        name = huey.task()(lambda n: n)

        async def produce():
            await name.aio(1, priority=1)
            await name.aio(9, priority=9)

        asyncio.run(produce())
        assert [task.args for task in huey.pending()] == [(9,), (1,)]
    finally:
        huey.flush()


@pytest.mark.redis
def test_concurrent_waiters_share_one_subscription(redis_huey, run_all):
    """Hundreds of awaited results hold one pub/sub connection, not one each."""
    requires('redis')
    double = redis_huey.task()(lambda n: n * 2)
    results = [double(n) for n in range(300)]
    subscribed = []

    async def wait_all():
        waits = asyncio.gather(*(result.aget(timeout=20) for result in results))
        while redis_huey.storage.client.pubsub_numsub(_channel(redis_huey, results[-1]))[0][1] < 1:
            await asyncio.sleep(0.01)
        subscribed.append(_subscribers(redis_huey))
        worker = threading.Thread(target=run_all, args=(redis_huey,))
        worker.start()
        values = await waits
        worker.join()
        return values

    assert asyncio.run(wait_all()) == [n * 2 for n in range(300)]
    assert subscribed == [1]


def _channel(huey, result) -> str:
    return huey.storage.keys.channel(result.id)


def _subscribers(huey) -> int:
    """Connections of this db holding a subscription."""
    clients = huey.storage.client.client_list()
    return sum(1 for c in clients if int(c['db']) == REDIS_DB and int(c.get('sub', 0)) > 0)


def test_sqlite_results_are_awaited_through_its_own_wait(tmp_path, run_all):
    requires('huey_storage_sqlite')
    from huey import SqliteHuey

    huey = SqliteHuey('aio-sqlite', filename=str(tmp_path / 'huey.db'))
    add = huey.task()(lambda a, b: a + b)

    async def produce_and_wait():
        result = await add.aio(2, 3)
        worker = _consume_later(huey, run_all, 0.2)
        value = await result
        worker.join()
        return value

    assert asyncio.run(produce_and_wait()) == 5


@pytest.mark.redis
def test_a_waiter_cancelled_mid_read_leaves_the_value_on_the_result(redis_huey, run_all):
    result = redis_huey.task()(lambda: 'kept')()
    run_all(redis_huey)

    async def cancel_during_the_read():
        waiter = asyncio.ensure_future(aget_result(result))
        await asyncio.sleep(0)  # the read (GETDEL) is sent
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        await asyncio.wait_for(_kept(), 10)  # the shielded read lands

    async def _kept():
        while result._value is EmptyData:  # not yet on the handle
            await asyncio.sleep(0.01)

    asyncio.run(cancel_during_the_read())
    assert redis_huey.result_count() == 0  # taken out of the store...
    assert result.get() == 'kept'  # ...and kept on the Result


@pytest.mark.redis
def test_signed_messages_and_results_round_trip_through_the_async_path(run_all):
    requires('huey_storage_redis')
    from huey import RedisHuey

    host, port = require_service('redis')
    huey = RedisHuey('aio-signed', host=host, port=port, db=REDIS_DB, signing_key=b'k' * 32)
    try:
        add = huey.task()(lambda a, b: a + b)

        async def produce():
            return await add.aio(2, 3)

        result = asyncio.run(produce())
        assert run_all(huey) == 1  # the consumer side accepts the awaited enqueue's signature
        assert asyncio.run(result.aget(timeout=5)) == 5
    finally:
        huey.flush()
