"""Prefetch with the real ``huey_consumer.py`` script on Redis: the messages a
worker leased ahead hold their own leases and come back after a SIGKILL
through the lapsed heartbeat; a stop gives them back at once, uncounted; a
long task gives back the messages prefetched behind it, and a short task's
result is not held back by it. ``--prefetch 1`` holds one message at a
time, as before prefetch existed."""

from __future__ import annotations

import functools
import signal
from pathlib import Path

import pytest
from conftest import FAST, built_apps, wait_until

pytestmark = pytest.mark.redis

#: no periodic tasks: only the test's messages are in the queue
ARGS = ['-n', *FAST]
TOTAL = 3000
#: a task short enough to be prefetched (well under SLOW_TASK)
EXTRA = """
@huey.task()
def tick(n):
    time.sleep(0.0005)
    return n
"""


@pytest.fixture
def redis_app(tmp_path):
    for make in built_apps(tmp_path, 'redis'):  # one app factory, closed afterwards
        yield functools.partial(make, EXTRA)


def started(marker: Path) -> int:
    return len(marker.read_text().split()) if marker.exists() else 0


def queue_ticks(app, count: int = TOTAL) -> None:
    app.huey.enqueue_many([app.module.tick.s(i) for i in range(count)])


def stored_results(app) -> int:
    return app.huey.result_count()


@pytest.mark.parametrize('worker_type', ['thread', 'process', 'greenlet'])
def test_prefetched_messages_come_back_after_a_sigkill(redis_app, start_consumer, worker_type):
    # An hour-long lease: only the consumer heartbeat can bring them back.
    app = redis_app(lease_timeout=3600)
    queue_ticks(app)
    first = start_consumer(app, '-k', worker_type, '-w', '1', '--prefetch', '64', *ARGS)
    wait_until(lambda: stored_results(app) >= 100, message='the drain to be under way')
    storage = app.huey.storage

    def frozen_holding_a_batch() -> bool:
        # A worker holds from 64 leases down to 1 as it runs a batch (and 1 while
        # a loaded machine makes its tasks count as slow): kill it holding more.
        first.freeze()
        if storage.leased_count() > 1:
            return True
        first.thaw()
        return False

    wait_until(frozen_holding_a_batch, interval=0.001, message='a prefetched batch')
    first.kill()
    held = storage.leased_count()
    assert held > 1  # the running task and the ones prefetched behind it
    assert stored_results(app) + storage.queue_size() + held == TOTAL
    start_consumer(app, '-k', worker_type, '-w', '2', *ARGS, name='second')
    wait_until(lambda: stored_results(app) == TOTAL, timeout=60, message='every result')
    # a result is stored before its message is acknowledged
    wait_until(lambda: storage.leased_count() == 0, message='the last acknowledgement')


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT], ids=['prompt', 'graceful'])
def test_a_stop_gives_the_prefetched_messages_back_at_once_uncounted(
    redis_app, start_consumer, signum
):
    app = redis_app(lease_timeout=3600)
    queue_ticks(app)
    consumer = start_consumer(app, '-w', '2', '--prefetch', '64', *ARGS)
    wait_until(lambda: stored_results(app) >= 100, message='the drain to be under way')
    consumer.send(signum)
    consumer.wait()
    storage = app.huey.storage
    assert storage.leased_count() == 0
    waiting = storage.queue_size()
    assert stored_results(app) + waiting == TOTAL and waiting > 0
    deliveries = [storage.lease(60).deliveries for _ in range(waiting)]
    # only a task interrupted while running (one per worker at most) counts
    assert deliveries.count(1) >= waiting - 2 and set(deliveries) <= {1, 2}


def test_a_long_task_gives_back_the_messages_prefetched_behind_it(
    redis_app, start_consumer, tmp_path
):
    app = redis_app()
    marker, gate = tmp_path / 'started', tmp_path / 'gate'
    gated = app.module.gated(str(marker), str(gate))
    adds = [app.module.add(i, i) for i in range(5)]
    start_consumer(app, '-w', '1', '--prefetch', '8', *ARGS)
    wait_until(lambda: started(marker) == 1, message='the gated task to start')
    # the only worker is busy: another consumer runs what it gave back
    start_consumer(app, '-w', '1', *ARGS, name='second')
    assert [add.get(blocking=True, timeout=30) for add in adds] == [0, 2, 4, 6, 8]
    assert gated.get() is None  # still running
    gate.touch()
    assert gated.get(blocking=True, timeout=30) == 'released'


@pytest.mark.parametrize('worker_type', ['thread', 'process', 'greenlet'])
def test_a_short_tasks_result_is_not_held_back_by_a_long_task_after_it(
    redis_app, start_consumer, tmp_path, worker_type
):
    app = redis_app()
    marker, gate = tmp_path / 'started', tmp_path / 'gate'
    short = app.module.add(20, 22)
    gated = app.module.gated(str(marker), str(gate))
    start_consumer(app, '-k', worker_type, '-w', '1', '--prefetch', '8', *ARGS)
    wait_until(lambda: started(marker) == 1, message='the gated task to start')
    assert short.get(blocking=True, timeout=30) == 42
    assert started(marker) == 1 and gated.get() is None  # still running
    gate.touch()
    assert gated.get(blocking=True, timeout=30) == 'released'


def test_prefetch_1_holds_one_message_at_a_time(redis_app, start_consumer):
    app = redis_app()
    queue_ticks(app, 500)
    start_consumer(app, '-w', '1', '--prefetch', '1', *ARGS)
    storage = app.huey.storage
    held = set()

    def drained() -> bool:
        held.add(storage.leased_count())
        return stored_results(app) == 500

    wait_until(drained, timeout=60, interval=0.001, message='every result')
    wait_until(lambda: storage.leased_count() == 0, message='the last acknowledgement')
    assert held <= {0, 1}
