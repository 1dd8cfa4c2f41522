"""RedisSemaphore and lock_task_semaphore on a real Redis (db 2, flushed after each test)."""

from __future__ import annotations

import sys
import threading
import time

import pytest
from conftest import REDIS_DB, requires
from huey import ConfigurationError, MemoryHuey, TaskLockedException
from huey.contrib.helpers import RedisSemaphore, lock_task_semaphore
from huey.signals import SIGNAL_LOCKED
from huey_storage.testing.services import require_service

pytestmark = pytest.mark.redis


@pytest.fixture
def redis_huey():
    requires('huey_storage_redis')
    redis = requires('redis')
    from huey import RedisHuey

    host, port = require_service('redis')
    client = redis.Redis(host=host, port=port, db=REDIS_DB)
    client.flushdb()
    instance = RedisHuey('semaphores', host=host, port=port, db=REDIS_DB, read_timeout=0.1)
    yield instance
    client.flushdb()
    client.close()


def _wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f'condition not met within {timeout}s')
        time.sleep(0.01)


def test_value_slots_then_none_until_a_release(redis_huey):
    semaphore = RedisSemaphore(redis_huey, 'api', 2)
    first, second = semaphore.acquire(), semaphore.acquire()
    assert first and second and first != second
    assert semaphore.acquire() is None
    assert semaphore.acquire(first) == first  # a holder acquiring again keeps its slot
    assert semaphore.release(second) is True
    assert semaphore.release(second) is False
    assert semaphore.acquire('mine') == 'mine'
    assert semaphore.acquire() is None
    assert redis_huey.storage.client.zcard(semaphore.key) == 2


def test_semaphores_of_other_names_and_hueys_are_independent(redis_huey):
    from huey import RedisHuey

    other_app = RedisHuey('other-app', **redis_huey.storage_kwargs)
    assert RedisSemaphore(redis_huey, 'a', 1).acquire() is not None
    assert RedisSemaphore(redis_huey, 'b', 1).acquire() is not None
    assert RedisSemaphore(other_app, 'a', 1).acquire() is not None
    assert RedisSemaphore(redis_huey, 'a', 1).acquire() is None


def test_concurrent_acquirers_never_exceed_the_value(redis_huey):
    from huey import RedisHuey

    # every thread has its own huey, so its own connections: real concurrency on the server
    hueys = [RedisHuey('semaphores', **redis_huey.storage_kwargs) for _ in range(24)]
    barrier = threading.Barrier(len(hueys))
    won = []

    def contend(huey):
        semaphore = RedisSemaphore(huey, 'pool', 5)
        barrier.wait()
        holder = semaphore.acquire()
        if holder is not None:
            won.append(holder)

    threads = [threading.Thread(target=contend, args=(huey,)) for huey in hueys]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(won) == 5
    assert redis_huey.storage.client.zcard(RedisSemaphore(redis_huey, 'pool', 5).key) == 5


def test_an_unrenewed_slot_expires_and_cannot_be_renewed_back(redis_huey):
    semaphore = RedisSemaphore(redis_huey, 'short', 1, timeout=0.2)
    stale = semaphore.acquire()
    assert semaphore.renew(stale) is True
    assert semaphore.acquire() is None
    _wait_until(lambda: semaphore.acquire('fresh') == 'fresh')
    assert semaphore.renew(stale) is False
    assert semaphore.renew('fresh') is True
    # the key itself goes once its last holder's deadline passes
    _wait_until(lambda: not redis_huey.storage.client.exists(semaphore.key))


def test_lock_task_semaphore_renews_the_slot_while_the_call_runs(redis_huey):
    started, finish = threading.Event(), threading.Event()

    @lock_task_semaphore(redis_huey, 'report', 1, timeout=0.3)
    def report():
        started.set()
        finish.wait(5)
        return 'done'

    outcome = {}
    runner = threading.Thread(target=lambda: outcome.update(value=report()))
    runner.start()
    assert started.wait(5)
    time.sleep(0.6)  # twice the timeout: only renewal keeps the slot
    with pytest.raises(TaskLockedException, match="semaphore 'report'"):
        report()
    finish.set()
    runner.join(5)
    assert outcome == {'value': 'done'}
    assert RedisSemaphore(redis_huey, 'report', 1).acquire() is not None  # released


def test_lock_task_semaphore_frees_the_slot_when_the_call_raises(redis_huey):
    @lock_task_semaphore(redis_huey, 'flaky', 1)
    def flaky():
        raise RuntimeError('boom')

    for _ in range(3):  # the slot comes back each time
        with pytest.raises(RuntimeError):
            flaky()


def test_a_task_finding_every_slot_taken_is_retried(redis_huey, run_one):
    calls = []

    @redis_huey.task(retries=1)
    @lock_task_semaphore(redis_huey, 'exports', 1)
    def export(n):
        calls.append(n)
        return n

    locked = []
    redis_huey.signal(SIGNAL_LOCKED)(lambda signal, task, *args: locked.append(task.id))
    other = RedisSemaphore(redis_huey, 'exports', 1)
    holder = other.acquire()
    result = export(7)

    run_one(redis_huey)
    assert calls == [] and locked == [result.id]
    assert redis_huey.pending_count() == 1  # retried, one retry consumed

    other.release(holder)
    run_one(redis_huey)
    assert calls == [7]
    assert result.get() == 7


def test_a_non_redis_storage_fails_on_first_use():
    requires('huey_storage_redis')
    semaphore = RedisSemaphore(MemoryHuey('memory-app'), 'api', 2)  # building it is fine
    with pytest.raises(ConfigurationError, match=r'needs a Redis storage.*uses MemoryStorage'):
        semaphore.acquire()


@pytest.mark.parametrize(
    'options, message',
    [
        ({'value': 0}, 'value must be an int >= 1'),
        ({'value': 1.5}, 'value must be an int >= 1'),
        ({'timeout': 0}, 'timeout must be > 0 seconds'),
    ],
)
def test_bad_options_name_the_value(options, message):
    with pytest.raises(ValueError, match=message):
        RedisSemaphore(MemoryHuey('memory-app'), 'api', **options)


def test_missing_redis_distribution_is_named(monkeypatch):
    monkeypatch.setitem(sys.modules, 'huey_storage_redis', None)
    with pytest.raises(ImportError) as info:
        RedisSemaphore(MemoryHuey('memory-app'), 'api')
    assert str(info.value) == (
        'RedisSemaphore needs the huey-storage-redis distribution: pip install huey-storage-redis'
    )
