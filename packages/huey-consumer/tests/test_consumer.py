"""In-process consumer runs: MemoryHuey, thread workers, a consumer thread."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from helpers import FlakyStorage, wait_for
from huey_api import Huey, MemoryHuey
from huey_api.locks import lock_key
from huey_consumer import Consumer, ConsumerConfig


def test_results_of_many_tasks_with_several_workers(huey, start_consumer):
    @huey.task()
    def square(n):
        return n * n

    start_consumer(huey, workers=4)
    results = [square(n) for n in range(40)]
    assert [r.get(blocking=True, timeout=10) for r in results] == [n * n for n in range(40)]


def test_scheduled_task_runs_after_its_delay(huey, start_consumer):
    @huey.task()
    def add(a, b):
        return a + b

    start_consumer(huey)
    result = add.schedule((3, 4), delay=0.5)
    # queued first; the worker that takes it early puts it on the schedule
    wait_for(lambda: huey.scheduled_count() == 1)
    assert result.get(blocking=True, timeout=10) == 7
    assert huey.scheduled_count() == 0 and huey.pending_count() == 0


def test_failing_task_is_retried_and_the_worker_survives(huey, start_consumer):
    attempts = []

    @huey.task(retries=2)
    def flaky():
        attempts.append(1)
        if len(attempts) < 3:
            raise RuntimeError('failing!')
        return 'OK'

    start_consumer(huey)
    result = flaky()
    wait_for(lambda: len(attempts) == 3, message='three attempts')
    result.reset()
    assert result.get(blocking=True, timeout=10) == 'OK'


def test_hooks_run_once_per_worker(huey, start_consumer):
    started, stopped = [], []
    huey.on_startup()(lambda: started.append(threading.current_thread().name))
    huey.on_shutdown()(lambda: stopped.append(threading.current_thread().name))
    consumer = start_consumer(huey, workers=3)
    wait_for(lambda: len(started) == 3, message='startup hooks')
    consumer.stop()
    assert sorted(started) == sorted(stopped) == ['Worker-1', 'Worker-2', 'Worker-3']


def test_graceful_stop_lets_the_task_in_flight_finish(huey, start_consumer):
    running = threading.Event()

    @huey.task()
    def slow():
        running.set()
        time.sleep(0.5)
        return 'finished'

    consumer = start_consumer(huey)
    result = slow()
    assert running.wait(10)
    consumer.stop(graceful=True)
    assert result.get() == 'finished'
    assert huey.pending_count() == 0 and huey.storage.leased_count() == 0


def test_prompt_stop_returns_the_task_in_flight_to_the_queue(huey, start_consumer):
    running, release = threading.Event(), threading.Event()
    interrupted = []
    huey.signal('interrupted')(lambda signal, task: interrupted.append(task.id))

    @huey.task()
    def stuck():
        running.set()
        release.wait(10)

    consumer = start_consumer(huey)
    result = stuck()
    assert running.wait(10)
    consumer.stop(graceful=False)
    try:
        assert interrupted == [result.id]
        assert huey.pending_count() == 1 and huey.storage.leased_count() == 0
        assert huey.pending()[0].id == result.id
        assert consumer.consumer.abandoned_tasks
    finally:
        release.set()


def test_shutdown_timeout_waits_for_tasks_in_flight(huey, start_consumer):
    running = threading.Event()

    @huey.task()
    def slow():
        running.set()
        time.sleep(0.3)
        return 'done'

    consumer = start_consumer(huey, shutdown_timeout=10)
    result = slow()
    assert running.wait(10)
    consumer.stop(graceful=True)
    assert result.get() == 'done'
    assert huey.pending_count() == 0


def test_graceful_stop_interrupts_tasks_still_running_after_shutdown_timeout(
    huey, start_consumer, caplog
):
    running, release = threading.Event(), threading.Event()

    @huey.task()
    def stuck():
        running.set()
        release.wait(10)

    consumer = start_consumer(huey, shutdown_timeout=0.2)
    result = stuck()
    assert running.wait(10)
    caplog.clear()  # start-up warnings (an unsigned huey) are not the point here
    started = time.monotonic()
    with caplog.at_level(logging.WARNING, logger='huey.consumer'):
        consumer.stop(graceful=True)
    assert time.monotonic() - started < 5
    warnings = [r.getMessage() for r in caplog.records]
    assert warnings[0].startswith('Shutdown timeout of 0.2s elapsed')
    assert [t.id for t in huey.pending()] == [result.id]  # given back, not lost
    release.set()


def test_worker_is_recycled_after_max_tasks(huey, start_consumer):
    started = []
    huey.on_startup()(lambda: started.append(1))

    @huey.task()
    def echo(n):
        return n

    start_consumer(huey, workers=1, max_tasks=2)
    results = [echo(n) for n in range(5)]
    assert [r.get(blocking=True, timeout=10) for r in results] == list(range(5))
    wait_for(lambda: len(started) == 3, message='three workers in turn')


@pytest.mark.filterwarnings('ignore::pytest.PytestUnhandledThreadExceptionWarning')
def test_health_check_replaces_a_dead_worker(huey, start_consumer):
    calls = []

    @huey.task()
    def kills_its_thread():
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt  # escapes execute_delivery: the thread dies

    @huey.task()
    def add(a, b):
        return a + b

    consumer = start_consumer(huey, workers=1, health_check_interval=0.2)
    kills_its_thread()
    wait_for(lambda: calls, message='the task to run')
    assert add(1, 2).get(blocking=True, timeout=10) == 3  # only a replacement can run it
    wait_for(lambda: consumer.consumer.pool.slots[0].handle.is_alive(), message='new worker')


def test_heartbeat_keeps_long_tasks_from_being_delivered_twice(start_consumer):
    huey = MemoryHuey('heartbeat', lease_timeout=0.3)
    runs = []

    @huey.task()
    def long_task():
        runs.append(1)
        time.sleep(1.5)  # five lease timeouts

    consumer = start_consumer(huey, workers=2)
    long_task()
    wait_for(lambda: runs, message='the task to start')
    wait_for(
        lambda: huey.storage.leased_count() == 0 and huey.pending_count() == 0,
        message='the task to be acknowledged',
    )
    consumer.stop()
    assert runs == [1]
    huey.flush()


def test_consumer_survives_storage_outage(start_consumer):
    huey = Huey('outage', storage_class=FlakyStorage)

    @huey.task()
    def add(a, b):
        return a + b

    FlakyStorage.down = 3
    start_consumer(huey)
    assert add(2, 2).get(blocking=True, timeout=15) == 4
    huey.flush()


def test_flush_locks_at_start_up(huey, start_consumer):
    lock = huey.lock_task('reports')
    assert lock.acquire()
    huey.storage.put_data(lock_key(huey, 'extra'), b'1')
    huey.storage.put_data(lock_key(huey, 'other'), b'1')
    start_consumer(huey, flush_locks=True, extra_locks='extra')
    assert not lock.is_locked()
    assert not huey.storage.has_data_for_key(lock_key(huey, 'extra'))
    assert huey.storage.has_data_for_key(lock_key(huey, 'other'))


@pytest.mark.parametrize(
    'options, message',
    [
        ({'workers': 0}, 'workers=0'),
        ({'worker_type': 'fiber'}, "worker_type='fiber'"),
        ({'initial_delay': 0}, 'initial_delay=0'),
        ({'backoff': 0.5}, 'backoff=0.5'),
        ({'initial_delay': 2, 'max_delay': 1}, 'max_delay=1: must be at least initial_delay=2'),
        ({'scheduler_interval': 7}, 'scheduler_interval=7'),
        ({'health_check_interval': 0}, 'health_check_interval=0'),
        ({'max_tasks': 0}, 'max_tasks=0'),
        ({'shutdown_timeout': -1}, 'shutdown_timeout=-1'),
        ({'graceful_signal': 'HUP'}, "graceful_signal='HUP': must be INT or TERM"),
    ],
)
def test_bad_consumer_options(huey, options, message):
    with pytest.raises(ValueError, match=message):
        Consumer(huey, **options)


def test_unknown_option_names_the_options(huey):
    with pytest.raises(TypeError, match=r'unknown consumer option\(s\): bogus; the options are: '):
        Consumer(huey, bogus=1)


def test_utc_is_refused_with_where_it_belongs(huey):
    # huey 1.x/2.x consumers took utc; dropping it would run periodic tasks
    # on another clock than the user asked for
    with pytest.raises(
        TypeError, match=r'utc=False is a setting of the application.*Huey\(\.\.\., utc='
    ):
        Consumer(huey, utc=False)
    with pytest.raises(TypeError, match='utc=True'):
        huey.create_consumer(utc=True, workers=2)


def test_settings_object_and_keyword_overrides(huey):
    consumer = Consumer(huey, ConsumerConfig(workers=3, extra_locks='a, b'), periodic=False)
    assert consumer.config == ConsumerConfig(workers=3, periodic=False, extra_locks=('a', 'b'))
    assert (consumer.workers, consumer.periodic, len(consumer.worker_threads)) == (3, False, 3)
    # the application's own settings are never changed by a consumer
    assert (huey.lease_timeout, huey.max_deliveries) == (30.0, 5)


def test_create_consumer_builds_our_consumer(huey):
    consumer = huey.create_consumer(workers=2, periodic=False)
    assert isinstance(consumer, Consumer)
    assert (consumer.workers, consumer.periodic) == (2, False)


def test_prompt_stop_runs_shutdown_hooks_of_idle_workers_only(huey, start_consumer):
    running, release = threading.Event(), threading.Event()
    stopped = []
    huey.on_shutdown()(lambda: stopped.append(threading.current_thread().name))

    @huey.task()
    def stuck():
        running.set()
        release.wait(10)

    consumer = start_consumer(huey, workers=2)
    stuck()
    assert running.wait(10)
    busy = next(
        slot.name for slot in consumer.consumer.pool.slots if slot.worker.current() is not None
    )
    consumer.stop(graceful=False)
    try:
        assert stopped == [name for name in ('Worker-1', 'Worker-2') if name != busy]
    finally:
        release.set()


def test_options_after_huey_must_be_named(huey):
    with pytest.raises(
        TypeError, match=r'give the other options by name, e.g. Consumer\(huey, workers=4\)'
    ):
        Consumer(huey, 4)


def test_run_returns_once_stopped_even_when_the_flag_is_set_directly(huey):
    finished = []

    @huey.task()
    def slow():
        time.sleep(0.3)
        finished.append(1)

    consumer = Consumer(huey, initial_delay=0.01, max_delay=0.05)
    runner = threading.Thread(target=consumer.run, daemon=True)
    runner.start()
    assert consumer.ready.wait(10)
    slow()
    wait_for(lambda: huey.storage.leased_count() == 1, message='the task to start')
    consumer.stop_flag.set()  # as huey's tests do: run() then stops gracefully
    runner.join(10)
    assert not runner.is_alive() and consumer.stopped.is_set()
    assert finished == [1]


def test_process_workers_need_a_storage_shared_between_processes(tmp_path):
    from huey_storage import FileStorage, MemoryStorage

    class PrivateStore(FileStorage):  # any class can say its handles see only their process
        shared_between_processes = False

    class SharedMemory(MemoryStorage):  # the flag decides, not the class name
        shared_between_processes = True

    private = Huey('private', storage_class=PrivateStore, path=str(tmp_path))
    with pytest.raises(ValueError, match='cannot share a PrivateStore between processes'):
        Consumer(private, worker_type='process').start()
    Consumer(Huey('shared', storage_class=SharedMemory), worker_type='process')._check_storage()
