"""Result and ResultGroup."""

from __future__ import annotations

import threading

import pytest
from huey import ResultGroup, ResultTimeout, TaskException


@pytest.fixture
def add(huey):
    @huey.task()
    def add(a, b):
        return a + b

    return add


def test_get_pops_from_store_and_caches(huey, add, run_all):
    result = add(1, 2)
    run_all(huey)
    assert huey.result_count() == 1
    assert result.get() == 3
    assert huey.result_count() == 0
    assert result() == 3  # cached on the Result
    result.reset()
    assert result() is None


def test_preserve_leaves_value_in_store(huey, add, run_all):
    result = add(1, 2)
    run_all(huey)
    assert result.get(preserve=True) == 3
    assert huey.result_count() == 1
    assert huey.result(result.id) == 3
    assert huey.result(result.id) is None


def test_blocking_get_times_out(huey, add):
    result = add(1, 2)
    with pytest.raises(ResultTimeout, match=result.id):
        result.get(blocking=True, timeout=0.05)


def test_blocking_get_revoke_on_timeout(huey, add):
    result = add(1, 2)
    with pytest.raises(ResultTimeout):
        result.get(blocking=True, timeout=0.01, revoke_on_timeout=True)
    assert result.is_revoked()


def test_blocking_get_waits_for_another_thread(huey, add):
    result = add(5, 5)

    def consumer():
        huey.execute_delivery(huey.reserve())

    thread = threading.Thread(target=consumer)
    thread.start()
    try:
        assert result.get(blocking=True, timeout=10) == 10
    finally:
        thread.join()


def test_error_result_raises_task_exception_each_time(huey, run_all):
    @huey.task()
    def fail():
        raise ValueError('bad value 42')

    result = fail()
    run_all(huey)
    for _ in range(2):
        with pytest.raises(TaskException) as info:
            result.get()
    assert str(info.value) == "ValueError('bad value 42')"
    assert info.value.metadata['type'] == 'builtins.ValueError'


def test_unpicklable_return_value_becomes_error(huey, run_all):
    @huey.task()
    def returns_lambda():
        return lambda: None

    result = returns_lambda()
    run_all(huey)
    with pytest.raises(TaskException):
        result()


def test_huey_result_by_id_blocking(huey, add, run_all):
    result = add(2, 2)
    run_all(huey)
    assert huey.result(result.id, blocking=True, timeout=1) == 4


def test_reschedule_revokes_and_enqueues_copy(huey, add, run_all):
    import time

    result = add.schedule((1, 2), delay=60)
    new = result.reschedule(delay=0)
    assert new.id != result.id
    assert result.is_revoked()
    run_all(huey, now=time.time() + 61)
    assert new() == 3 and result() is None


def test_result_group_iteration_indexing_and_as_completed(huey, add, run_all):
    group = add.map([(1, 1), (2, 2), (3, 3)])
    assert isinstance(group, ResultGroup) and len(group) == 3
    run_all(huey)
    assert group[0] == 2 and [r.id for r in group] == [r.id for r in group._results]
    assert sorted(group.as_completed(timeout=5)) == [2, 4, 6]
    assert group() == [2, 4, 6]


def test_as_completed_times_out(huey, add):
    group = add.map([(1, 1)])
    with pytest.raises(ResultTimeout):
        list(group.as_completed(timeout=0.02))


def test_result_repr(huey, add):
    result = add(1, 2)
    assert repr(result) == f'<Result: task {result.id}>'
