"""The real ``huey_consumer.py`` script against SQLite and Redis, with every
worker type: results, the seed examples, signals and health checks."""

from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys

import pytest
from conftest import FAST, consumer_script, wait_until
from huey_api import TaskException

WORKER_TYPES = ['thread', 'process', 'greenlet']


def final_value(result, timeout: float = 20.0):
    """The value of a task that may store errors before it succeeds (retries)."""

    def succeeded():
        result.reset()
        try:
            return ('ok', result.get(preserve=True))
        except TaskException:
            return None

    outcome = wait_until(
        lambda: (value := succeeded()) and value[1] is not None and value,
        timeout,
        'a successful result',
    )
    return outcome[1]


@pytest.mark.parametrize('worker_type', WORKER_TYPES)
def test_seed_examples_run_by_the_consumer(make_app, start_consumer, worker_type):
    app = make_app()
    tasks, huey = app.module, app.huey
    start_consumer(app, '-k', worker_type, '-w', '2', *FAST)

    # demo.py: add(1, 2) and r(blocking=True, timeout=5)
    r = tasks.add(1, 2)
    assert r(blocking=True, timeout=10) == 3

    # scheduling with a delay and with an eta
    r = tasks.add.schedule((3, 4), delay=1)
    assert r(blocking=True, timeout=15) == 7
    eta = datetime.datetime.now() + datetime.timedelta(seconds=1)
    r = tasks.add.schedule((4, 5), eta=eta)
    assert r(blocking=True, timeout=15) == 9

    # pipelines: add chain and fib chain
    pipeline = tasks.add.s(1, 2).then(tasks.add, 3).then(tasks.add, 4).then(tasks.add, 5)
    assert huey.enqueue(pipeline).get(blocking=True, timeout=15) == [3, 6, 10, 15]
    pipe = tasks.fib.s(1).then(tasks.fib).then(tasks.fib).then(tasks.fib)
    assert huey.enqueue(pipe)(True, timeout=15) == [(2, 1), (3, 2), (5, 3), (8, 5)]

    # map
    params = [(i, i**2) for i in range(10)]
    assert tasks.add.map(params).get(blocking=True, timeout=15) == [
        0,
        2,
        6,
        12,
        20,
        30,
        42,
        56,
        72,
        90,
    ]

    # flaky task retried twice, then 'OK'
    r = tasks.flaky('flaky-attempts')
    assert final_value(r) == 'OK'
    assert _count(huey, 'flaky-attempts') == 3


@pytest.mark.parametrize('worker_type', WORKER_TYPES)
def test_sigint_lets_the_task_in_flight_finish_and_exits_0(
    make_app, start_consumer, worker_type, tmp_path
):
    app = make_app()
    tasks, huey = app.module, app.huey
    consumer = start_consumer(app, '-k', worker_type, '-n', *FAST)
    marker, gate = tmp_path / 'started', tmp_path / 'gate'
    result = tasks.gated(str(marker), str(gate))
    wait_until(marker.exists, message='the task to start')
    consumer.send(signal.SIGINT)
    consumer.wait_for_log('shutting down gracefully')
    later = tasks.add(1, 1)  # must not be taken any more
    gate.touch()
    assert consumer.wait(30) == 0
    assert result.get() == 'released'
    assert [t.id for t in huey.pending()] == [later.id]
    assert huey.storage.leased_count() == 0


@pytest.mark.parametrize('worker_type', WORKER_TYPES)
def test_sigterm_returns_the_task_in_flight_to_the_queue(
    make_app, start_consumer, worker_type, tmp_path
):
    app = make_app()
    tasks, huey = app.module, app.huey
    consumer = start_consumer(app, '-k', worker_type, '-n', *FAST)
    marker, gate = tmp_path / 'started', tmp_path / 'gate'
    result = tasks.gated(str(marker), str(gate))
    wait_until(marker.exists, message='the task to start')
    consumer.send(signal.SIGTERM)
    assert consumer.wait(30) == 0
    assert 'it is back in the queue' in consumer.log()
    assert [t.id for t in huey.pending()] == [result.id]  # nothing lost
    assert huey.storage.leased_count() == 0
    assert result.get() is None
    # a new consumer runs it to completion
    gate.touch()
    start_consumer(app, '-k', worker_type, '-n', *FAST, name='second')
    assert result.get(blocking=True, timeout=20) == 'released'


@pytest.mark.parametrize('worker_type', ['thread', 'process'])
def test_graceful_sigterm_lets_short_tasks_finish_within_shutdown_timeout(
    make_app, start_consumer, worker_type, tmp_path
):
    app = make_app()
    tasks, huey = app.module, app.huey
    consumer = start_consumer(
        app, '-k', worker_type, '-n', '-g', 'TERM', '--shutdown-timeout', '20', *FAST
    )
    marker, gate = tmp_path / 'started', tmp_path / 'gate'
    result = tasks.gated(str(marker), str(gate))
    wait_until(marker.exists, message='the task to start')
    consumer.send(signal.SIGTERM)
    consumer.wait_for_log('waiting up to 20.0s')
    gate.touch()
    assert consumer.wait(30) == 0
    assert result.get() == 'released'
    assert huey.pending_count() == 0 and huey.storage.leased_count() == 0


def test_killed_process_worker_is_replaced_and_its_message_comes_back(
    make_app, start_consumer, tmp_path
):
    app = make_app(lease_timeout=2)
    tasks = app.module
    consumer = start_consumer(app, '-k', 'process', '-w', '1', '-c', '0.5', '-n', *FAST)
    first_pid = tasks.worker_pid()(blocking=True, timeout=15)
    marker, gate = tmp_path / 'started', tmp_path / 'gate'
    result = tasks.gated(str(marker), str(gate))
    wait_until(marker.exists, message='the task to start')
    os.kill(first_pid, signal.SIGKILL)
    consumer.wait_for_log('health check: worker process Worker-1')
    gate.touch()
    # the lease expires (2 s) and the consumer's heartbeat requeues the message
    assert result.get(blocking=True, timeout=30) == 'released'
    second_pid = tasks.worker_pid()(blocking=True, timeout=15)
    assert second_pid != first_pid
    assert marker.read_text().split() == [str(first_pid), str(second_pid)]
    consumer.wait_for_log('(killed, or their lease expired) are back in the queue')


def test_sighup_restarts_the_consumer_in_place(make_app, start_consumer):
    app = make_app()
    consumer = start_consumer(app, '-n', *FAST)
    assert app.module.add(2, 2)(blocking=True, timeout=10) == 4
    consumer.send(signal.SIGHUP)
    consumer.wait_for_log('consumer started', count=2)
    assert consumer.process.poll() is None
    assert app.module.add(3, 3)(blocking=True, timeout=10) == 6
    consumer.send(signal.SIGINT)
    assert consumer.wait(30) == 0


@pytest.mark.parametrize(
    'path, message',
    [
        ('no_such_module_zz.huey', "cannot import module 'no_such_module_zz'"),
        ('APP.nothing', "has no attribute 'nothing'"),
        ('APP.add', 'not a Huey instance'),
        ('huey', 'is not an import path'),
    ],
)
@pytest.mark.parametrize('backend', ['sqlite'], indirect=True)
def test_bad_import_path_exits_2_with_one_line(make_app, path, message):
    app = make_app()
    path = path.replace('APP', app.module_name)
    done = subprocess.run(
        [str(consumer_script()), path],
        cwd=app.directory,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.startswith('huey_consumer: error: ') and message in done.stderr
    assert done.stderr.count('\n') == 1


@pytest.mark.parametrize('backend', ['sqlite'], indirect=True)
def test_startup_log_describes_the_configuration(make_app, start_consumer):
    app = make_app()
    consumer = start_consumer(app, '-k', 'thread', '-w', '3', *FAST)
    log = consumer.wait_for_log('periodic tasks:')
    assert "huey 'itest', storage SqliteStorage, 3 thread workers, periodic tasks enabled" in log
    assert 'delivery at-least-once (lease timeout 30.0s' in log
    assert f"periodic tasks: {app.module_name}.every_minute (crontab '* * * * *')" in log
    assert app.module.add(1, 2)(blocking=True, timeout=10) == 3
    # a fast task is one line: it ended before the next batch of lines was written
    line = f'huey.consumer.tasks: {app.module_name}.add: '
    (logged,) = [text for text in consumer.wait_for_log(line).splitlines() if line in text]
    assert ' finished in ' in logged


@pytest.mark.slow
def test_periodic_task_runs_once_per_minute_across_two_consumers(make_app, start_consumer, backend):
    worker_type = {'sqlite': 'process', 'redis': 'greenlet'}[backend]
    app = make_app()
    huey = app.huey
    start_consumer(app, '-k', worker_type, *FAST, name='first')
    start_consumer(app, '-k', worker_type, *FAST, name='second')
    runs = lambda: _count(huey, 'periodic-runs')  # noqa: E731
    wait_until(
        lambda: runs() >= 2, timeout=75, message='two minutes of periodic runs', interval=0.5
    )
    minutes = _minute_counters(huey)
    assert len(minutes) == runs()
    assert all(count == 1 for count in minutes.values())


def _count(huey, key: str) -> int:
    """The counter ``key`` the tasks ``incr`` (0 when it was never counted)."""
    return huey.storage.incr(key, 0)


def _minute_counters(huey) -> dict[str, int]:
    """The periodic task's per-minute run counters around now, those that ran."""
    counts = {}
    now = datetime.datetime.now()
    for offset in range(-5, 5):
        key = 'periodic-minute:' + (now + datetime.timedelta(minutes=offset)).strftime('%Y%m%d%H%M')
        count = _count(huey, key)
        if count:
            counts[key] = count
    return counts


def test_script_runs_through_python_dash_m(tmp_path):
    done = subprocess.run(
        [sys.executable, '-m', 'huey.bin.huey_consumer', '--help'],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert done.returncode == 0 and '--worker-type' in done.stdout


HOOKS = """
HOOK_LOG = {hook_log!r}


@huey.on_startup()
def note_start():
    with open(HOOK_LOG, 'a') as f:
        f.write('start %d\\n' % os.getpid())


@huey.on_shutdown()
def note_stop():
    with open(HOOK_LOG, 'a') as f:
        f.write('stop %d\\n' % os.getpid())
"""


@pytest.mark.parametrize('backend', ['sqlite'], indirect=True)
def test_hooks_run_once_in_each_worker_process(make_app, start_consumer, tmp_path):
    hook_log = tmp_path / 'hooks.log'
    app = make_app(HOOKS.format(hook_log=str(hook_log)))
    consumer = start_consumer(app, '-k', 'process', '-w', '2', '-n', *FAST)
    pids = {app.module.worker_pid()(blocking=True, timeout=15) for _ in range(6)}
    wait_until(
        lambda: hook_log.exists() and hook_log.read_text().count('start') == 2,
        message='two start-up hooks',
    )
    consumer.send(signal.SIGINT)
    assert consumer.wait(30) == 0
    lines = hook_log.read_text().split('\n')
    started = sorted(line.split()[1] for line in lines if line.startswith('start'))
    stopped = sorted(line.split()[1] for line in lines if line.startswith('stop'))
    assert started == stopped and len(set(started)) == 2
    assert pids <= {int(pid) for pid in started}
    assert str(consumer.pid) not in started


@pytest.mark.parametrize('backend', ['sqlite'], indirect=True)
def test_max_tasks_replaces_worker_processes(make_app, start_consumer):
    app = make_app()
    start_consumer(app, '-k', 'process', '-w', '1', '--max-tasks', '2', '-n', *FAST)
    pids = [app.module.worker_pid()(blocking=True, timeout=15) for _ in range(6)]
    assert len(set(pids)) == 3
    assert pids[0] == pids[1] != pids[2] == pids[3] != pids[4] == pids[5]


CHORD_TASKS = """
@huey.task()
def total(values, extra=0):
    huey.storage.incr('total-runs')
    return sum(values) + extra


@huey.task(retries=1)
def fails_once(counter, value):
    if huey.storage.incr(counter) < 2:
        raise Exception('first attempt fails')
    return value
"""


@pytest.mark.parametrize('worker_type', ['thread', 'process'])
def test_group_and_chord_run_by_the_consumer(make_app, start_consumer, worker_type):
    from huey import chord, group

    app = make_app(extra=CHORD_TASKS)
    tasks, huey = app.module, app.huey
    start_consumer(app, '-k', worker_type, '-w', '4', *FAST)
    results = huey.enqueue(group([tasks.add.s(i, i) for i in range(20)]))
    assert results.get(blocking=True, timeout=20) == [2 * i for i in range(20)]
    members = [tasks.add.s(i, 1) for i in range(30)] + [tasks.fails_once.s('chord-n', 1000)]
    result = huey.enqueue(chord(members, tasks.total.s(extra=5)))
    assert result.get(blocking=True, timeout=30) == sum(range(1, 31)) + 1000 + 5
    # every member's result is stored before the callback is enqueued
    assert result.results.get() == list(range(1, 31)) + [1000]
    wait_until(
        lambda: not huey.storage.enqueued_items() and not huey.storage.leased_count(),
        message='the queue to drain',
    )
    assert _count(huey, 'total-runs') == 1
