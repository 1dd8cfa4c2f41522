"""Django's Tasks framework on huey: enqueue, status, results and errors through
``TaskResult``, in immediate mode, in-process execution and a real run_huey."""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import wait_for
from django.db import transaction
from django.test import override_settings
from django.utils import timezone
from huey_django.tasks_backend import HUEY_TASK_NAME, record_key
from reports.django_jobs import (
    add_async,
    anonymous,
    attempt,
    explode,
    multiply,
    save_report,
    unserializable,
)
from reports.models import Report

try:
    from django.tasks import TaskResultStatus, default_task_backend
    from django.tasks.exceptions import InvalidTask, TaskResultDoesNotExist
    from django.tasks.signals import task_enqueued, task_finished, task_started
except ImportError:  # Django < 6: the django-tasks backport
    from django_tasks import TaskResultStatus, default_task_backend
    from django_tasks.exceptions import InvalidTaskError as InvalidTask
    from django_tasks.exceptions import TaskResultDoesNotExist
    from django_tasks.signals import task_enqueued, task_finished, task_started


def run_next(huey):
    """Run the next queued message in this process, as a worker would."""
    delivery = huey.reserve()
    assert delivery is not None
    huey.execute_delivery(delivery)


def test_immediate_mode_runs_the_task_at_enqueue(huey):
    huey.immediate = True
    result = multiply.enqueue(6, 7)
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 42
    assert result.attempts == 1
    assert default_task_backend.get_result(result.id).return_value == 42


def test_enqueue_puts_one_huey_message_and_the_consumer_side_finishes_it(huey):
    result = multiply.enqueue(3, b=5)
    assert result.status == TaskResultStatus.READY
    assert result.enqueued_at is not None and result.started_at is None
    assert [t.name for t in huey.pending()] == [HUEY_TASK_NAME]
    assert huey.pending()[0].id == result.id

    run_next(huey)
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 15
    assert result.args == [3] and result.kwargs == {'b': 5}
    assert result.started_at <= result.finished_at
    assert len(result.worker_ids) == 1
    assert multiply.get_result(result.id).return_value == 15


def test_errors_come_back_through_the_task_result(huey):
    result = explode.enqueue()
    run_next(huey)
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    [error] = result.errors
    assert error.exception_class_path == 'builtins.ValueError'
    assert error.exception_class is ValueError
    assert 'kapow' in error.traceback
    with pytest.raises(ValueError):
        result.return_value  # noqa: B018


def test_a_return_value_that_is_not_json_fails_the_task(huey):
    result = unserializable.enqueue()
    run_next(huey)
    result.refresh()
    assert result.status == TaskResultStatus.FAILED


def test_context_tasks_see_their_attempt(huey):
    result = attempt.enqueue('x')
    run_next(huey)
    assert default_task_backend.get_result(result.id).return_value == [1, 'x']


def test_run_after_goes_to_the_huey_schedule(huey):
    later = timezone.now() + dt.timedelta(minutes=5)
    result = multiply.using(run_after=later).enqueue(1, 1)
    run_next(huey)  # queued; the worker that takes it early puts it on the schedule
    assert huey.pending() == []
    assert [t.id for t in huey.scheduled()] == [result.id]
    assert result.task.run_after == later
    assert default_task_backend.get_result(result.id).task.run_after == later


def test_signals_are_sent(huey):
    seen = []

    def receiver(sender, task_result, **kwargs):
        seen.append(task_result.status)

    for signal in (task_enqueued, task_started, task_finished):
        signal.connect(receiver)
    try:
        multiply.enqueue(2, 2)
        run_next(huey)
    finally:
        for signal in (task_enqueued, task_started, task_finished):
            signal.disconnect(receiver)
    assert seen == [
        TaskResultStatus.READY,
        TaskResultStatus.RUNNING,
        TaskResultStatus.SUCCESSFUL,
    ]


def test_unknown_results_and_unimportable_tasks_are_refused(huey):
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result('no-such-id')

    with pytest.raises(InvalidTask, match='must be importable'):
        anonymous.enqueue()
    assert huey.pending() == []


def test_the_record_is_the_only_state(huey):
    result = multiply.enqueue(1, 2)
    huey.delete(record_key(result.id))
    with pytest.raises(TaskResultDoesNotExist):
        result.refresh()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_run_huey_runs_django_tasks(project, huey):
    consumer = project.start('run_huey', '-s', '1')
    project.wait_output(consumer, 'consumer started')
    result = save_report.enqueue('monthly')

    def finished():
        result.refresh()
        return result.is_finished

    wait_for(finished, what='the django task to finish')
    assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
    assert result.return_value == {'saved': 'monthly'}
    assert Report.objects.filter(title='monthly').exists()
    project.stop(consumer)
    assert consumer.returncode == 0


def test_async_tasks_run_too(huey):
    # huey refuses coroutine functions; the consumer runs them to completion
    result = add_async.enqueue(20, 22)
    run_next(huey)
    result.refresh()
    assert result.return_value == 42


ON_COMMIT = {
    'default': {
        'BACKEND': 'huey.contrib.djhuey.tasks_backend.HueyBackend',
        'ENQUEUE_ON_COMMIT': True,
    }
}


@pytest.mark.django_db(transaction=True)
def test_enqueue_on_commit_waits_for_the_commit(huey):
    class Abort(Exception):
        pass

    with override_settings(TASKS=ON_COMMIT):
        with pytest.raises(Abort):
            with transaction.atomic():
                multiply.enqueue(1, 1)
                raise Abort
        assert huey.pending_count() == 0
        assert huey.result_count() == 0

        with transaction.atomic():
            result = multiply.enqueue(4, 4)
            assert result.enqueued_at is None
            assert huey.pending_count() == 0
            with pytest.raises(TaskResultDoesNotExist):
                result.refresh()
        assert huey.pending_count() == 1
        run_next(huey)
        result.refresh()
        assert result.enqueued_at is not None
        assert result.return_value == 16


def test_a_task_the_consumer_cannot_import_is_marked_failed(huey):
    import reports.django_jobs as jobs

    result = multiply.enqueue(2, 3)
    saved = jobs.multiply
    del jobs.multiply  # as if the consumer ran an older release without it
    try:
        run_next(huey)
        record = huey.get(record_key(result.id), peek=True)
    finally:
        jobs.multiply = saved
    assert record['status'] == 'FAILED'
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[0].exception_class is ImportError
