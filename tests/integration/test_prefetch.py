"""Prefetch with the real ``huey_consumer.py`` script on Redis: the messages a
worker leased ahead hold their own leases, come back after a SIGKILL through
the lapsed heartbeat, go back at once on a stop, and a short task's result is
not held back by the long task prefetched after it. ``--prefetch 1`` holds
one message at a time, as before prefetch existed."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest
from conftest import FAST, built_apps, wait_until

pytestmark = pytest.mark.redis

ADDS = 5


@pytest.fixture
def redis_app(tmp_path):
    yield from built_apps(tmp_path, 'redis')


def started(marker: Path) -> int:
    return len(marker.read_text().split()) if marker.exists() else 0


def queue_gated_then_adds(app, tmp_path):
    """A gated task, then ``ADDS`` additions, all waiting before a consumer
    starts (so one worker can lease them together)."""
    marker, gate = tmp_path / 'started', tmp_path / 'gate'
    gated = app.module.gated(str(marker), str(gate))
    adds = [app.module.add(i, i) for i in range(ADDS)]
    return marker, gate, gated, adds


@pytest.mark.parametrize('worker_type', ['thread', 'process', 'greenlet'])
def test_prefetched_messages_come_back_after_a_sigkill(
    redis_app, start_consumer, tmp_path, worker_type
):
    # An hour-long lease: only the consumer heartbeat can bring them back.
    app = redis_app(lease_timeout=3600)
    marker, gate, gated, adds = queue_gated_then_adds(app, tmp_path)
    first = start_consumer(app, '-k', worker_type, '-w', '1', '--prefetch', '8', '-n', *FAST)
    wait_until(lambda: started(marker) == 1, message='the gated task to start')
    storage = app.huey.storage
    assert (storage.leased_count(), storage.queue_size()) == (1 + ADDS, 0)
    first.kill()
    gate.touch()
    start_consumer(app, '-k', worker_type, '-w', '2', '-n', *FAST, name='second')
    assert [add.get(blocking=True, timeout=60) for add in adds] == [2 * i for i in range(ADDS)]
    assert gated.get(blocking=True, timeout=60) == 'released'
    assert storage.leased_count() == 0


@pytest.mark.parametrize(
    'signum, in_flight',
    [(signal.SIGTERM, 'given back'), (signal.SIGINT, 'finished')],
    ids=['prompt-stop', 'graceful-stop'],
)
def test_a_stop_gives_the_prefetched_messages_back_at_once(
    redis_app, start_consumer, tmp_path, signum, in_flight
):
    app = redis_app(lease_timeout=3600)
    marker, gate, gated, adds = queue_gated_then_adds(app, tmp_path)
    consumer = start_consumer(app, '-w', '1', '--prefetch', '8', '-n', *FAST)
    wait_until(lambda: started(marker) == 1, message='the gated task to start')
    consumer.send(signum)
    if in_flight == 'finished':
        consumer.wait_for_log('shutting down gracefully')
        gate.touch()
    consumer.wait()
    storage = app.huey.storage
    assert storage.leased_count() == 0
    waiting = ADDS + (in_flight == 'given back')
    assert storage.queue_size() == waiting
    assert not any(add.get() is not None for add in adds)  # none of them ran
    if in_flight == 'finished':
        assert gated.get() == 'released'


@pytest.mark.parametrize('worker_type', ['thread', 'process', 'greenlet'])
def test_a_short_tasks_result_is_not_held_back_by_a_long_task_after_it(
    redis_app, start_consumer, tmp_path, worker_type
):
    app = redis_app()
    marker, gate = tmp_path / 'started', tmp_path / 'gate'
    short = app.module.add(20, 22)
    gated = app.module.gated(str(marker), str(gate))
    start_consumer(app, '-k', worker_type, '-w', '1', '--prefetch', '8', '-n', *FAST)
    wait_until(lambda: started(marker) == 1, message='the gated task to start')
    assert short.get(blocking=True, timeout=30) == 42
    assert started(marker) == 1 and gated.get() is None  # still running
    gate.touch()
    assert gated.get(blocking=True, timeout=30) == 'released'


def test_prefetch_1_holds_one_message_at_a_time(redis_app, start_consumer, tmp_path):
    app = redis_app(lease_timeout=3600)
    marker, gate, gated, adds = queue_gated_then_adds(app, tmp_path)
    start_consumer(app, '-w', '1', '--prefetch', '1', '-n', *FAST)
    wait_until(lambda: started(marker) == 1, message='the gated task to start')
    storage = app.huey.storage
    assert (storage.leased_count(), storage.queue_size()) == (1, ADDS)
    gate.touch()
    assert [add.get(blocking=True, timeout=30) for add in adds] == [2 * i for i in range(ADDS)]
    assert storage.leased_count() == 0
