"""The asyncio worker type in process: one event loop runs the async tasks of
every worker at once; sync tasks stay off the loop; a prompt stop cancels."""

from __future__ import annotations

import asyncio
import threading

import pytest
from helpers import wait_for
from huey_api import TaskException
from huey_consumer import AsyncioEnvironment, ConsumerConfig


def test_the_worker_type_is_registered():
    assert ConsumerConfig(worker_type='asyncio').validate().worker_type == 'asyncio'


def test_n_async_tasks_run_at_once_on_one_loop(huey, start_consumer):
    started, loops = [], set()
    gate: dict = {}  # its Event is made on the consumer's loop

    @huey.task()
    async def meet(n):
        loop = asyncio.get_running_loop()
        loops.add(loop)
        if 'event' not in gate:
            gate['event'] = asyncio.Event()
        started.append(n)
        if len(started) == 10:
            gate['event'].set()
        await asyncio.wait_for(gate['event'].wait(), 10)  # only if all 10 run together
        return threading.current_thread().name

    consumer = start_consumer(huey, workers=10, worker_type='asyncio')
    results = [meet(n) for n in range(10)]
    threads = {result.get(blocking=True, timeout=15) for result in results}
    assert threads == {'EventLoop'}  # every coroutine ran on the loop's thread
    assert len(loops) == 1
    assert isinstance(consumer.consumer.environment, AsyncioEnvironment)


def test_a_sync_task_runs_in_its_worker_thread_not_on_the_loop(huey, start_consumer):
    @huey.task()
    def where():
        return threading.current_thread().name

    start_consumer(huey, workers=2, worker_type='asyncio')
    assert where().get(blocking=True, timeout=10).startswith('Worker-')


def test_a_prompt_stop_cancels_the_awaiting_task_and_releases_it(huey, start_consumer):
    events = []

    @huey.task()
    async def sleeper():
        events.append('started')
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            events.append('cancelled')
            raise

    consumer = start_consumer(huey, workers=1, worker_type='asyncio', periodic=False)
    sleeper()
    wait_for(lambda: events == ['started'], message='the task to start')
    consumer.stop(graceful=False)
    assert events == ['started', 'cancelled']
    assert huey.pending_count() == 1  # back in the queue
    assert huey.storage.leased_count() == 0


def test_a_graceful_stop_lets_the_coroutine_finish(huey, start_consumer):
    running = threading.Event()

    @huey.task()
    async def short():
        running.set()
        await asyncio.sleep(0.2)
        return 'finished'

    consumer = start_consumer(huey, workers=1, worker_type='asyncio')
    result = short()
    assert running.wait(10)
    consumer.stop(graceful=True)
    assert result.get() == 'finished'
    assert not consumer.consumer.environment._thread.is_alive()  # the loop stopped too


def test_a_coroutine_cancelled_by_itself_fails_its_task_not_the_worker(huey, start_consumer):
    @huey.task()
    async def gives_up():
        asyncio.current_task().cancel()
        await asyncio.sleep(1)

    @huey.task()
    async def after():
        return 'still working'

    start_consumer(huey, workers=1, worker_type='asyncio')
    failed = gives_up()
    assert after().get(blocking=True, timeout=10) == 'still working'
    with pytest.raises(TaskException, match='coroutine was cancelled'):
        failed.get(blocking=True, timeout=10)
