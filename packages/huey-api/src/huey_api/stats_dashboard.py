"""What an admin dashboard shows and does: live counts, task lists, actions.

These read the Huey's storage directly (``HueyStats`` holds the history).
The readers never raise: a dashboard page shows what it can when the storage
is down, with None or an empty list in place of the rest.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from huey_api.stats import HueyStats

__all__ = [
    'ACTIONS',
    'dashboard_context',
    'enable_stats',
    'known_tasks',
    'live_counts',
    'pending_tasks',
    'run_action',
    'scheduled_tasks',
]

logger = logging.getLogger('huey.stats')


def enable_stats(huey: Any, db: Any, **options: Any) -> HueyStats:
    """Start recording ``huey``'s statistics in ``db``; the same recorder on every call.

    ``options`` are ``HueyStats``'s (``retention_hours``, ``capture_args``...).
    """
    stats = getattr(huey, '_stats', None)
    if stats is None:
        stats = HueyStats(huey, db, **options)
        huey._stats = stats
        stats.connect()
    return stats


def live_counts(huey: Any) -> dict[str, int | None]:
    """Tasks waiting, scheduled, and stored results right now (None when unreadable)."""
    counts: dict[str, int | None] = {}
    for key, count in (
        ('pending', huey.pending_count),
        ('scheduled', huey.scheduled_count),
        ('results', huey.result_count),
    ):
        try:
            counts[key] = count()
        except Exception:
            logger.warning('stats dashboard: cannot count %s tasks', key, exc_info=True)
            counts[key] = None
    return counts


def pending_tasks(huey: Any, limit: int = 50) -> list[dict[str, Any]]:
    """The first ``limit`` tasks waiting in the queue."""
    try:
        return [
            {'task': _short(task.name), 'id': task.id, 'priority': task.priority, 'eta': task.eta}
            for task in huey.pending(limit)
        ]
    except Exception:
        logger.warning('stats dashboard: cannot read the queue', exc_info=True)
        return []


def scheduled_tasks(huey: Any, limit: int = 50) -> list[dict[str, Any]]:
    """The first ``limit`` tasks in the schedule."""
    try:
        return [
            {'task': _short(task.name), 'id': task.id, 'eta': task.eta}
            for task in huey.scheduled(limit)
        ]
    except Exception:
        logger.warning('stats dashboard: cannot read the schedule', exc_info=True)
        return []


def known_tasks(huey: Any) -> list[dict[str, Any]]:
    """Every task registered in this process, by full name, and whether it is revoked."""
    tasks = []
    for name in huey.registry.names():
        task_class = huey.registry.get(name)
        try:
            revoked = huey.is_revoked(task_class)
        except Exception:
            revoked = False
        tasks.append({'full': name, 'task': _short(name), 'revoked': revoked})
    return tasks


def dashboard_context(
    huey: Any,
    stats: HueyStats,
    list_limit: int = 50,
    event_limit: int = 50,
    throughput_minutes: int = 60,
) -> dict[str, Any]:
    """Everything a dashboard page renders, in one dict.

    ``known`` lists the registered tasks with their statistics, then the tasks
    the recorder has seen that this process does not import (a web process
    usually does not import the consumer's task modules), marked
    ``registered: False``.
    """
    by_task = {row['full']: row for row in stats.task_breakdown()}
    known = known_tasks(huey)
    for row in known:
        row['stats'] = by_task.get(row['full'])
        row['registered'] = True
    registered = {row['full'] for row in known}
    for full in sorted(set(by_task) - registered):
        known.append(
            {
                'full': full,
                'task': _short(full),
                'revoked': False,
                'registered': False,
                'stats': by_task[full],
            }
        )
    return {
        'live': live_counts(huey),
        'overview': stats.overview(),
        'known': known,
        'inflight': stats.inflight(),
        'events': stats.recent_events(event_limit),
        'pending': pending_tasks(huey, list_limit),
        'scheduled': scheduled_tasks(huey, list_limit),
        'throughput': stats.throughput(throughput_minutes),
    }


def _revoke_task(huey: Any, form: dict) -> None:
    huey.revoke_all(huey.registry.get(form['task']))


def _restore_task(huey: Any, form: dict) -> None:
    huey.restore_all(huey.registry.get(form['task']))


#: The dashboard's buttons: operation name -> what it does, given the form fields.
ACTIONS: dict[str, Callable[[Any, dict], Any]] = {
    'revoke_task': _revoke_task,
    'restore_task': _restore_task,
    'revoke_id': lambda huey, form: huey.revoke_by_id(form['id']),
    'restore_id': lambda huey, form: huey.restore_by_id(form['id']),
    'flush_queue': lambda huey, form: huey.storage.flush_queue(),
    'flush_results': lambda huey, form: huey.storage.flush_results(),
    'flush_schedule': lambda huey, form: huey.storage.flush_schedule(),
    'flush_locks': lambda huey, form: huey.flush_locks(),
}


def run_action(huey: Any, op: str, form: dict) -> None:
    """Run the dashboard operation ``op`` (a key of ``ACTIONS``) with ``form``'s fields.

    ``revoke_task``/``restore_task`` read ``form['task']`` (a full task name),
    ``revoke_id``/``restore_id`` read ``form['id']``.
    """
    action = ACTIONS.get(op)
    if action is None:
        raise ValueError(
            f'run_action(op={op!r}): unknown operation; use one of {", ".join(ACTIONS)}'
        )
    action(huey, form)


def _short(task_name: str) -> str:
    return task_name.rsplit('.', 1)[-1]
