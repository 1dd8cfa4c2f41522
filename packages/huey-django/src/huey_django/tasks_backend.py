"""A backend for Django's Tasks framework that runs tasks on huey.

``TASKS = {'default': {'BACKEND': 'huey_django.tasks_backend.HueyTaskBackend'}}``
makes ``my_task.enqueue(...)`` put one huey message in ``settings.HUEY``'s
queue; ``manage.py run_huey`` runs it. What Django's ``TaskResult`` reports
(status, timestamps, workers, return value, errors) is one record per task in
huey's result store, written when the task is enqueued, started and finished,
so ``get_result()`` works from any process. On Django 6 this uses
``django.tasks``; before, the ``django-tasks`` backport.
"""

from __future__ import annotations

import os
import socket
import traceback
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

try:  # Django 6
    from django.tasks import Task, TaskContext, TaskResult, TaskResultStatus
    from django.tasks.backends.base import BaseTaskBackend
    from django.tasks.base import TaskError
    from django.tasks.exceptions import InvalidTask, TaskResultDoesNotExist
    from django.tasks.signals import task_enqueued, task_finished, task_started
    from django.utils.json import normalize_json
except ImportError:  # older Django: the django-tasks backport
    from django_tasks import TaskContext, TaskResult, TaskResultStatus
    from django_tasks.backends.base import BaseTaskBackend
    from django_tasks.base import Task, TaskError
    from django_tasks.exceptions import InvalidTaskError as InvalidTask
    from django_tasks.exceptions import TaskResultDoesNotExist
    from django_tasks.signals import task_enqueued, task_finished, task_started
    from django_tasks.utils import normalize_json

from huey_django import HUEY
from huey_django.decorators import close_db

__all__ = ['HUEY_TASK_NAME', 'HueyBackend', 'HueyTaskBackend', 'record_key']

#: The one huey task that runs every Django task (its message names the function).
HUEY_TASK_NAME = 'huey_django.run_django_task'


def record_key(result_id: str) -> str:
    """Where the ``TaskResult`` record of ``result_id`` lives in huey's result store."""
    return f'django-task:{result_id}'


def _now() -> str:
    return timezone.now().isoformat()


def _datetime(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _worker_id() -> str:
    return f'{socket.gethostname()}:{os.getpid()}'


def _find_task(module_path: str) -> Task:
    """The ``@task`` object declared at ``module_path`` (the consumer imports it)."""
    found = import_string(module_path)
    if not isinstance(found, Task):
        raise InvalidTask(f'{module_path} is {found!r}, not a django task')
    return found


def _to_result(record: dict[str, Any]) -> TaskResult:
    """The ``TaskResult`` that a stored record describes."""
    task = _find_task(record['task_path'])
    overrides = {
        key: record[key]
        for key in ('priority', 'queue_name', 'backend')
        if getattr(task, key) != record[key]
    }
    run_after = _datetime(record['run_after'])
    if run_after != task.run_after:
        overrides['run_after'] = run_after
    if overrides:
        task = task.using(**overrides)
    result = TaskResult(
        task=task,
        id=record['id'],
        status=TaskResultStatus(record['status']),
        enqueued_at=_datetime(record['enqueued_at']),
        started_at=_datetime(record['started_at']),
        finished_at=_datetime(record['finished_at']),
        last_attempted_at=_datetime(record['last_attempted_at']),
        args=record['args'],
        kwargs=record['kwargs'],
        backend=record['backend'],
        errors=[
            TaskError(exception_class_path=path, traceback=text) for path, text in record['errors']
        ],
        worker_ids=list(record['worker_ids']),
    )
    if record['status'] == TaskResultStatus.SUCCESSFUL:
        object.__setattr__(result, '_return_value', record['return_value'])
    return result


def _finish(key: str, record: dict[str, Any], status: Any) -> None:
    record['status'] = status.value
    record['finished_at'] = _now()
    HUEY.put(key, record)
    try:
        result = _to_result(record)
    except (ImportError, InvalidTask):  # the task itself cannot be found: already recorded
        return
    task_finished.send(sender=HueyTaskBackend, task_result=result)


def _run_django_task(module_path: str, args: list, kwargs: dict, task: Any = None) -> None:
    """Run one Django task in the consumer, keeping its record up to date.

    A task redelivered after a crash runs again: it is another attempt, with
    this worker added to ``worker_ids``. A failure is recorded, then raised so
    huey logs it and sends its error signal.
    """
    key = record_key(task.id)
    record = HUEY.get(key, peek=True)
    if record is None:  # the record was lost (flushed store): run it all the same
        _find_task(module_path).call(*args, **kwargs)
        return
    now = _now()
    record.update(status=TaskResultStatus.RUNNING.value, last_attempted_at=now)
    record['started_at'] = record['started_at'] or now
    record['worker_ids'].append(_worker_id())
    HUEY.put(key, record)
    try:
        django_task = _find_task(module_path)
        task_started.send(sender=HueyTaskBackend, task_result=_to_result(record))
        if record['takes_context']:
            context = TaskContext(task_result=_to_result(record))
            value = django_task.call(context, *args, **kwargs)
        else:
            value = django_task.call(*args, **kwargs)
        record['return_value'] = normalize_json(value)
    except Exception as exc:  # not BaseException: an interrupted attempt is redelivered
        kind = type(exc)
        record['errors'].append(
            [f'{kind.__module__}.{kind.__qualname__}', ''.join(traceback.format_exception(exc))]
        )
        _finish(key, record, TaskResultStatus.FAILED)
        raise
    _finish(key, record, TaskResultStatus.SUCCESSFUL)


run_django_task = HUEY.task(name=HUEY_TASK_NAME, context=True)(close_db(_run_django_task))


class HueyTaskBackend(BaseTaskBackend):
    """Django Tasks on huey: deferred tasks (``run_after``), results from any
    process, priorities when the huey storage has them, async tasks.

    ``QUEUES`` (default ``['default']``) lists the accepted queue names;
    they all share ``settings.HUEY``'s queue. ``ENQUEUE_ON_COMMIT: True``
    enqueues when the surrounding transaction commits, and never on rollback.
    """

    supports_defer = True
    supports_get_result = True
    supports_async_task = True

    def __init__(self, alias: str, params: dict) -> None:
        super().__init__(alias, params)
        #: enqueue when the current transaction commits (nothing on rollback)
        self.enqueue_on_commit = bool(
            params.get('ENQUEUE_ON_COMMIT', self.options.get('enqueue_on_commit', False))
        )

    @property
    def supports_priority(self) -> bool:  # type: ignore[override]
        return bool(getattr(HUEY.storage, 'priority', False))

    @staticmethod
    def _check_importable(task: Task) -> None:
        # not in validate_task: that runs while the task's module is still importing
        try:
            found = import_string(task.module_path)
        except ImportError:
            found = None
        if getattr(found, 'func', None) is not task.func:
            raise InvalidTask(
                f'the consumer finds tasks by import path: {task.module_path} must be '
                'importable (declare the task at module level, not in a function or class)'
            )

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        self.validate_task(task)
        self._check_importable(task)
        args, kwargs = normalize_json(list(args)), normalize_json(dict(kwargs))
        message = run_django_task.task_class(
            (task.module_path, args, kwargs),
            priority=task.priority if self.supports_priority else None,
            eta=task.run_after,
        )
        record = {
            'id': message.id,
            'task_path': task.module_path,
            'priority': task.priority,
            'queue_name': task.queue_name,
            'backend': self.alias,
            'takes_context': task.takes_context,
            'run_after': None if task.run_after is None else task.run_after.isoformat(),
            'status': TaskResultStatus.READY.value,
            'enqueued_at': None,
            'started_at': None,
            'finished_at': None,
            'last_attempted_at': None,
            'args': args,
            'kwargs': kwargs,
            'return_value': None,
            'errors': [],
            'worker_ids': [],
        }
        key = record_key(message.id)

        def send() -> None:
            record['enqueued_at'] = _now()
            HUEY.put(key, record)  # before the message: a fast worker must find it
            task_enqueued.send(sender=type(self), task_result=_to_result(record))
            HUEY.enqueue(message)

        if self.enqueue_on_commit:
            transaction.on_commit(send)
            return _to_result(record)
        send()
        if HUEY.immediate:  # it already ran
            return _to_result(HUEY.get(key, peek=True) or record)
        return _to_result(record)

    def get_result(self, result_id: str) -> TaskResult:
        record = HUEY.get(record_key(result_id), peek=True)
        if record is None:
            raise TaskResultDoesNotExist(result_id)
        return _to_result(record)


#: huey's name for it (``huey.contrib.djhuey.tasks_backend.HueyBackend``).
HueyBackend = HueyTaskBackend
