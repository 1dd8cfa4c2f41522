"""The 0.x ``Invoker`` (``huey.queue``), deprecated: use ``huey.RedisHuey('name')``."""

from __future__ import annotations

from typing import Any

from huey_legacy.api import AsyncData, Huey
from huey_legacy.deprecation import deprecated

__all__ = ['AsyncData', 'Invoker']


class _InvokerHuey(Huey):
    """The application an ``Invoker`` drives (warns as ``Invoker``, not ``Huey``)."""

    _warns = False


class Invoker:
    """Deprecated: ties a 0.x queue, result store and task store together for
    ``queue_command`` / ``periodic_command``. Use ``huey.RedisHuey('name')``.

    ``huey`` is the application it builds (today's ``Huey``); the consumer
    runs it through a ``BaseConfiguration`` naming the same ``QUEUE``.
    """

    def __init__(
        self,
        queue: Any,
        result_store: Any = None,
        task_store: Any = None,
        store_none: bool = False,
        always_eager: bool = False,
    ) -> None:
        deprecated('huey.queue.Invoker', "huey.RedisHuey('name')")
        self.queue = queue
        self.result_store = result_store
        self.task_store = task_store
        self.store_none = store_none
        self.always_eager = always_eager
        self.huey = _InvokerHuey(
            queue,
            result_store,
            store_none=store_none,
            always_eager=always_eager,
            task_store=task_store,
        )

    def __repr__(self) -> str:
        return f'<Invoker {self.queue!r}>'
