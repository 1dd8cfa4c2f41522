"""What an operator reads and does, as plain data: shared by the CLI and the dashboard.

Every function takes the application's Huey and returns JSON-ready dicts (or
a bool for an action: False when the named item does not exist).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from huey_crontab import Crontab, next_run

from .results import short_repr, stored_result, task_results

__all__ = [
    'dead_letters',
    'delete_dead_letter',
    'describe_task',
    'flush',
    'iso_time',
    'pending',
    'periodic',
    'requeue_all',
    'requeue_dead_letter',
    'restore',
    'result',
    'results',
    'revoke',
    'scheduled',
]


def iso_time(ts: float | None) -> str | None:
    """Epoch seconds as an ISO 8601 UTC string (None stays None)."""
    if ts is None:
        return None
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).isoformat(timespec='seconds')


def describe_task(task: Any) -> dict:
    """A task as the operator sees it: id, name, arguments, eta, retries."""
    return {
        'id': task.id,
        'name': task.name,
        'args': short_repr(tuple(task.args)),
        'kwargs': short_repr(dict(task.kwargs)),
        'eta': iso_time(task.eta_ts),
        'retries': task.retries,
        'priority': task.priority,
    }


def pending(huey: Any, limit: int | None = None) -> list[dict]:
    """Waiting tasks in run order."""
    return [describe_task(task) for task in huey.pending(limit)]


def scheduled(huey: Any, limit: int | None = None) -> list[dict]:
    """Scheduled tasks, soonest first."""
    return [describe_task(task) for task in huey.scheduled(limit)]


def results(huey: Any, limit: int | None = None) -> list[dict]:
    """Stored task results by id (value or error), at most ``limit``; huey-api's
    and the monitor's bookkeeping keys are left out (``results.task_results``)."""
    return [{'id': key, **decoded} for key, decoded in task_results(huey, limit).items()]


def result(huey: Any, id: str) -> dict | None:
    """The result stored for task ``id`` (left in place), or None."""
    decoded = stored_result(huey, id)
    return None if decoded is None else {'id': id, **decoded}


def dead_letters(huey: Any, limit: int | None = None) -> list[dict]:
    """Dead letters, oldest first, with the task they hold when it can be decoded."""
    letters = []
    for letter in huey.dead_letters(limit):
        task_id = name = None
        try:
            task = huey.deserialize_task(letter.data)
            task_id, name = task.id, task.name
        except Exception:
            try:  # e.g. a task this process does not know: huey's tuple starts with id, name
                message = huey.serializer.deserialize(letter.data)
                task_id, name = str(message[0]), str(message[1])
            except Exception:
                pass
        letters.append(
            {
                'id': letter.id,
                'task_id': task_id,
                'name': name,
                'reason': letter.reason,
                'failed_at': iso_time(letter.failed_at),
            }
        )
    return letters


def requeue_dead_letter(huey: Any, id: str) -> bool:
    return bool(huey.requeue_dead_letter(id))


def requeue_all(huey: Any) -> int:
    """Requeue every dead letter; returns how many went back to the queue."""
    return sum(1 for letter in huey.dead_letters() if huey.requeue_dead_letter(letter.id))


def delete_dead_letter(huey: Any, id: str) -> bool:
    return bool(huey.delete_dead_letter(id))


def revoke(huey: Any, id: str) -> bool:
    """Revoke task ``id`` (it is skipped when its message is read). Always True."""
    huey.revoke_by_id(id)
    return True


def restore(huey: Any, id: str) -> bool:
    """Undo ``revoke``; False if the task was not revoked."""
    return bool(huey.restore_by_id(id))


def periodic(huey: Any, now: dt.datetime | None = None) -> list[dict]:
    """Each periodic task with its schedule and next run (in the Huey's clock)."""
    now = huey.now() if now is None else now
    tasks = []
    for wrapper in huey.periodic_tasks():
        validator = wrapper.validate_datetime
        schedule = (
            validator.to_string() if isinstance(validator, Crontab) else short_repr(validator)
        )
        when = next_run(validator, now, dt.timedelta(days=366))
        tasks.append(
            {
                'name': wrapper.name,
                'schedule': schedule,
                'next_run': None if when is None else when.isoformat(timespec='minutes'),
                'clock': 'UTC' if huey.utc else 'local',
            }
        )
    return sorted(tasks, key=lambda item: item['name'])


def flush(huey: Any) -> None:
    """Delete everything the Huey stores: queue, schedule, results, data, dead letters."""
    huey.flush()
