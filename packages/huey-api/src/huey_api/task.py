"""Tasks: one call of a task function (``Task``), and the decorated function
(``TaskWrapper``) that creates them.

A task travels as a plain tuple (see ``Task.to_message``) so messages stay
small and fast to pickle::

    (id, name, eta, retries, retry_delay, priority, expires, args, kwargs,
     on_complete, on_error)

``eta`` and ``expires`` are epoch timestamps or None; ``on_complete`` and
``on_error`` are nested message tuples or None. A chord member's message has
a twelfth item, ``Task.chord``: ``(chord_id, index, size, callback_message)``.
"""

from __future__ import annotations

import functools
import time
from typing import Any, Callable, Iterable

from huey_api.utils import make_id, resolve_expires, seconds, to_datetime, to_timestamp

__all__ = ['PeriodicTask', 'Task', 'TaskWrapper']


class Task:
    """One invocation of a task function with its arguments and options.

    Subclasses are created per task function by ``TaskWrapper`` and carry the
    function and defaults as class attributes.
    """

    #: set on the per-function subclasses
    huey = None
    name: str = ''
    func: Callable | None = None
    default_retries = 0
    default_retry_delay = 0.0
    default_priority: int | None = None
    default_expires = None
    retry_backoff = 1.0
    context = False
    #: ``(chord_id, index, size, callback_message)`` for a chord member, else None
    chord: tuple | None = None

    def __init__(
        self,
        args: Iterable | None = None,
        kwargs: dict | None = None,
        id: str | None = None,
        eta=None,
        retries: int | None = None,
        retry_delay: float | None = None,
        priority: int | None = None,
        expires=None,
        on_complete: Task | None = None,
        on_error: Task | None = None,
    ) -> None:
        self.id = id or make_id()
        self.args = args if type(args) is tuple else (tuple(args) if args else ())
        self.kwargs = dict(kwargs) if kwargs else {}
        self.eta_ts = None if eta is None else to_timestamp(eta)
        self.retries = self.default_retries if retries is None else retries
        self.retry_delay = self.default_retry_delay if retry_delay is None else seconds(retry_delay)
        self.priority = self.default_priority if priority is None else priority
        if expires is None:
            expires = self.default_expires
        self.expires_ts = None if expires is None else resolve_expires(expires)
        self.on_complete = on_complete
        self.on_error = on_error

    # -- wire format ------------------------------------------------------

    def to_message(self) -> tuple:
        """This task as the plain tuple that gets serialized."""
        message = (
            self.id,
            self.name,
            self.eta_ts,
            self.retries,
            self.retry_delay,
            self.priority,
            self.expires_ts,
            self.args,
            self.kwargs,
            self.on_complete.to_message() if self.on_complete is not None else None,
            self.on_error.to_message() if self.on_error is not None else None,
        )
        if self.chord is not None:
            return message + (self.chord,)
        return message

    @classmethod
    def from_message(
        cls, message: tuple, on_complete: Task | None = None, on_error: Task | None = None
    ) -> Task:
        """Rebuild a task of this class from ``to_message()`` output (no defaults applied)."""
        task = cls.__new__(cls)
        (
            task.id,
            _name,
            task.eta_ts,
            task.retries,
            task.retry_delay,
            task.priority,
            task.expires_ts,
            task.args,
            task.kwargs,
        ) = message[:9]
        task.on_complete = on_complete
        task.on_error = on_error
        return task

    # -- user-facing views --------------------------------------------------

    def _utc(self) -> bool:
        return self.huey.utc if self.huey is not None else True

    @property
    def eta(self):
        """When the task may run: a naive datetime (UTC if ``huey.utc``, else local)."""
        return to_datetime(self.eta_ts, self._utc())

    @eta.setter
    def eta(self, value) -> None:
        self.eta_ts = to_timestamp(value)

    @property
    def expires(self):
        """Deadline after which the task is skipped, as a datetime like ``eta``."""
        return to_datetime(self.expires_ts, self._utc())

    @expires.setter
    def expires(self, value) -> None:
        self.expires_ts = resolve_expires(value)

    @property
    def expires_resolved(self):
        """huey's name for the resolved deadline; ``expires`` already is one."""
        return self.expires

    @property
    def data(self) -> tuple:
        """``(args, kwargs)``."""
        return self.args, self.kwargs

    # -- running ----------------------------------------------------------

    def execute(self) -> Any:
        """Call the task function (with ``task=self`` for context tasks)."""
        if self.context:
            return self.func(*self.args, task=self, **self.kwargs)
        return self.func(*self.args, **self.kwargs)

    def extend_data(self, value: Any) -> None:
        """Feed a parent's return value into this pipeline step.

        A tuple extends ``args``, a dict updates ``kwargs`` (returned values
        win), None adds nothing, anything else is appended to ``args``.
        """
        if value is None:
            return
        if isinstance(value, tuple):
            self.args = self.args + value
        elif isinstance(value, dict):
            self.kwargs.update(value)
        else:
            self.args = self.args + (value,)

    # -- pipelines --------------------------------------------------------

    def then(self, task, *args, **kwargs) -> Task:
        """Run ``task`` (a Task, or a TaskWrapper called with args) after this one."""
        if isinstance(task, TaskWrapper):
            task = task.s(*args, **kwargs)
        elif args or kwargs:
            raise TypeError(f'then({task!r}, ...): pass arguments only with a task function')
        last = self
        while last.on_complete is not None:
            last = last.on_complete
        last.on_complete = task
        return self

    def error(self, task, *args, **kwargs) -> Task:
        """Run ``task`` with the exception appended to its args if this one fails for good."""
        if isinstance(task, TaskWrapper):
            task = task.s(*args, **kwargs)
        self.on_error = task
        return self

    def chain(self) -> list[Task]:
        """This task and every ``on_complete`` after it."""
        tasks, task = [], self
        while task is not None:
            tasks.append(task)
            task = task.on_complete
        return tasks

    def copy(self, **changes) -> Task:
        """A copy with a new id (unless given) and the given attributes changed."""
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.kwargs = dict(self.kwargs)
        clone.id = make_id()
        for key, value in changes.items():
            setattr(clone, key, value)
        return clone

    def __repr__(self) -> str:
        text = f'{self.name}: {self.id}'
        if self.eta_ts is not None:
            text += f' @{self.eta.replace(microsecond=0)}'
        if self.expires_ts is not None:
            text += f' exp={self.expires.replace(microsecond=0)}'
        if self.retries:
            text += f' {self.retries} retries'
        if self.chord is not None:
            text += f' (chord {self.chord[0]} member {self.chord[1] + 1}/{self.chord[2]})'
        if self.on_error is not None:
            text += f', on error {self.on_error!r}'
        if self.on_complete is not None:
            text += f' -> {self.on_complete!r}'
        return text

    def __eq__(self, other) -> bool:
        return (
            isinstance(other, Task)
            and self.id == other.id
            and self.name == other.name
            and self.args == other.args
            and self.kwargs == other.kwargs
            and self.eta_ts == other.eta_ts
        )

    def __hash__(self) -> int:
        return hash(self.id)


class PeriodicTask(Task):
    """A task the consumer enqueues whenever ``validate_datetime(now)`` is true."""

    @staticmethod
    def validate_datetime(dt) -> bool:  # replaced per task function
        return False


class TaskWrapper:
    """What ``@huey.task()`` returns: call it to enqueue, or use its helpers."""

    def __init__(
        self,
        huey,
        func: Callable,
        retries: int = 0,
        retry_delay: float = 0,
        priority: int | None = None,
        context: bool = False,
        name: str | None = None,
        expires=None,
        retry_backoff: float = 1.0,
        task_base: type[Task] = Task,
        **settings,
    ) -> None:
        if retries < 0:
            raise ValueError(f'retries={retries!r}: must be 0 or more')
        if retry_backoff <= 0:
            raise ValueError(
                f'retry_backoff={retry_backoff!r}: must be > 0 (1.0 means a fixed delay)'
            )
        self.huey = huey
        self.func = func
        self.name = name or f'{func.__module__}.{func.__name__}'
        attrs = dict(settings)
        attrs.update(
            __module__=func.__module__,
            huey=huey,
            name=self.name,
            func=staticmethod(func),
            default_retries=retries,
            default_retry_delay=seconds(retry_delay),
            default_priority=priority,
            default_expires=expires,
            retry_backoff=retry_backoff,
            context=context,
        )
        self.task_class: type[Task] = type(func.__name__, (task_base,), attrs)
        self.task_class.wrapper = self
        if 'validate_datetime' in attrs:
            self.validate_datetime = attrs['validate_datetime'].__func__
        functools.update_wrapper(self, func)
        huey.registry.register(self.task_class)

    def __call__(self, *args, **kwargs):
        """Enqueue a call; returns its ``Result`` (None when results are off)."""
        return self.huey.enqueue(self.s(*args, **kwargs))

    def s(self, *args, **kwargs) -> Task:
        """A ``Task`` for this call, not enqueued (for ``huey.enqueue`` and pipelines)."""
        return self.task_class(args, kwargs)

    def schedule(
        self,
        args: Iterable | None = None,
        kwargs: dict | None = None,
        eta=None,
        delay=None,
        priority: int | None = None,
        retries: int | None = None,
        retry_delay: float | None = None,
        expires=None,
        id: str | None = None,
    ):
        """Enqueue a call to run at ``eta`` (datetime, naive = local) or after ``delay``."""
        if delay is not None:
            if eta is not None:
                raise ValueError('schedule(): pass eta or delay, not both')
            eta = time.time() + seconds(delay)
        task = self.task_class(
            args,
            kwargs,
            id=id,
            eta=eta,
            retries=retries,
            retry_delay=retry_delay,
            priority=priority,
            expires=expires,
        )
        return self.huey.enqueue(task)

    def map(self, iterable: Iterable):
        """Enqueue one call per item (a tuple is *args, anything else one arg).

        Returns a ``ResultGroup``; the messages go to the storage in one batch.
        """
        tasks = [self.task_class(item if isinstance(item, tuple) else (item,)) for item in iterable]
        return self.huey.enqueue_many(tasks)

    def revoke(self, revoke_until=None, revoke_once: bool = False) -> None:
        """Skip every call of this task (until ``revoke_until``, or just the next one)."""
        self.huey.revoke_all(self.task_class, revoke_until, revoke_once)

    def is_revoked(self, timestamp=None) -> bool:
        return self.huey.is_revoked(self.task_class, timestamp)

    def restore(self) -> bool:
        return self.huey.restore_all(self.task_class)

    def call_local(self, *args, **kwargs) -> Any:
        """Call the undecorated function in this process."""
        return self.func(*args, **kwargs)

    def unregister(self) -> bool:
        """Forget this task in this process; its messages become unknown here."""
        return self.huey.registry.unregister(self.task_class)

    def __repr__(self) -> str:
        return f'<TaskWrapper {self.name}>'
