"""Timeouts and recovery with the real ``huey_consumer.py`` script: a killed
consumer's tasks come back through the heartbeat, hanging tasks reach the dead
letters, overrunning tasks are stopped and retried, a broken periodic schedule
stays contained, and start-up obeys signals and refuses absurd worker counts."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import FAST, built_apps, consumer_script, wait_until
from huey_api import TaskException
from huey_consumer.leases import HEARTBEAT_TTL

EXTRA = '''
@huey.task(timeout=0.5, retries=1)
def overrun(counter):
    """Runs until stopped (time.sleep yields to gevent under greenlet workers)."""
    huey.storage.incr(counter)
    while True:
        time.sleep(0.01)


@huey.task()
def overrun_unbounded(counter):
    """No timeout of its own: the consumer's --task-timeout applies."""
    huey.storage.incr(counter)
    while True:
        time.sleep(0.01)


@huey.task(timeout=0.5)
def stuck(counter):
    """Blocked where no TaskTimeout reaches it: SIGALRM blocked, in a C sleep."""
    huey.storage.incr(counter)
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])
    time.sleep(3600)


@huey.task(timeout=0.5)
def stuck_holding_gil(counter):
    """Blocked in C code that holds the GIL: no thread of its process runs."""
    import ctypes

    huey.storage.incr(counter)
    signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGALRM])
    ctypes.PyDLL(None).sleep(3600)


def broken_schedule(dt):
    raise RuntimeError('broken schedule')


@huey.periodic_task(broken_schedule)
def broken_periodic():
    pass
'''


def counter(huey, key: str) -> int:
    return huey.storage.peek_counters([key])[0]


def started(marker: Path) -> int:
    """How many times a ``gated`` task began (one line each)."""
    return len(marker.read_text().split()) if marker.exists() else 0


def timed_out(result) -> dict:
    """The error of the task's last attempt (earlier ones are stored too)."""

    def final_error():
        result.reset()
        try:
            result.get(preserve=True)
        except TaskException as exc:
            return exc.metadata if exc.metadata.get('retries') == 0 else None
        return None

    return wait_until(final_error, timeout=30, message='the last attempt to fail')


# -- a killed consumer's tasks come back at once -------------------------------


@pytest.fixture(
    params=[
        'sqlite',
        pytest.param('redis', marks=pytest.mark.redis),
        pytest.param('postgres', marks=pytest.mark.postgres),
        pytest.param('mysql', marks=pytest.mark.mysql),
    ]
)
def any_app(request, tmp_path):
    yield from built_apps(tmp_path, request.param)


@pytest.mark.parametrize('worker_type', ['thread', 'process'])
def test_a_killed_consumers_task_runs_again_without_waiting_for_its_lease(
    any_app, start_consumer, worker_type, tmp_path, record_property
):
    # An hour-long lease: only the consumer heartbeat can bring the task back.
    app = any_app(lease_timeout=3600)
    marker, gate = tmp_path / 'started', tmp_path / 'gate'
    first = start_consumer(app, '-k', worker_type, '-n', *FAST)
    result = app.module.gated(str(marker), str(gate))
    wait_until(lambda: started(marker) == 1, message='the task to start')
    first.kill()  # SIGKILL, workers included: nothing is given back
    killed_at = time.monotonic()
    gate.touch()
    start_consumer(app, '-k', worker_type, '-n', *FAST, name='second')
    assert result.get(blocking=True, timeout=60) == 'released'
    record_property('seconds_from_kill_to_result', round(time.monotonic() - killed_at, 2))
    assert started(marker) == 2
    # a result is stored before its message is acknowledged
    wait_until(lambda: app.huey.storage.leased_count() == 0, message='the acknowledgement')


def test_a_live_consumers_long_task_keeps_its_lease(make_app, start_consumer, tmp_path):
    """Reclaiming (here by the test, as another consumer would, every 0.2 s)
    takes nothing from a consumer that beats, however long its task runs."""
    app = make_app(lease_timeout=3600)
    marker, gate = tmp_path / 'started', tmp_path / 'gate'
    consumer = start_consumer(app, '-n', *FAST)
    result = app.module.gated(str(marker), str(gate))
    wait_until(lambda: started(marker) == 1, message='the task to start')
    outlived = time.monotonic() + 3 * HEARTBEAT_TTL
    while time.monotonic() < outlived:
        assert app.huey.storage.requeue_expired_leases() == 0
        time.sleep(0.2)
    gate.touch()
    assert result.get(blocking=True, timeout=20) == 'released'
    assert started(marker) == 1
    assert 'back in the queue' not in consumer.log()


# -- interrupted and hanging tasks -------------------------------------------


def test_a_task_hanging_through_restarts_reaches_the_dead_letters(
    make_app, start_consumer, tmp_path
):
    app = make_app(max_deliveries=2)
    marker, gate = tmp_path / 'started', tmp_path / 'never-opened'
    result = app.module.gated(str(marker), str(gate))
    for run in (1, 2):
        consumer = start_consumer(app, '-n', *FAST, name=f'run-{run}')
        wait_until(lambda run=run: started(marker) == run, message=f'start number {run}')
        consumer.send(signal.SIGTERM)  # gives the message back: one delivery more
        assert consumer.wait(30) == 0
    start_consumer(app, '-n', *FAST, name='third')
    dead = wait_until(app.huey.storage.dead_letters, message='the dead letter')
    assert len(dead) == 1 and 'delivered 3 times (max_deliveries=2)' in dead[0].reason
    assert started(marker) == 2 and len(app.huey) == 0
    assert result.get() is None


@pytest.mark.parametrize('worker_type', ['thread', 'process', 'greenlet'])
def test_an_overrunning_task_is_stopped_recorded_and_retried(make_app, start_consumer, worker_type):
    app = make_app(extra=EXTRA)
    consumer = start_consumer(app, '-k', worker_type, '-n', *FAST)
    error = timed_out(app.module.overrun('overrun-runs'))
    assert error['type'] == 'huey_api.exceptions.TaskTimeout'
    assert error['message'] == 'timeout (0.5s)'
    assert counter(app.huey, 'overrun-runs') == 2  # retries=1 applied
    consumer.wait_for_log('timed out (timeout (0.5s))', count=2)
    assert app.module.add(1, 2).get(blocking=True, timeout=20) == 3  # the worker goes on


def test_the_consumers_task_timeout_bounds_tasks_without_one(make_app, start_consumer):
    app = make_app(extra=EXTRA)
    start_consumer(app, '-n', '-T', '0.5', *FAST)
    error = timed_out(app.module.overrun_unbounded('unbounded-runs'))
    assert error['message'] == 'timeout (0.5s)'
    assert counter(app.huey, 'unbounded-runs') == 1


@pytest.mark.parametrize('worker_type', ['thread', 'process'])
def test_a_stuck_task_is_abandoned_its_worker_replaced_and_it_ends_dead_lettered(
    make_app, start_consumer, worker_type
):
    app = make_app(extra=EXTRA, max_deliveries=2)
    consumer = start_consumer(app, '-k', worker_type, '-w', '1', '-n', *FAST)
    app.module.stuck('stuck-runs')
    after = app.module.add(2, 3)
    # each run is given up on 2 s past its timeout and given back (a delivery);
    # the third delivery goes to the dead letters, then the next task runs
    assert after.get(blocking=True, timeout=60) == 5
    dead = app.huey.storage.dead_letters()
    assert len(dead) == 1 and 'delivered 3 times' in dead[0].reason
    assert counter(app.huey, 'stuck-runs') == 2
    consumer.wait_for_log('abandoning it and starting a replacement worker', count=2)


def test_a_process_worker_too_stuck_to_give_up_is_killed_and_replaced(make_app, start_consumer):
    app = make_app(extra=EXTRA, max_deliveries=1, lease_timeout=2)
    consumer = start_consumer(app, '-k', 'process', '-w', '1', '-n', *FAST)
    app.module.stuck_holding_gil('gil-runs')
    # queued once the stuck task runs, so it is not prefetched behind it (a
    # message prefetched by a worker that is then killed counts a delivery)
    wait_until(lambda: counter(app.huey, 'gil-runs') == 1, message='the stuck task to start')
    after = app.module.add(2, 3)
    # its lease expires (the worker's lease keeper cannot run either), the
    # consumer kills it, the replacement dead-letters the second delivery
    assert after.get(blocking=True, timeout=60) == 5
    dead = app.huey.storage.dead_letters()
    assert len(dead) == 1 and 'delivered 2 times' in dead[0].reason
    assert counter(app.huey, 'gil-runs') == 1
    consumer.wait_for_log('unresponsive (C code holding the GIL?): killing it')


# -- scheduler and start-up ----------------------------------------------------


def test_a_broken_periodic_schedule_leaves_the_others_running(make_app, start_consumer):
    app = make_app(extra=EXTRA)
    consumer = start_consumer(app, *FAST)  # periodic tasks on: evaluated at start-up
    wait_until(lambda: counter(app.huey, 'periodic-runs') >= 1, message='every_minute to run')
    log = consumer.wait_for_log('broken_periodic: its schedule raised')
    assert 'RuntimeError: broken schedule' in log


def test_an_absurd_worker_count_is_refused_at_once(make_app):
    app = make_app()
    done = subprocess.run(
        [str(consumer_script()), app.path, '-w', '20000'],
        cwd=app.directory,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert 'workers=20000: a consumer runs at most 1024 thread workers' in done.stderr


def test_a_signal_during_start_up_stops_the_consumer(make_app, start_consumer):
    app = make_app()
    consumer = start_consumer(app, '-k', 'process', '-w', '64', '-n', *FAST, wait=False)
    consumer.wait_for_log('huey consumer: huey')  # signal handlers are in place
    consumer.send(signal.SIGTERM)
    assert consumer.wait(60) == 0
    wait_until(lambda: not _group_members(consumer.pid), message='every worker to exit')
    assert 'consumer stopped' in consumer.log()


def _group_members(pgid: int) -> list[int]:
    """Live processes of process group ``pgid`` (Linux /proc)."""
    members = []
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / 'stat').read_text().rsplit(')', 1)[-1].split()
        except OSError:
            continue
        if fields[0] != 'Z' and fields[2] == str(pgid):
            members.append(int(entry.name))
    return members
