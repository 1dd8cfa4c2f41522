"""The worker loop: backoff when idle, survival of task and storage errors,
and the lease heartbeat."""

from __future__ import annotations

import contextlib
import logging
import threading
import time

import pytest
from helpers import FlakyStorage
from huey_api import Huey, MemoryHuey
from huey_consumer import Backoff, ConsumerConfig, LeaseKeeper, Worker
from huey_consumer import worker as worker_module
from huey_consumer.worker import AckFlusher


def test_backoff_grows_by_factor_up_to_maximum_and_resets():
    backoff = Backoff(0.1, 2, 1.0)
    assert [backoff.next() for _ in range(6)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]
    assert backoff.attempts == 6
    backoff.reset()
    assert (backoff.next(), backoff.attempts) == (0.1, 1)


@pytest.mark.parametrize(
    'args, message',
    [
        ((0, 2, 1), 'initial delay=0'),
        ((0.1, 0.5, 1), 'factor=0.5'),
        ((1, 2, 0.5), 'maximum delay=0.5: must be at least the initial delay 1'),
    ],
)
def test_backoff_rejects_bad_values(args, message):
    with pytest.raises(ValueError, match=message):
        Backoff(*args)


class RecordingWorker(Worker):
    """Records its pauses instead of sleeping; stops after ``limit`` pauses.
    Keyword settings build its ``ConsumerConfig``."""

    def __init__(self, huey, limit: int = 100, **settings) -> None:
        super().__init__(huey, config=ConsumerConfig(**settings))
        self.pauses: list[float] = []
        self.limit = limit

    def pause(self, seconds: float) -> None:
        self.pauses.append(round(seconds, 6))
        if len(self.pauses) >= self.limit:
            self.stop_flag.set()


@pytest.fixture
def huey():
    app = MemoryHuey('worker-tests')
    yield app
    app.flush()


def test_idle_worker_backs_off_from_delay_by_factor_up_to_max_delay(huey):
    worker = RecordingWorker(huey, initial_delay=0.1, backoff=2, max_delay=1.0, limit=6)
    worker.run()
    assert worker.pauses == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0]


def test_work_resets_the_idle_backoff(huey):
    @huey.task()
    def noop():
        return 1

    worker = RecordingWorker(huey, initial_delay=0.1, backoff=2, max_delay=1.0)
    for _ in range(3):
        worker.loop()
    noop()
    worker.loop()  # runs the task
    worker.loop()  # empty again
    assert worker.pauses == [0.1, 0.2, 0.4, 0.1]
    assert worker.tasks_done == 1


def test_failing_task_never_kills_the_worker(huey):
    @huey.task()
    def broken():
        raise ValueError('broken task')

    @huey.task()
    def leaves_with_sys_exit():
        raise SystemExit(3)

    @huey.task()
    def add(a, b):
        return a + b

    broken()
    leaves_with_sys_exit()
    result = add(2, 3)
    worker = RecordingWorker(huey)
    for _ in range(3):
        assert worker.loop() is True
    assert result.get() == 5
    assert worker.tasks_done == 3


def test_storage_errors_are_logged_with_growing_delays_then_work_resumes(caplog):
    huey = Huey('flaky', storage_class=FlakyStorage)

    @huey.task()
    def add(a, b):
        return a + b

    result = add(1, 1)
    FlakyStorage.down = 4
    worker = RecordingWorker(huey)
    with caplog.at_level(logging.WARNING, logger='huey.consumer.worker'):
        for _ in range(5):
            assert worker.loop() is True
    assert worker.pauses == [0.5, 1.0, 2.0, 4.0]
    assert result.get() == 2
    messages = [r.getMessage() for r in caplog.records]
    assert len([m for m in messages if 'storage error while reserving' in m]) == 4
    assert caplog.records[0].exc_info is not None  # first failure: traceback
    assert '(4 in a row)' in messages[3]
    assert 'storage is working again after 4 failed attempts' in messages[4]


def test_max_tasks_ends_the_loop_as_recycled(huey):
    @huey.task()
    def noop():
        pass

    for _ in range(3):
        noop()
    worker = RecordingWorker(huey, max_tasks=2)
    worker.run()
    assert (worker.tasks_done, worker.recycled, huey.pending_count()) == (2, True, 1)


def test_take_over_hands_back_the_delivery_in_flight(huey):
    @huey.task()
    def noop():
        pass

    noop()
    worker = RecordingWorker(huey)
    delivery = huey.reserve()
    worker._current = delivery  # as if the worker were running it
    assert worker.take_over(timeout=1) is delivery
    assert worker.abandoned and worker.stopping() and worker.current() is None
    huey.release(delivery)
    assert huey.pending_count() == 1


class _Running:
    def __init__(self, delivery) -> None:
        self.delivery = delivery

    def held(self):
        return [] if self.delivery is None else [self.delivery]


def test_lease_keeper_extends_in_flight_leases():
    huey = MemoryHuey('keeper-tests', lease_timeout=3)

    @huey.task()
    def noop():
        pass

    noop()
    noop()
    first, second = huey.reserve(), huey.reserve()
    keeper = LeaseKeeper(huey, lambda: [_Running(first), _Running(None)])
    assert keeper.interval == pytest.approx(1.0)
    huey.lease_timeout = 60  # the heartbeat pushes deadlines a minute away
    assert keeper.beat() == 1
    # ten seconds later only the lease that was not extended has expired
    assert huey.storage.requeue_expired_leases(time.time() + 10) == 1
    assert huey.storage.leased_count() == 1
    assert huey.reserve().task.id == second.task.id
    huey.flush()


def test_pauses_are_jittered_around_the_backoff_delay(huey):
    """Workers polling an idle storage must not stay in lockstep."""
    worker = Worker(huey, config=ConsumerConfig(initial_delay=0.1, backoff=2, max_delay=1.0))
    waits = []
    worker.stop_flag.wait = lambda seconds: waits.append(seconds)  # record, do not sleep
    for _ in range(200):
        worker.pause(0.2)
    assert all(0.1 <= w <= 0.3 for w in waits)
    assert len({round(w, 4) for w in waits}) > 100
    assert 0.18 < sum(waits) / len(waits) < 0.22


def test_loop_judges_expiry_at_the_time_it_is_given(huey):
    ran = []

    @huey.task(expires=60)
    def record(n):
        ran.append(n)

    record(1)
    record(2)
    worker = Worker(huey)
    assert worker.loop(now=time.time() + 120) is True  # two minutes later: expired
    assert worker.loop() is True
    assert ran == [2] and huey.pending_count() == 0


# -- prefetch: batched leases and acknowledgements ---------------------------------


@pytest.fixture
def adds(huey):
    """``adds(n)``: n queued additions, their results in order."""

    @huey.task()
    def add(a, b):
        return a + b

    return lambda n: [add(i, i) for i in range(n)]


def test_a_worker_leases_a_batch_and_acknowledges_it_with_the_next(huey, adds):
    results = adds(5)
    worker = RecordingWorker(huey, prefetch=3)
    assert worker.loop() is True  # leases three, runs the first
    assert (worker.tasks_done, huey.storage.leased_count(), huey.pending_count()) == (1, 3, 2)
    assert [d.task.id for d in worker.held()] == [r.id for r in results[1:3]]
    worker.loop()
    worker.loop()  # the batch is done: its acks go with the next lease
    assert [r.get() for r in results[:3]] == [0, 2, 4]
    assert (huey.storage.leased_count(), huey.pending_count()) == (2, 0)
    worker.loop()
    worker.loop()
    assert [r.get() for r in results] == [0, 2, 4, 6, 8]
    assert huey.storage.leased_count() == 0


def test_a_stopping_worker_gives_back_what_it_prefetched(huey, adds):
    results = adds(4)
    worker = RecordingWorker(huey, prefetch=4)
    worker.loop()
    worker.stop_flag.set()
    worker.run()  # ends at once: acknowledges the first, gives back the rest
    assert results[0].get() == 0
    assert (huey.storage.leased_count(), huey.pending_count()) == (0, 3)
    assert [huey.reserve().deliveries for _ in range(3)] == [1, 1, 1]  # as if never taken


def test_take_over_gives_back_the_prefetched_and_returns_the_one_in_flight(huey, adds):
    adds(3)
    worker = RecordingWorker(huey, prefetch=3)
    assert worker._reserve() is True
    with worker._state_lock:  # as if the worker were running the first
        worker._current = worker._waiting.popleft()
    delivery = worker.take_over(timeout=1)
    assert delivery is not None and worker.abandoned and worker.held() == []
    assert (huey.storage.leased_count(), huey.pending_count()) == (1, 2)
    huey.release(delivery)
    assert huey.pending_count() == 3


def test_prefetch_1_takes_one_message_at_a_time(huey, adds):
    results = adds(3)
    worker = RecordingWorker(huey, prefetch=1)
    for result in results:
        worker.loop()
        assert huey.storage.leased_count() <= 1 and len(worker.held()) <= 1
        assert result.get() is not None  # acknowledged, result stored, at once
    assert huey.storage.leased_count() == 0


def test_a_share_of_a_short_queue_is_left_to_the_other_workers(huey, adds):
    adds(6)
    worker = RecordingWorker(huey, prefetch=16, workers=3)
    assert worker._reserve() is True
    assert (len(worker.held()), huey.pending_count()) == (2, 4)


def test_after_a_slow_batch_the_worker_leases_one_at_a_time(huey):
    @huey.task()
    def nap(seconds):
        time.sleep(seconds)

    slow = worker_module.SLOW_TASK * 4
    for _ in range(4):
        nap(slow)
    worker = RecordingWorker(huey, prefetch=2)
    worker.loop()
    worker.loop()  # the batch of two took 2 * slow: the next lease is single
    assert (len(worker.held()), huey.pending_count()) == (1, 1)


def test_the_flusher_stores_a_result_while_a_long_task_runs(huey):
    release = threading.Event()

    @huey.task()
    def add(a, b):
        return a + b

    @huey.task()
    def long():
        release.wait(30)
        return 'done'

    short, slow = add(1, 2), long()
    worker = Worker(huey, config=ConsumerConfig(prefetch=4))
    with running_with_flusher(worker, release):
        assert short.get(blocking=True, timeout=10) == 3
        assert slow.get() is None  # still running: the flusher sent the first one's ack
    assert slow.get() == 'done'
    assert huey.storage.leased_count() == 0


def test_messages_prefetched_behind_a_long_task_are_given_back(huey):
    release = threading.Event()

    @huey.task()
    def long():
        release.wait(30)

    @huey.task()
    def add(a, b):
        return a + b

    long()
    results = [add(i, i) for i in range(3)]
    worker = Worker(huey, config=ConsumerConfig(prefetch=4))
    other = Worker(huey, worker.stop_flag)
    with running_with_flusher(worker, release):
        # the first worker holds all four, then gives back the three behind
        # its long task: another worker runs them meanwhile
        wait_until(lambda: huey.pending_count() == 3 and worker.current() is not None)
        while other.tasks_done < 3:
            other.loop()
        other.settle()
        assert [result.get() for result in results] == [0, 2, 4]
        assert huey.storage.leased_count() == 1
    assert huey.storage.leased_count() == 0 and worker.tasks_done == 1


@contextlib.contextmanager
def running_with_flusher(worker: Worker, release: threading.Event):
    """Run ``worker`` and an ``AckFlusher`` watching it in threads; on exit
    ``release`` the tasks, stop the worker, then the flusher."""
    flusher = AckFlusher(lambda: [worker])
    worker.flusher = flusher
    threads = [threading.Thread(target=t.run) for t in (flusher, worker)]
    for thread in threads:
        thread.start()
    try:
        yield
    finally:
        release.set()
        worker.stop_flag.set()
        threads[1].join(10)
        flusher.stop()
        threads[0].join(10)


def wait_until(condition, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, 'condition not met in time'
        time.sleep(0.005)
