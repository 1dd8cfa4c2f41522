"""``async def`` tasks run by the real consumer script, on real SQLite and
Redis: a mixed application on every worker type, a prompt stop while a task
awaits, a timeout, and an asyncio web server that enqueues and awaits."""

from __future__ import annotations

import asyncio
import json
import signal
import threading

import pytest
from conftest import FAST, wait_until
from huey_api import TaskException, group

ASYNC_TASKS = """
import asyncio

@huey.task()
async def double(n):
    await asyncio.sleep(0.01)
    return n * 2

@huey.task()
async def total(values, offset=0):
    await asyncio.sleep(0)
    return sum(values) + offset

@huey.task()
async def loop_id():
    await asyncio.sleep(0)
    return id(asyncio.get_running_loop())

@huey.task()
async def nap_until_cancelled(seconds):
    huey.storage.incr('nap-started')
    try:
        await asyncio.sleep(seconds)
    except asyncio.CancelledError:
        huey.storage.incr('nap-cancelled')
        raise
    return 'slept'

@huey.task(timeout=0.5)
async def overruns():
    await asyncio.sleep(30)
"""


@pytest.fixture
def async_app(make_app):
    return make_app(extra=ASYNC_TASKS)


@pytest.mark.parametrize('worker_type', ['asyncio', 'thread', 'process', 'greenlet'])
def test_a_mixed_app_runs_on_every_worker_type(async_app, start_consumer, worker_type):
    tasks, huey = async_app.module, async_app.huey
    start_consumer(async_app, '-k', worker_type, '-w', '4', *FAST)

    assert tasks.double(21).get(blocking=True, timeout=20) == 42
    assert tasks.add(1, 2).get(blocking=True, timeout=20) == 3
    # a pipeline alternating async and sync steps
    pipeline = tasks.double.s(1).then(tasks.add, 10).then(tasks.double).then(tasks.add, 1)
    assert huey.enqueue(pipeline).get(blocking=True, timeout=20) == [2, 12, 24, 25]
    # a chord of async members with an async callback
    chord = group([tasks.double.s(n) for n in range(5)]).then(tasks.total, offset=100)
    assert huey.enqueue(chord).get(blocking=True, timeout=20) == 120


def test_async_tasks_share_the_consumer_loop(async_app, start_consumer):
    tasks = async_app.module
    start_consumer(async_app, '-k', 'asyncio', '-w', '4', *FAST)
    results = [tasks.loop_id() for _ in range(8)]
    loops = {result.get(blocking=True, timeout=20) for result in results}
    assert len(loops) == 1  # one event loop for every worker of the process


def test_sigterm_cancels_an_awaiting_task_and_requeues_it(async_app, start_consumer):
    tasks, huey = async_app.module, async_app.huey
    # one worker: no idle worker can lease the released message before the stop
    consumer = start_consumer(async_app, '-k', 'asyncio', '-w', '1', '--no-periodic', *FAST)
    result = tasks.nap_until_cancelled(60)
    wait_until(lambda: huey.storage.incr('nap-started', 0) == 1, 20, 'the task to start')

    consumer.send(signal.SIGTERM)
    assert consumer.wait() == 0
    assert huey.storage.incr('nap-cancelled', 0) == 1  # its await was cancelled
    assert huey.pending_count() == 1  # and its message is back in the queue
    assert result.get() is None
    log = consumer.log()
    assert 'it is back in the queue' in log
    assert 'cancelling 1 async tasks still running' in log


def test_an_async_task_times_out_on_its_loop(async_app, start_consumer):
    tasks = async_app.module
    start_consumer(async_app, '-k', 'asyncio', '-w', '2', *FAST)
    result = tasks.overruns()
    with pytest.raises(TaskException) as info:
        result.get(blocking=True, timeout=20)
    assert 'TaskTimeout' in info.value.metadata['error']


@pytest.mark.redis
@pytest.mark.parametrize('backend', ['redis'])
def test_an_asyncio_web_app_enqueues_and_awaits_without_threads(make_app, start_consumer):
    """A plain asyncio HTTP server: each request enqueues with ``await
    task.aio(...)`` and awaits the result; no thread is started for it.

    The Redis address is numeric: asyncio resolves a host name with
    getaddrinfo in its default executor's threads, once per connection."""
    app = make_app(extra=ASYNC_TASKS, host='127.0.0.1')
    tasks = app.module
    start_consumer(app, '-k', 'asyncio', '-w', '8', *FAST)

    async def handle(reader, writer):
        request = (await reader.readline()).decode()
        while (await reader.readline()) not in (b'\r\n', b''):
            pass
        number = int(request.split()[1].strip('/'))
        result = await tasks.double.aio(number)
        body = json.dumps({'value': await result.aget(timeout=20)}).encode()
        writer.write(b'HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n' + body)
        await writer.drain()
        writer.close()

    async def get(port, number):
        reader, writer = await asyncio.open_connection('127.0.0.1', port)
        writer.write(f'GET /{number} HTTP/1.0\r\n\r\n'.encode())
        response = await reader.read()
        writer.close()
        return json.loads(response.split(b'\r\n\r\n', 1)[1])['value']

    async def main():
        server = await asyncio.start_server(handle, '127.0.0.1', 0)
        port = server.sockets[0].getsockname()[1]
        threads = threading.active_count()
        async with server:
            values = await asyncio.gather(*(get(port, n) for n in range(50)))
        loop = asyncio.get_running_loop()
        return values, threading.active_count() - threads, loop._default_executor

    values, new_threads, executor = asyncio.run(main())
    assert values == [n * 2 for n in range(50)]
    assert new_threads == 0
    assert executor is None  # nothing was offloaded to a thread
