"""Automatic retries, retry_delay, retry_backoff, RetryTask and CancelExecution."""

from __future__ import annotations

import datetime
import time

import pytest
from huey import CancelExecution, Huey, RetryTask, TaskException
from huey.signals import SIGNAL_CANCELED, SIGNAL_RETRYING
from huey_storage import MemoryStorage


def test_retries_exhausted_leave_error_result(huey, run_all):
    attempts = []

    @huey.task(retries=2)
    def always_fails():
        attempts.append(1)
        raise RuntimeError('down')

    result = always_fails()
    run_all(huey)
    assert len(attempts) == 3
    with pytest.raises(TaskException) as info:
        result()
    assert info.value.metadata['retries'] == 0


def test_retry_backoff_multiplies_delay(huey, run_one):
    @huey.task(retries=3, retry_delay=10, retry_backoff=2.0)
    def fails():
        raise RuntimeError('x')

    fails()
    now = time.time()
    run_one(huey)
    [task] = huey.scheduled()
    assert task.eta_ts == pytest.approx(now + 10, abs=2) and task.retry_delay == 20
    huey.enqueue_due(now + 11)
    run_one(huey, now=now + 11)
    [task] = huey.scheduled()
    assert task.eta_ts == pytest.approx(now + 20, abs=2) and task.retry_delay == 40


def test_retry_task_with_delay_and_eta(huey, run_one):
    @huey.task()
    def later(mode):
        if mode == 'delay':
            raise RetryTask(delay=30)
        raise RetryTask(eta=datetime.datetime.now() + datetime.timedelta(seconds=90))

    later('delay')
    later('eta')
    run_one(huey)
    run_one(huey)
    first, second = huey.scheduled()
    assert first.eta_ts == pytest.approx(time.time() + 30, abs=2)
    assert second.eta_ts == pytest.approx(time.time() + 90, abs=2)
    assert first.retries == 0 and huey.result_count() == 0


def test_retry_task_keeps_declared_retries(huey, run_one):
    seen = []

    @huey.task(retries=2)
    def task_(task=None):
        seen.append(task.retries)
        if len(seen) == 1:
            raise RetryTask()
        return 'done'

    task_.task_class.context = True
    result = task_()
    run_one(huey)
    run_one(huey)
    assert seen == [2, 2] and result() == 'done'


def test_cancel_execution_from_pre_execute_hook(huey, run_all):
    runs, canceled = [], []

    @huey.task()
    def work():
        runs.append(1)

    @huey.pre_execute()
    def gate(task):
        raise CancelExecution()

    huey.signal(SIGNAL_CANCELED)(lambda signal, task: canceled.append(task.id))
    result = work()
    run_all(huey)
    assert runs == [] and canceled == [result.id] and result() is None
    assert huey.unregister_pre_execute(gate) is True
    work()
    run_all(huey)
    assert runs == [1]


@pytest.mark.parametrize(
    'retry, retries, runs', [(None, 0, 1), (None, 1, 2), (True, 0, 2), (False, 3, 1)]
)
def test_cancel_execution_inside_task_retry_rules(huey, run_all, retry, retries, runs):
    calls = []

    @huey.task(retries=retries)
    def work():
        calls.append(1)
        if len(calls) == 1:
            raise CancelExecution(retry=retry)

    result = work()
    run_all(huey)
    assert len(calls) == runs
    if runs == 1:  # canceled for good: a failure like any other
        with pytest.raises(TaskException, match='CancelExecution'):
            result()


def test_retrying_signal_sent(huey, run_all):
    retrying = []
    huey.signal(SIGNAL_RETRYING)(lambda signal, task: retrying.append(task.retries))

    @huey.task(retries=2)
    def fails():
        raise RuntimeError('x')

    fails()
    run_all(huey)
    assert retrying == [2, 1]  # sent before the retry is used up


class _StorageGoingDown(MemoryStorage):
    """A real MemoryStorage whose enqueue fails once ``down`` is set."""

    down = False

    def enqueue(self, data, priority=None):
        if self.down:
            raise ConnectionError('storage unreachable')
        return super().enqueue(data, priority)


def test_retry_that_cannot_be_enqueued_is_not_acknowledged():
    huey = Huey('retry-down', storage_class=_StorageGoingDown)

    @huey.task(retries=1)
    def fails():
        raise ValueError('boom')

    fails()
    delivery = huey.reserve()
    huey.storage.down = True
    with pytest.raises(ConnectionError):
        huey.execute_delivery(delivery)
    huey.storage.down = False
    # the failed attempt is still leased: its lease expiring brings it back
    assert huey.storage.leased_count() == 1
    assert huey.storage.requeue_expired_leases(now=time.time() + 3600) == 1
    again = huey.reserve()
    assert again.task.id == delivery.task.id and again.task.retries == 1
