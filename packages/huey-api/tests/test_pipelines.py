"""Pipelines: then(), error(), argument passing between steps."""

from __future__ import annotations

import pytest
from huey import MemoryHuey, ResultGroup, TaskException


def test_non_tuple_result_is_appended_to_next_args(huey, run_all):
    @huey.task()
    def sub(a, b):
        return a - b

    group = huey.enqueue(sub.s(10, 1).then(sub, 3))
    run_all(huey)
    assert group.get() == [9, 3 - 9]


def test_dict_result_fills_next_kwargs_given_values_win(huey, run_all):
    @huey.task()
    def produce():
        return {'x': 1, 'y': 2}

    @huey.task()
    def consume(z, x=0, y=0):
        return (x, y, z)

    group = huey.enqueue(produce.s().then(consume, 10, x=5))
    run_all(huey)
    assert group.get() == [{'x': 1, 'y': 2}, (5, 2, 10)]


def test_none_result_adds_no_argument(huey, run_all):
    @huey.task()
    def nothing():
        return None

    @huey.task()
    def count(*args):
        return len(args)

    group = huey.enqueue(nothing.s().then(count, 1))
    run_all(huey)
    assert group.get() == [None, 1]


def test_then_accepts_task_instances(huey, run_all):
    @huey.task()
    def add(a, b):
        return a + b

    pipeline = add.s(1, 1).then(add.s(10))
    group = huey.enqueue(pipeline)
    assert isinstance(group, ResultGroup) and len(group) == 2
    run_all(huey)
    assert group.get() == [2, 12]
    extended = add.s(1, 1).then(add.s(), 2)  # arguments extend a signature's
    assert extended.on_complete.args == (2,)
    with pytest.raises(TypeError, match='pass a task function or a signature'):
        add.s(1, 1).then(len)


def test_failing_step_stops_pipeline_and_runs_error_handler(huey, run_all):
    handled = []

    @huey.task()
    def fail(x):
        raise ValueError(f'step {x}')

    @huey.task()
    def after(x):
        return x

    @huey.task()
    def on_failure(tag, exc):
        handled.append((tag, type(exc).__name__, str(exc)))

    group = huey.enqueue(fail.s(1).error(on_failure, 'tag').then(after))
    run_all(huey)
    assert handled == [('tag', 'ValueError', 'step 1')]
    first, second = group
    with pytest.raises(TaskException):
        first.get()
    with pytest.raises(TaskException) as info:  # the steps that cannot run fail too
        second.get()
    assert info.value.metadata['task_id'] == first.id


def test_error_handler_runs_on_each_failed_attempt(huey, run_all):
    handled = []

    @huey.task(retries=2)
    def fail():
        raise ValueError('x')

    @huey.task()
    def on_failure(exc):
        handled.append(exc)

    huey.enqueue(fail.s().error(on_failure))
    run_all(huey)
    assert len(handled) == 3


def test_error_handler_runs_only_after_last_retry_without_intermediate_errors(run_all):
    huey = MemoryHuey('no-intermediate', store_intermediate_errors=False)
    handled = []

    @huey.task(retries=2)
    def fail():
        raise ValueError('x')

    @huey.task()
    def on_failure(exc):
        handled.append(exc)

    result = huey.enqueue(fail.s().error(on_failure))
    huey.execute_delivery(huey.reserve())
    assert result.get() is None  # no error stored while retries are left
    run_all(huey)
    assert len(handled) == 1
    with pytest.raises(TaskException) as info:
        result.get()
    assert info.value.metadata['retries'] == 0


def test_pipeline_in_immediate_mode(huey):
    huey.immediate = True

    @huey.task()
    def add(a, b):
        return a + b

    assert huey.enqueue(add.s(1, 2).then(add, 3).then(add, 4)).get() == [3, 6, 10]
