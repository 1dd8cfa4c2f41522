"""The 1.x API (``huey.api``): ``Huey(queue, result_store, schedule, events)``,
its task decorators and ``AsyncData``. Deprecated.

The legacy ``Huey`` *is* today's ``huey.Huey`` (a subclass), built over
``huey_legacy.storage.storage_for(...)``: the consumer, signals, locks and
at-least-once delivery all work unchanged. What differs is only the 1.x
surface: decorated functions return ``AsyncData`` (or None without a result
store), ``schedule()`` takes ``convert_utc``, periodic tasks run inline when
called, and ``always_eager`` calls the function at once and returns its value.
"""

from __future__ import annotations

import datetime
import functools
import weakref
from typing import Any, Callable

from huey_api import Huey as ModernHuey
from huey_api import Result, Serializer, Task, TaskWrapper
from huey_api.exceptions import ResultTimeout
from huey_crontab import crontab
from huey_storage import BaseStorage

from huey_legacy.adapters import legacy_name
from huey_legacy.deprecation import deprecated
from huey_legacy.events import connect_events
from huey_legacy.exceptions import DataStoreTimeout
from huey_legacy.storage import LegacyStorage, data_role_for, storage_for

__all__ = ['AsyncData', 'Huey', 'LegacyTaskWrapper', 'app_for_queue', 'crontab']

#: attribute set on a legacy queue object naming the application built on it
_APP_ATTRIBUTE = '_huey_legacy_app'


#: every legacy application of this process, to find one by its queue
_apps: weakref.WeakSet = weakref.WeakSet()


def _same_queue(a: Any, b: Any) -> bool:
    return (
        type(a) is type(b)
        and getattr(a, 'name', None) == getattr(b, 'name', None)
        and getattr(a, 'connection', None) == getattr(b, 'connection', None)
    )


def app_for_queue(queue: Any) -> Huey | None:
    """The legacy application built on ``queue`` (what a 0.x configuration class
    naming that queue runs), or on an equal queue (same class, name and
    connection: a configuration module may build its own); None if none."""
    app = getattr(queue, _APP_ATTRIBUTE, None)
    if app is None:
        app = next((app for app in list(_apps) if _same_queue(app.queue, queue)), None)
    return app


class _ResultStoreView:
    """Enough of a Huey for ``Result.get`` over a bare result store (the 0.x
    ``AsyncData(result_store, task_id)``); values use the default serializer."""

    def __init__(self, result_store: Any) -> None:
        self.storage = data_role_for(result_store)
        self.serializer = Serializer()

    def deserialize_value(self, key: str, data: bytes) -> Any:
        """What ``Result`` reads through (unsigned here: no key is bound)."""
        return self.serializer.deserialize(data)


def _owner(obj: Any) -> Any:
    """The Huey behind an ``Invoker``, a Huey, or a view of a bare result store."""
    if isinstance(obj, ModernHuey):
        return obj
    if isinstance(getattr(obj, 'huey', None), ModernHuey):
        return obj.huey
    return _ResultStoreView(obj)


class AsyncData:
    """Deprecated: the pending result of a task call. Use ``huey.Result``
    (what today's ``@huey.task()`` calls return).

    ``get()`` returns None until the result is ready; with ``blocking=True``
    it waits up to ``timeout`` seconds, then raises ``DataStoreTimeout``.
    """

    def __init__(self, huey: Any, task: Task | str) -> None:
        """``huey``: the legacy ``Huey``, an ``Invoker`` or (0.x) its result store;
        ``task``: the ``Task`` or its id."""
        deprecated('huey.api.AsyncData', 'huey.Result')
        self.huey = _owner(huey)
        self._result = Result(self.huey, task)

    @property
    def task_id(self) -> str:
        return self._result.id

    @property
    def task(self) -> Task | None:
        return self._result.task

    def get(
        self,
        blocking: bool = False,
        timeout: float | None = None,
        backoff: float = 1.15,
        max_delay: float = 1.0,
        revoke_on_timeout: bool = False,
    ) -> Any:
        """The task's return value (None while not ready); see the class docstring."""
        try:
            return self._result.get(blocking, timeout, backoff, max_delay, revoke_on_timeout)
        except DataStoreTimeout:
            raise
        except ResultTimeout as exc:
            raise DataStoreTimeout(str(exc)) from None

    def revoke(self) -> None:
        """Do not run this task call (unless it is already running)."""
        self._result.revoke()

    def restore(self) -> bool:
        """Run this task call after all, if it was revoked and not yet skipped."""
        return self._result.restore()

    def is_revoked(self) -> bool:
        return self._result.is_revoked()

    def __repr__(self) -> str:
        return f'<AsyncData: task {self.task_id}>'


class LegacyTaskWrapper:
    """Deprecated: what 1.x ``@huey.task()`` / 0.x ``@queue_command`` return.

    Wraps today's ``TaskWrapper`` (``.wrapper``); ``task_class`` is its task class.
    """

    def __init__(self, huey: Huey, wrapper: TaskWrapper, periodic: bool = False) -> None:
        self.huey = huey
        self.wrapper = wrapper
        self.periodic = periodic
        functools.update_wrapper(self, wrapper.func)

    @property
    def task_class(self) -> type[Task]:
        return self.wrapper.task_class

    @property
    def name(self) -> str:
        return self.wrapper.name

    def _async(self, result: Any) -> AsyncData | None:
        if result is None:
            return None
        async_data = AsyncData.__new__(AsyncData)
        async_data.huey, async_data._result = self.huey, result
        return async_data

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Enqueue the call: ``AsyncData``, or None without a result store.

        A periodic task runs here and now (the consumer runs it on schedule);
        with ``always_eager`` every task does and its value is returned.
        """
        if self.periodic or self.huey.always_eager:
            return self.wrapper.call_local(*args, **kwargs)
        return self._async(self.wrapper(*args, **kwargs))

    def schedule(
        self,
        args: Any = None,
        kwargs: Any = None,
        eta: datetime.datetime | None = None,
        delay: float | None = None,
        convert_utc: bool = True,
        task_id: str | None = None,
    ) -> AsyncData | None:
        """Run the call at ``eta`` (local time; UTC with ``convert_utc=False``)
        or after ``delay`` seconds."""
        if self.huey.always_eager:
            return self.wrapper.call_local(*(args or ()), **(kwargs or {}))
        if eta is not None and not convert_utc and eta.tzinfo is None:
            eta = eta.replace(tzinfo=datetime.timezone.utc)
        return self._async(self.wrapper.schedule(args, kwargs, eta=eta, delay=delay, id=task_id))

    def revoke(self, revoke_until: Any = None, revoke_once: bool = False) -> None:
        """Skip this task's calls: all of them, those until ``revoke_until``
        (a datetime), or just the next one (``revoke_once``)."""
        self.wrapper.revoke(revoke_until, revoke_once)

    def is_revoked(self, dt: Any = None) -> bool:
        """True if the task is revoked now (or at ``dt``)."""
        return self.wrapper.is_revoked(dt)

    def restore(self) -> bool:
        """Clear any revocation: the task runs normally again."""
        return self.wrapper.restore()

    def call_local(self, *args: Any, **kwargs: Any) -> Any:
        return self.wrapper.call_local(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        """Today's helpers (``s()``, ``map()``, ``unregister()``...) of the wrapped task."""
        if name == 'wrapper':
            raise AttributeError(name)
        return getattr(self.wrapper, name)

    def __repr__(self) -> str:
        return f'<LegacyTaskWrapper {self.name}>'


def _with_retries_argument(func: Callable) -> Callable:
    """``func`` taking ``retries=`` (1.x ``retries_as_argument``) as a context task."""

    @functools.wraps(func)
    def inner(*args: Any, task: Task, **kwargs: Any) -> Any:
        return func(*args, retries=task.retries, **kwargs)

    return inner


class Huey(ModernHuey):
    """Deprecated: the 1.x application, ``Huey(queue, result_store, schedule,
    events)``. Use ``huey.RedisHuey('name')``: with Redis backends of one
    name it is the very same storage.

    ``events`` (an event emitter) receives a JSON text for every task event.
    ``task_store`` is the 0.x place for scheduled tasks when the queue has no
    schedule of its own (see ``huey_legacy.storage``).
    """

    #: False where the legacy object building this one already warned (``Invoker``)
    _warns = True

    def __init__(
        self,
        queue: Any,
        result_store: Any = None,
        schedule: Any = None,
        events: Any = None,
        store_none: bool = False,
        always_eager: bool = False,
        task_store: Any = None,
        utc: bool = True,
    ) -> None:
        if self._warns:
            deprecated('huey.api.Huey(queue, ...)', "huey.RedisHuey('name')")
        if isinstance(queue, str) or not callable(getattr(queue, 'write', None)):
            raise TypeError(
                f'Huey({queue!r}, ...): the legacy Huey takes a queue object such as '
                "RedisBlockingQueue('app'); for today's API use huey.RedisHuey('app')"
            )
        self.queue = queue
        self.result_store = result_store
        self.schedule = schedule
        self.events = events
        self.task_store = task_store
        self._always_eager = bool(always_eager)
        #: settings for huey_consumer when a 0.x configuration class runs this app
        self.consumer_settings: dict[str, Any] = {}
        super().__init__(
            legacy_name(queue),
            results=result_store is not None,
            store_none=store_none,
            utc=utc,
            storage_class=LegacyStorage,
        )
        if events is not None:
            connect_events(self, events)
        setattr(queue, _APP_ATTRIBUTE, self)
        _apps.add(self)

    def create_storage(self) -> BaseStorage:
        return storage_for(self.queue, self.result_store, self.schedule, self.task_store)

    @property
    def always_eager(self) -> bool:
        """1.x: calls run the function at once and return its value."""
        return self._always_eager

    def task(
        self,
        retries: int = 0,
        retry_delay: float = 0,
        retries_as_argument: bool = False,
        include_task: bool = False,
        name: str | None = None,
        **task_settings: Any,
    ) -> Callable[[Callable], LegacyTaskWrapper]:
        """1.x decorator: calls enqueue the function and return ``AsyncData``.

        ``retries_as_argument`` passes ``retries=`` (retries left) to the
        function, ``include_task`` passes ``task=`` (the running task).
        """

        def decorator(func: Callable) -> LegacyTaskWrapper:
            target = _with_retries_argument(func) if retries_as_argument else func
            wrapper = ModernHuey.task(
                self,
                retries=retries,
                retry_delay=retry_delay,
                context=include_task or retries_as_argument,
                name=name,
                **task_settings,
            )(target)
            return LegacyTaskWrapper(self, wrapper)

        return decorator

    def periodic_task(
        self, validate_datetime: Callable, name: str | None = None, **task_settings: Any
    ) -> Callable[[Callable], LegacyTaskWrapper]:
        """1.x decorator: the consumer runs the function each minute
        ``validate_datetime`` accepts; calling it runs it here."""

        def decorator(func: Callable) -> LegacyTaskWrapper:
            wrapper = ModernHuey.periodic_task(self, validate_datetime, name=name, **task_settings)(
                func
            )
            return LegacyTaskWrapper(self, wrapper, periodic=True)

        return decorator
