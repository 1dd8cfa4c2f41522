"""Handles on task results: ``Result`` for one task, ``ResultGroup`` for several,
``ChordResult`` for a chord."""

from __future__ import annotations

import time
from typing import Any, Iterator

from huey_storage import EmptyData

from huey_api.exceptions import ResultTimeout, TaskException
from huey_api.utils import seconds, to_timestamp

__all__ = ['SKIPPED', 'ChordResult', 'Error', 'Result', 'ResultGroup']


class Error:
    """What the result store holds for a failed task; ``Result.get`` raises it."""

    __slots__ = ('metadata',)

    def __init__(self, metadata: dict) -> None:
        self.metadata = metadata

    def __reduce__(self):
        return (Error, (self.metadata,))

    def __eq__(self, other) -> bool:
        return isinstance(other, Error) and other.metadata == self.metadata

    __hash__ = None

    def __repr__(self) -> str:
        return '<Error {}>'.format(self.metadata.get('error'))


class _Skipped:
    """Type of ``SKIPPED``: one instance, kept across pickling."""

    __slots__ = ()

    def __repr__(self) -> str:
        return 'SKIPPED'

    def __reduce__(self) -> str:
        return 'SKIPPED'  # pickled as a reference to the module global


#: What a chord member that did not run (revoked, expired, canceled) gives
#: the callback in its place.
SKIPPED = _Skipped()


class Result:
    """The future return value of one enqueued task.

    ``get()`` pops the value from the result store (unless ``preserve``) and
    keeps it on this object, so later calls return it without a round trip;
    ``reset()`` forgets it.
    """

    def __init__(self, huey, task) -> None:
        self.huey = huey
        #: the Task, or None for a result looked up by id (``huey.result(id)``)
        if type(task) is str:
            self.task, self.id = None, task
        else:
            self.task, self.id = task, task.id
        self._value: Any = EmptyData

    def __call__(self, *args, **kwargs) -> Any:
        return self.get(*args, **kwargs)

    def __repr__(self) -> str:
        return f'<Result: task {self.id}>'

    def _unwrap(self, value: Any) -> Any:
        if isinstance(value, Error):
            raise TaskException(value.metadata)
        return value

    def _get(self, preserve: bool = False) -> Any:
        """The value, read into this handle if stored (EmptyData if not yet)."""
        if self._value is EmptyData:
            storage = self.huey.storage
            data = storage.peek_data(self.id) if preserve else storage.pop_data(self.id)
            if data is not EmptyData:
                self._value = self.huey.deserialize_value(self.id, data)
        return self._value

    def get_raw_result(
        self,
        blocking: bool = False,
        timeout: float | None = None,
        backoff: float = 1.15,
        max_delay: float = 1.0,
        revoke_on_timeout: bool = False,
        preserve: bool = False,
    ) -> Any:
        """The stored value, kept on this handle, without raising a stored
        ``Error``. Not ready: None, or with ``blocking`` a wait (up to
        ``timeout`` seconds, then ``ResultTimeout``) through the storage's
        ``wait_data``; ``backoff``/``max_delay`` are accepted for
        compatibility, the storage picks how to wait. ``revoke_on_timeout``
        revokes the task when the wait times out."""
        value = self._get(preserve)
        if value is not EmptyData:
            return value
        if not blocking:
            return None
        if self.huey.storage.wait_result(self.id, timeout):  # wait, then read
            value = self._get(preserve)
            if value is not EmptyData:
                return value
        if revoke_on_timeout:
            self.revoke()
        raise ResultTimeout(f'task {self.id} has no result after {timeout}s')

    def get(
        self,
        blocking: bool = False,
        timeout: float | None = None,
        backoff: float = 1.15,
        max_delay: float = 1.0,
        revoke_on_timeout: bool = False,
        preserve: bool = False,
    ) -> Any:
        """The task's return value; None if not ready (non-blocking).

        Waits like ``get_raw_result``; a failed task raises ``TaskException``.
        """
        return self._unwrap(
            self.get_raw_result(blocking, timeout, backoff, max_delay, revoke_on_timeout, preserve)
        )

    async def aget(self, timeout: float | None = None, preserve: bool = False) -> Any:
        """``get`` for asyncio code: waits for the value without blocking the
        event loop (``ResultTimeout`` after ``timeout`` seconds)."""
        from huey_api.aio import aget_result

        return await aget_result(self, preserve=preserve, timeout=timeout)

    def __await__(self):
        """``await result``: the value, as ``aget()`` waits for it."""
        return self.aget().__await__()

    def is_ready(self) -> bool:
        """True once the task stored its value; reads it into this handle,
        so a later ``get`` cannot miss it."""
        return self._get() is not EmptyData

    def reset(self) -> None:
        """Forget the cached value so the next ``get`` reads the store again."""
        self._value = EmptyData

    def revoke(self, revoke_until=None, revoke_once: bool = True) -> None:
        """Skip this task's next run (every run until ``revoke_until`` with
        ``revoke_once=False``); the task name stays enabled."""
        self.huey.revoke_by_id(self.id, revoke_until, revoke_once)

    def restore(self) -> bool:
        return self.huey.restore_by_id(self.id)

    def is_revoked(self) -> bool:
        """True if this task, or every task of its name, is revoked."""
        return self.huey.is_revoked(self.task if self.task is not None else self.id)

    def reschedule(
        self,
        eta=None,
        delay=None,
        expires=None,
        priority: int | None = None,
        preserve_pipeline: bool = True,
    ) -> Result:
        """Revoke this call and enqueue a copy (new id) at ``eta`` or after
        ``delay`` (now without either), keeping its options unless given."""
        if self.task is None:
            raise ValueError(
                f'result {self.id} was looked up by id: reschedule needs the Result '
                'returned when the task was enqueued'
            )
        if delay is not None:
            eta = time.time() + seconds(delay)
        self.huey.revoke_by_id(self.id, revoke_once=True)
        task = self.task
        changes = {
            'eta_ts': to_timestamp(eta),
            'on_complete': task.on_complete if preserve_pipeline else None,
            'on_error': task.on_error if preserve_pipeline else None,
        }
        if priority is not None:
            changes['priority'] = priority
        if expires is not None:
            changes['expires'] = expires
        return self.huey.enqueue(task.copy(**changes))


class ResultGroup:
    """Results of several tasks (a pipeline or ``map``), in order."""

    def __init__(self, results: list[Result]) -> None:
        self._results = list(results)

    def get(self, *args, **kwargs) -> list[Any]:
        """``Result.get`` on each, with the same arguments, as a list."""
        return [result.get(*args, **kwargs) for result in self._results]

    __call__ = get

    async def aget(self, timeout: float | None = None, preserve: bool = False) -> list[Any]:
        """Every value, in order, awaited concurrently (see ``Result.aget``)."""
        from huey_api.aio import aget_result_group

        return await aget_result_group(self, preserve=preserve, timeout=timeout)

    def __await__(self):
        return self.aget().__await__()

    def as_completed(self, timeout: float | None = None, poll: float = 0.01) -> Iterator[Any]:
        """Yield values as tasks finish (``ResultTimeout`` after ``timeout`` seconds)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        pending = list(self._results)
        while pending:
            for result in list(pending):
                if result._value is not EmptyData or result.is_ready():
                    pending.remove(result)
                    yield result.get()
            if pending:
                if deadline is not None and time.monotonic() > deadline:
                    raise ResultTimeout(
                        f'{len(pending)} of {len(self._results)} tasks '
                        f'have no result after {timeout}s'
                    )
                time.sleep(poll)

    def reset(self) -> None:
        for result in self._results:
            result.reset()

    def __getitem__(self, index) -> Any:
        """The value of the task at ``index``, waiting for it (like huey)."""
        return self._results[index].get(blocking=True)

    def __iter__(self) -> Iterator[Result]:
        return iter(self._results)

    def __len__(self) -> int:
        return len(self._results)

    def __repr__(self) -> str:
        return f'<ResultGroup: {len(self._results)} results>'


class ChordResult:
    """What ``huey.enqueue(chord(...))`` returns.

    ``results`` is the members' ``ResultGroup``, ``callback`` the callback's
    ``Result`` (its id is fixed when the chord is built, so it exists before
    the callback is enqueued), ``pipeline_results`` the callback's pipeline
    (a ``ResultGroup`` when the chord has ``then`` steps, else None).
    """

    def __init__(
        self, results: ResultGroup, callback: Result, pipeline_results: ResultGroup | None = None
    ) -> None:
        self.results = results
        self.callback = callback
        self.pipeline_results = pipeline_results

    @property
    def callback_tail(self) -> Result:
        """The result of the callback's last pipeline step."""
        if self.pipeline_results is None:
            return self.callback
        return list(self.pipeline_results)[-1]

    def get(self, *args, **kwargs) -> Any:
        """The callback's value (same arguments as ``Result.get``)."""
        return self.callback.get(*args, **kwargs)

    __call__ = get

    async def aget(self, timeout: float | None = None, preserve: bool = False) -> Any:
        """The callback's value, awaited (see ``Result.aget``)."""
        return await self.callback.aget(timeout, preserve)

    def __await__(self):
        return self.aget().__await__()

    def reset(self) -> None:
        """Forget every cached value (members, callback and its pipeline)."""
        self.results.reset()
        self.callback.reset()
        if self.pipeline_results is not None:
            self.pipeline_results.reset()

    def __repr__(self) -> str:
        return f'<ChordResult: {len(self.results)} tasks -> task {self.callback.id}>'
