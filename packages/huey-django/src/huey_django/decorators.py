"""Task decorators that know about Django's database connections and transactions.

They take the application from ``huey_django.HUEY`` when called, so this
module can be imported before the setting is read.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

from django.db import close_old_connections, transaction

__all__ = ['close_db', 'db_periodic_task', 'db_task', 'on_commit_task']


def _huey():
    from huey_django import HUEY

    return HUEY


def close_db(func: Callable) -> Callable:
    """Close stale or broken database connections before and after ``func``.

    A consumer lives for days: Django only recycles connections at the end of a
    request, so a task must do it itself (``CONN_MAX_AGE``, a restarted
    database). Skipped in immediate mode, where the task runs inside the
    caller's request or transaction.
    """

    @functools.wraps(func)
    def run_with_fresh_connections(*args: Any, **kwargs: Any) -> Any:
        if _huey().immediate:
            return func(*args, **kwargs)
        close_old_connections()
        try:
            return func(*args, **kwargs)
        finally:
            close_old_connections()

    return run_with_fresh_connections


def db_task(*args: Any, **kwargs: Any) -> Callable:
    """``task()`` for functions that use the Django ORM (see ``close_db``)."""

    def decorator(func: Callable):
        wrapper = _huey().task(*args, **kwargs)(close_db(func))
        wrapper.call_local = func
        return wrapper

    return decorator


def db_periodic_task(*args: Any, **kwargs: Any) -> Callable:
    """``periodic_task()`` for functions that use the Django ORM."""

    def decorator(func: Callable):
        wrapper = _huey().periodic_task(*args, **kwargs)(close_db(func))
        wrapper.call_local = func
        return wrapper

    return decorator


def on_commit_task(*args: Any, using: str | None = None, **kwargs: Any) -> Callable:
    """A ``db_task`` enqueued only when the current transaction commits.

    Calling it returns the task's ``Result`` at once (None with
    ``results=False``); if the transaction rolls back nothing is enqueued and
    the result never arrives. Outside a transaction (autocommit) it is
    enqueued immediately. ``using`` names the database alias whose transaction
    counts. The plain task is ``.task`` (for ``.s()``, ``.schedule()``...).
    """

    def decorator(func: Callable) -> Callable:
        huey = _huey()
        wrapper = huey.task(*args, **kwargs)(close_db(func))

        @functools.wraps(func)
        def enqueue_on_commit(*call_args: Any, **call_kwargs: Any):
            signature = wrapper.s(*call_args, **call_kwargs)
            transaction.on_commit(functools.partial(huey.enqueue, signature), using=using)
            if not huey.results:
                return None
            from huey_api import Result

            return Result(huey, signature)

        enqueue_on_commit.task = wrapper  # type: ignore[attr-defined]
        enqueue_on_commit.call_local = func  # type: ignore[attr-defined]
        return enqueue_on_commit

    return decorator
