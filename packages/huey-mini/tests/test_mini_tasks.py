"""Immediate tasks, results and errors (gevent, no monkey-patching)."""

from __future__ import annotations

import logging
import traceback

import gevent
import huey_mini
import pytest
from gevent.event import Event
from huey_mini import MiniHuey, MiniResult, MiniTask, ResultTimeout, crontab


def test_fetch_url_style_task_runs_in_a_greenlet_and_get_waits(make_mini):
    mini = make_mini()
    seen = []

    @mini.task()
    def fetch_url(url):
        gevent.sleep(0.01)
        seen.append(gevent.getcurrent())
        return f'<html>{url}</html>'

    result = fetch_url('https://google.com/')
    assert isinstance(result, MiniResult)
    assert not result.ready()  # nothing ran yet: the caller has not yielded
    assert result.get() == '<html>https://google.com/</html>'
    assert result.ready()
    assert seen and seen[0] is not gevent.getcurrent()


def test_immediate_tasks_run_without_starting_the_scheduler(make_mini):
    mini = make_mini()

    @mini.task()
    def add(a, b=0):
        return a + b

    assert not mini.running
    assert add(1, b=2).get(timeout=5) == 3


def test_result_is_callable_and_non_blocking_get_returns_none_while_pending(make_mini):
    mini = make_mini()
    gate = Event()

    @mini.task()
    def gated():
        gate.wait()
        return 'open'

    result = gated()
    assert result.get(blocking=False) is None
    assert result(blocking=False) is None
    gate.set()
    assert result() == 'open'
    assert result.get(blocking=False) == 'open'
    assert 'done' in repr(result) and result.task_name == 'gated'


def test_get_with_timeout_raises_result_timeout_and_can_wait_again(make_mini):
    mini = make_mini()
    gate = Event()

    @mini.task()
    def gated():
        gate.wait()
        return 42

    result = gated()
    with pytest.raises(ResultTimeout, match=r'task gated \(\w+\) did not finish within 0.05'):
        result.get(timeout=0.05)
    assert isinstance(ResultTimeout('x'), TimeoutError)
    assert 'pending' in repr(result)
    gate.set()
    assert result.get(timeout=5) == 42


def test_get_reraises_the_task_exception_with_its_traceback(make_mini, caplog):
    mini = make_mini()

    class Boom(Exception):
        pass

    @mini.task()
    def explode(value):
        raise Boom(f'bad {value}')

    result = explode(7)
    with caplog.at_level(logging.ERROR, logger='huey_mini'):
        with pytest.raises(Boom, match='bad 7') as info:
            result.get(timeout=5)
    assert 'explode' in ''.join(traceback.format_tb(info.value.__traceback__))
    assert isinstance(result.exception, Boom)
    with pytest.raises(Boom):
        result()  # every read re-raises
    assert 'failed' in repr(result)
    assert any(
        'explode' in r.getMessage() and r.name.startswith('huey_mini') for r in caplog.records
    )


def test_many_tasks_run_concurrently_without_a_pool_limit(make_mini):
    mini = make_mini()
    active, peak = [0], [0]

    @mini.task()
    def sleeper():
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        gevent.sleep(0.02)
        active[0] -= 1

    results = [sleeper() for _ in range(4)]
    for result in results:
        result.get(timeout=5)
    assert peak[0] == 4


def test_pool_size_two_runs_at_most_two_of_four_sleeping_tasks_at_once(make_mini):
    mini = make_mini(pool_size=2)
    active, peak, done = [0], [0], []

    @mini.task()
    def sleeper(index):
        active[0] += 1
        peak[0] = max(peak[0], active[0])
        gevent.sleep(0.02)
        active[0] -= 1
        done.append(index)
        return index

    results = [sleeper(i) for i in range(4)]  # never blocks the caller
    assert [r.get(timeout=5) for r in results] == [0, 1, 2, 3]
    assert peak[0] == 2
    assert sorted(done) == [0, 1, 2, 3]


def test_failing_tasks_release_their_pool_slot(make_mini):
    mini = make_mini(pool_size=1)

    @mini.task()
    def fail():
        raise RuntimeError('no')

    @mini.task()
    def ok():
        return 'ok'

    failures = [fail() for _ in range(3)]
    assert ok().get(timeout=5) == 'ok'
    assert all(isinstance(f.exception, RuntimeError) for f in failures)


def test_task_wrapper_keeps_the_function_metadata(make_mini):
    mini = make_mini(name='app')

    @mini.task()
    def documented(x):
        """Doubles x."""
        return 2 * x

    assert isinstance(documented, MiniTask)
    assert documented.__name__ == 'documented' and documented.__doc__ == 'Doubles x.'
    assert documented.name == 'documented' and not documented.periodic
    assert documented.call_local(4) == 8
    assert repr(documented) == "<MiniTask documented (task) of 'app'>"


def test_constructor_and_decorator_reject_bad_arguments():
    with pytest.raises(ValueError, match=r'MiniHuey\(interval=0\): interval must be seconds > 0'):
        MiniHuey(interval=0)
    with pytest.raises(ValueError, match=r'pool_size must be an int >= 1'):
        MiniHuey(pool_size=0)
    with pytest.raises(ValueError, match=r'pool_size must be an int >= 1'):
        MiniHuey(pool_size=2.5)
    with pytest.raises(ValueError, match='the validator must be a callable'):
        MiniHuey().task('*/5')


def test_package_exports_minihuey_and_crontab():
    assert set(huey_mini.__all__) >= {'MiniHuey', 'crontab'}
    from huey_crontab import crontab as original

    assert crontab is original
