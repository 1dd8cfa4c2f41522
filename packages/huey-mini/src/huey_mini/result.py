"""The handle returned by calling or scheduling a MiniHuey task."""

from __future__ import annotations

import uuid
from typing import Any

from gevent.event import AsyncResult

__all__ = ['MiniResult', 'ResultTimeout']


class ResultTimeout(TimeoutError):
    """``get(timeout=...)`` gave up before the task finished."""


class MiniResult:
    """The outcome of one task run, filled in by the greenlet that runs it.

    ``get()`` blocks (cooperatively) until the task has run and returns its
    value or re-raises its exception. Nothing is persisted: the value lives
    only in this object.
    """

    __slots__ = ('id', 'task_name', '_async')

    def __init__(self, task_name: str) -> None:
        self.id: str = uuid.uuid4().hex
        self.task_name = task_name
        self._async = AsyncResult()

    def get(self, blocking: bool = True, timeout: float | None = None) -> Any:
        """Return the task's value, re-raising its exception if it failed.

        ``blocking=False`` returns None at once when the task has not
        finished. With a ``timeout`` (seconds), raises :class:`ResultTimeout`
        if the task is still pending when it expires.
        """
        if blocking:
            self._async.wait(timeout)
        if not self._async.ready():
            if not blocking:
                return None
            raise ResultTimeout(
                f'task {self.task_name} ({self.id}) did not finish within {timeout} seconds; '
                'call get() again to keep waiting'
            )
        return self._async.get(block=False)

    def __call__(self, blocking: bool = True, timeout: float | None = None) -> Any:
        """Same as :meth:`get`, like huey's ``Result``."""
        return self.get(blocking=blocking, timeout=timeout)

    def ready(self) -> bool:
        """True once the task has returned or raised."""
        return self._async.ready()

    @property
    def exception(self) -> BaseException | None:
        """The exception the task raised, or None (also while pending)."""
        return self._async.exception

    def _set(self, value: Any) -> None:
        self._async.set(value)

    def _set_exception(self, exc: BaseException, exc_info: Any = None) -> None:
        self._async.set_exception(exc, exc_info)

    def __repr__(self) -> str:
        if not self._async.ready():
            state = 'pending'
        elif self._async.successful():
            state = 'done'
        else:
            state = f'failed: {self._async.exception!r}'
        return f'<MiniResult {self.task_name} {self.id} {state}>'
