"""``async def`` task functions: every task feature, run in this process."""

from __future__ import annotations

import asyncio
import threading

import pytest
from huey import TaskException, chord, crontab, group
from huey.signals import SIGNAL_COMPLETE, SIGNAL_EXECUTING, SIGNAL_TIMEOUT
from huey_api.coroutines import run_coroutine, use_loop


def test_an_async_task_is_enqueued_by_a_sync_call_and_run(huey, run_all):
    @huey.task()
    async def add(a, b):
        await asyncio.sleep(0)
        return a + b

    result = add(1, 2)
    assert huey.pending_count() == 1
    run_all(huey)
    assert result.get() == 3


def test_a_pipeline_alternates_async_and_sync_steps(huey, run_all):
    @huey.task()
    async def double(n):
        await asyncio.sleep(0)
        return n * 2

    @huey.task()
    def add(a, b):
        return a + b

    results = huey.enqueue(double.s(1).then(add, 10).then(double).then(add, 1))
    run_all(huey)
    assert results.get() == [2, 12, 24, 25]


def test_a_chord_of_async_members_with_an_async_callback(huey, run_all):
    @huey.task()
    async def square(n):
        await asyncio.sleep(0)
        return n * n

    @huey.task()
    async def total(values, offset):
        return sum(values) + offset

    result = huey.enqueue(chord([square.s(n) for n in range(4)], total.s(offset=100)))
    run_all(huey)
    assert result.get() == 114
    assert huey.enqueue(group([square.s(5), square.s(6)])) is not None
    run_all(huey)


def test_retries_run_the_coroutine_again(huey, run_all):
    attempts = []

    @huey.task(retries=2)
    async def flaky():
        attempts.append(1)
        if len(attempts) < 3:
            raise ValueError('not yet')
        return 'third time'

    result = flaky()
    run_all(huey)
    assert len(attempts) == 3
    assert result.get() == 'third time'


def test_a_timeout_cancels_the_coroutine_on_its_loop(huey, run_all):
    events = []
    huey.signal(SIGNAL_TIMEOUT)(lambda signal, task, *args: events.append(signal))

    @huey.task(timeout=0.05)
    async def overruns():
        try:
            await asyncio.sleep(30)
        finally:
            events.append('cleaned up')

    result = overruns()
    run_all(huey)
    with pytest.raises(TaskException) as info:
        result.get()
    assert 'TaskTimeout' in info.value.metadata['error']
    assert events == ['cleaned up', SIGNAL_TIMEOUT]


def test_a_timeout_error_of_the_task_itself_is_its_error(huey, run_all):
    @huey.task(timeout=10)
    async def fails():
        raise TimeoutError('upstream timed out')

    result = fails()
    run_all(huey)
    with pytest.raises(TaskException) as info:
        result.get()
    assert 'upstream timed out' in info.value.metadata['error']
    assert 'TaskTimeout' not in info.value.metadata['error']


def test_signals_are_sent_around_the_coroutine(huey, run_all):
    seen = []
    huey.signal(SIGNAL_EXECUTING, SIGNAL_COMPLETE)(lambda signal, task: seen.append(signal))

    @huey.task()
    async def work():
        seen.append('ran')

    work()
    run_all(huey)
    assert seen == [SIGNAL_EXECUTING, 'ran', SIGNAL_COMPLETE]


def test_a_lock_is_held_while_the_coroutine_runs(huey, run_all):
    held = []

    @huey.task()
    @huey.lock_task('exclusive')
    async def locked():
        await asyncio.sleep(0)
        held.append(huey.is_locked('exclusive'))

    locked()
    run_all(huey)
    assert held == [True]
    assert not huey.is_locked('exclusive')


def test_a_context_task_awaits_inside_its_context(huey, run_all):
    class Resource:
        state = 'closed'

        def __enter__(self):
            self.state = 'open'
            return self

        def __exit__(self, *exc):
            self.state = 'closed'

    resource = Resource()

    @huey.context_task(resource, as_argument=True)
    async def use(res, n):
        await asyncio.sleep(0)
        return res.state, n

    result = use(7)
    run_all(huey)
    assert result.get() == ('open', 7)
    assert resource.state == 'closed'


def test_an_async_periodic_task_runs(huey, run_all):
    ran = []

    @huey.periodic_task(crontab(minute='*'))
    async def tick():
        await asyncio.sleep(0)
        ran.append('tick')

    assert [task.name for task in huey.enqueue_periodic()] == [tick.name]
    run_all(huey)
    assert ran == ['tick']


def test_each_thread_keeps_its_own_loop_between_tasks(huey, run_all):
    @huey.task()
    async def loop_id():
        return id(asyncio.get_running_loop())

    first, second = loop_id(), loop_id()
    run_all(huey)
    assert first.get() == second.get()  # loop-bound clients survive between tasks

    third = loop_id()
    other = threading.Thread(target=run_all, args=(huey,))
    other.start()
    other.join()
    assert third.get() != first.get()


def test_immediate_mode_inside_a_running_loop(huey):
    huey.immediate = True

    @huey.task()
    async def double(n):
        await asyncio.sleep(0)
        return n * 2

    async def view():
        eager = double(2).get()  # its coroutine runs on a helper thread's loop
        awaited = await (await double.aio(3))
        return eager, awaited

    assert asyncio.run(view()) == (4, 6)


def test_run_coroutine_returns_the_value_and_raises_the_error():
    async def value():
        return 'v'

    async def error():
        raise KeyError('k')

    assert run_coroutine(value()) == 'v'
    with pytest.raises(KeyError):
        run_coroutine(error())


def test_a_coroutine_that_ends_cancelled_is_a_task_error(huey, run_all):
    @huey.task()
    async def gives_up():
        asyncio.current_task().cancel()
        await asyncio.sleep(1)

    result = gives_up()
    assert run_all(huey) == 1  # the worker carries on
    with pytest.raises(TaskException, match='coroutine was cancelled'):
        result.get()


def test_a_closed_shared_loop_ends_the_run_without_a_task_error():
    loop = asyncio.new_event_loop()
    loop.close()

    async def never():
        raise AssertionError('must not run')

    use_loop(loop)
    try:
        with pytest.raises(asyncio.CancelledError):
            run_coroutine(never())
    finally:
        use_loop(None)


def test_coroutines_on_one_loop_release_only_their_own_lock(huey):
    """A lock that expired under its first holder and was taken by a second
    coroutine of the same loop stays the second's when the first exits."""
    lock = huey.lock_task('shared', ttl=0.05)
    seen = []

    async def first(events):
        with lock:
            await events['taken'].wait()
        events['first done'].set()

    async def second(events):
        while huey.is_locked('shared'):  # until the first holder's lock expires
            await asyncio.sleep(0.01)
        with lock:
            events['taken'].set()
            await events['first done'].wait()
            seen.append(huey.is_locked('shared'))

    async def main():
        events = {'taken': asyncio.Event(), 'first done': asyncio.Event()}
        await asyncio.wait_for(asyncio.gather(first(events), second(events)), 10)

    asyncio.run(main())
    assert seen == [True]
    assert not huey.is_locked('shared')
