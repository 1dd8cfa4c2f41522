"""``huey.djhuey.decorators``: the 0.x decorators bound to the invoker of
``settings.HUEY_CONFIG`` (``@queue_command`` takes no arguments)."""

from __future__ import annotations

from typing import Callable

from huey_crontab import crontab

from huey_legacy import decorators
from huey_legacy.api import LegacyTaskWrapper
from huey_legacy.djhuey.settings import invoker

__all__ = ['crontab', 'periodic_command', 'queue_command']


def queue_command(func: Callable) -> LegacyTaskWrapper:
    """Deprecated: calls of ``func`` are run by ``manage.py run_huey``; they
    return ``AsyncData`` with a ``RESULT_STORE``, else None."""
    return decorators.queue_command(invoker())(func)


def periodic_command(validate_datetime: Callable) -> Callable[[Callable], LegacyTaskWrapper]:
    """Deprecated: ``run_huey`` (with ``PERIODIC``) runs the decorated function
    each minute ``validate_datetime`` accepts."""
    return decorators.periodic_command(invoker(), validate_datetime)
