"""Immediate mode: tasks run at call time, in memory by default."""

from __future__ import annotations

import pytest
from huey import MemoryHuey, TaskException


def test_immediate_swaps_to_fresh_memory_storage_and_back():
    huey = MemoryHuey('app')
    live = huey.storage
    huey.put('k', 'live value')
    huey.immediate = True
    assert huey.storage is not live and huey.get('k', peek=True) is None
    huey.immediate = False
    assert huey.storage is live and huey.get('k') == 'live value'


def test_immediate_use_memory_false_keeps_live_storage():
    huey = MemoryHuey('app', immediate_use_memory=False)
    live = huey.storage
    huey.immediate = True
    assert huey.storage is live

    @huey.task()
    def add(a, b):
        return a + b

    assert add(1, 2)() == 3


def test_constructed_immediate_creates_live_storage_only_when_turned_off():
    huey = MemoryHuey('app', immediate=True)
    memory = huey.storage
    huey.immediate = False
    assert huey.storage is not memory


def test_always_eager_is_a_deprecated_alias():
    with pytest.warns(DeprecationWarning):
        huey = MemoryHuey('app', always_eager=True)
    assert huey.immediate and huey.always_eager


def test_immediate_retries_and_errors():
    huey = MemoryHuey(immediate=True)
    attempts = []

    @huey.task(retries=1)
    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError('first')
        return 'ok'

    assert flaky()() == 'ok' and len(attempts) == 2

    @huey.task()
    def broken():
        raise ValueError('always')

    with pytest.raises(TaskException):
        broken()()


def test_immediate_scheduled_tasks_stay_in_schedule():
    huey = MemoryHuey(immediate=True)

    @huey.task()
    def add(a, b):
        return a + b

    result = add.schedule((4, 5), delay=60)
    assert result() is None and huey.scheduled_count() == 1 and len(huey) == 0
