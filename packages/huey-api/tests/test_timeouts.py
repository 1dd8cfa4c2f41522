"""Task timeouts: the option on decorators, calls and schedule(), the
cooperative ``check_timeout()``, and the consumer's ``_timeout_handler``."""

from __future__ import annotations

import contextlib
import time

import pytest
from huey import TaskException, TaskTimeout
from huey.signals import SIGNAL_ERROR, SIGNAL_TIMEOUT


def test_timeout_default_and_per_call(huey):
    @huey.task(timeout=5)
    def work():
        pass

    work()
    work(timeout=2)
    work.schedule(delay=-1, timeout=3)
    huey.enqueue(work.s(timeout=0))
    assert [task.timeout for task in huey.pending()] == [5, 2, 3, 0]


def test_check_timeout_raises_once_the_deadline_passed(huey, run_all):
    seen = []
    huey.signal(SIGNAL_TIMEOUT, SIGNAL_ERROR)(lambda signal, task, *a: seen.append(signal))

    @huey.task(timeout=0.001, context=True)
    def slow(task=None):
        assert 0 <= task.time_remaining <= 0.001
        time.sleep(0.01)
        assert task.is_timed_out
        task.check_timeout()
        return 'finished'

    result = slow()
    run_all(huey)
    assert seen == [SIGNAL_TIMEOUT]
    with pytest.raises(TaskException, match='TaskTimeout'):
        result.get()
    assert slow.s().time_remaining == float('inf')  # no deadline until it runs


def test_timeout_handler_wraps_tasks_with_a_timeout(huey, run_all):
    calls = []

    @contextlib.contextmanager
    def handler(seconds):
        calls.append(seconds)
        yield
        raise TaskTimeout(f'timeout {seconds}s')  # as a consumer's alarm would

    huey._timeout_handler = handler

    @huey.task(timeout=7, retries=1)
    def limited():
        return 1

    @huey.task()
    def unlimited():
        return 2

    first, second = limited(), unlimited()
    run_all(huey)
    assert calls == [7, 7]  # the retry ran under it too
    assert second() == 2
    with pytest.raises(TaskException, match='timeout 7s'):
        first()
