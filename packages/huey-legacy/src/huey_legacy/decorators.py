"""The 0.x decorators (``huey.decorators``), deprecated: use ``@huey.task()``
and ``@huey.periodic_task(...)``."""

from __future__ import annotations

from typing import Any, Callable

from huey_crontab import crontab

from huey_legacy.api import LegacyTaskWrapper
from huey_legacy.deprecation import deprecated

__all__ = ['crontab', 'periodic_command', 'queue_command']


def queue_command(invoker: Any) -> Callable[[Callable], LegacyTaskWrapper]:
    """Deprecated: calls of the decorated function are run by the consumer;
    they return ``AsyncData`` with a result store, else None. Use ``@huey.task()``."""
    deprecated('huey.decorators.queue_command', '@huey.task()')
    return invoker.huey.task()


def periodic_command(
    invoker: Any, validate_datetime: Callable
) -> Callable[[Callable], LegacyTaskWrapper]:
    """Deprecated: the consumer (with ``PERIODIC = True``) runs the decorated
    function each minute ``validate_datetime`` accepts. Use
    ``@huey.periodic_task(crontab(...))``."""
    deprecated('huey.decorators.periodic_command', '@huey.periodic_task(crontab(...))')
    return invoker.huey.periodic_task(validate_datetime)
