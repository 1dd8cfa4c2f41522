"""lock_task and rate_limit."""

from __future__ import annotations

import time

import pytest
from huey import RateLimitExceeded, TaskException, TaskLockedException
from huey.signals import SIGNAL_ERROR, SIGNAL_LOCKED, SIGNAL_RATE_LIMITED


def test_lock_is_exclusive_and_released(huey):
    lock = huey.lock_task('reports')
    with lock:
        assert lock.is_locked()
        with pytest.raises(TaskLockedException, match="'reports'"):
            with huey.lock_task('reports'):
                pass
    assert not lock.is_locked()


def test_lock_released_when_body_raises(huey):
    with pytest.raises(KeyError):
        with huey.lock_task('x'):
            raise KeyError('boom')
    assert not huey.lock_task('x').is_locked()


def test_locked_task_signals_locked_not_error_and_retries(huey, run_all):
    signals, runs = [], []
    huey.signal(SIGNAL_LOCKED, SIGNAL_ERROR)(lambda signal, task, *a: signals.append(signal))

    @huey.task(retries=1)
    @huey.lock_task('one-at-a-time')
    def exclusive():
        runs.append(1)
        return 'ran'

    huey.lock_task('one-at-a-time').acquire()
    result = exclusive()
    huey.execute_delivery(huey.reserve())
    assert signals == [SIGNAL_LOCKED] and runs == []
    assert result.get() is None  # not a failure while a retry is pending
    huey.flush_locks()
    run_all(huey)  # the retry now gets the lock
    assert result() == 'ran' and runs == [1]


def test_locked_task_without_retries_fails(huey, run_all):
    @huey.task()
    @huey.lock_task('one-at-a-time')
    def exclusive():
        return 'ran'

    with huey.lock_task('one-at-a-time'):
        assert huey.is_locked('one-at-a-time')
        result = exclusive()
        run_all(huey)
    assert not huey.is_locked('one-at-a-time')
    with pytest.raises(TaskException) as info:
        result.get()
    assert 'TaskLockedException' in info.value.metadata['error']


def test_lock_with_ttl_expires(huey):
    lock = huey.lock_task('ttl-lock', ttl=0.01)
    assert lock.acquire()
    import time

    deadline = time.monotonic() + 5
    while not lock.acquire():
        assert time.monotonic() < deadline, 'lock never expired'
        time.sleep(0.01)


def test_rate_limit_allows_limit_per_window(huey, run_all):
    limited = []
    huey.signal(SIGNAL_RATE_LIMITED)(lambda signal, task: limited.append(task.id))

    @huey.task()
    @huey.rate_limit('api', limit=2, per=3600, retry=False)
    def call_api(n):
        return n

    results = [call_api(i) for i in range(3)]
    run_all(huey)
    assert results[0]() == 0 and results[1]() == 1
    with pytest.raises(TaskException):
        results[2]()
    assert limited == [results[2].id]
    with pytest.raises(RateLimitExceeded) as info:
        with huey.rate_limit('api', 2, 3600):
            pass
    assert info.value.key == 'api' and 0 < info.value.delay <= 3600


def test_rate_limited_task_is_retried_when_the_window_resets(huey, run_all):
    @huey.task()
    @huey.rate_limit('api', limit=1, per=3600)
    def call_api(n):
        return n

    first, second = call_api(1), call_api(2)
    run_all(huey)
    assert first() == 1 and second() is None  # retried later: no error stored
    [retry] = huey.scheduled()
    assert retry.id == second.id and retry.retries == 0
    assert retry.eta_ts == pytest.approx(time.time() + 3600, abs=3600)
    huey.rate_limit('api', 1, 3600).reset()
    run_all(huey, now=retry.eta_ts + 1)
    assert second() == 2


def test_rate_limit_validates_arguments(huey):
    with pytest.raises(ValueError, match='limit=-1'):
        huey.rate_limit('api', -1, 1)
    with pytest.raises(ValueError, match='per=0'):
        huey.rate_limit('api', 1, 0)
