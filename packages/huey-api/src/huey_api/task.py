"""Tasks: one call of a task function (``Task``), and the decorated function
(``TaskWrapper``) that creates them. A task travels as a ``message.Message``.
"""

from __future__ import annotations

import datetime
import functools
import inspect
import math
import time
from typing import Any, Callable, Iterable

from huey_api.constants import REVOKE_PREFIX
from huey_api.coroutines import async_task_base
from huey_api.exceptions import TaskTimeout
from huey_api.message import Chord, Message
from huey_api.utils import (
    frame_timestamp,
    make_id,
    resolve_expires,
    seconds,
    to_datetime,
    to_timestamp,
)

__all__ = ['TASK_OPTIONS', 'PeriodicTask', 'Task', 'TaskWrapper', 'check_options', 'signature']

#: keywords that ``TaskWrapper.s()`` and calls take as options of the task,
#: not as arguments of the function (as huey does)
TASK_OPTIONS = (
    'id',
    'eta',
    'delay',
    'retries',
    'retry_delay',
    'retry_backoff',
    'priority',
    'expires',
    'timeout',
)


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
    default_retry_backoff = 0
    default_timeout: float | None = None
    context = False
    #: True for an ``async def`` task function (``huey_api.coroutines``)
    is_async = False
    #: a ``message.Chord`` for a chord member, else None
    chord: Chord | None = None

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
        retry_backoff: float | None = None,
        timeout: float | None = None,
    ) -> None:
        if not (
            id is None
            and eta is None
            and retries is None
            and retry_delay is None
            and priority is None
            and expires is None
            and retry_backoff is None
            and timeout is None
        ):
            check_options(
                self.name,
                id=id,
                eta=eta,
                retries=retries,
                retry_delay=retry_delay,
                priority=priority,
                expires=expires,
                retry_backoff=retry_backoff,
                timeout=timeout,
            )
        self.id = id or make_id()
        self.args = args if type(args) is tuple else _as_args(args)
        self.kwargs = dict(kwargs) if kwargs else {}
        self.eta_ts = None if eta is None else to_timestamp(eta)
        self.retries = self.default_retries if retries is None else retries
        self.retry_delay = self.default_retry_delay if retry_delay is None else seconds(retry_delay)
        self.retry_backoff = self.default_retry_backoff if retry_backoff is None else retry_backoff
        self.priority = self.default_priority if priority is None else priority
        self.timeout = self.default_timeout if timeout is None else timeout
        #: the expiry as given (seconds, timedelta or datetime); see ``expires_ts``
        self.expires = self.default_expires if expires is None else expires
        self.expires_ts = None if self.expires is None else resolve_expires(self.expires)
        self.on_complete = on_complete
        self.on_error = on_error
        self._deadline: float | None = None

    # -- wire format ------------------------------------------------------

    def to_message(self) -> Message:
        """This task (and the steps after it) as a ``Message``."""
        steps = self.chain()
        message = None
        for step in reversed(steps):
            message = step._message(message)
        return message

    def _message(self, on_complete: Message | None) -> Message:
        return Message(
            self.id,
            self.name,
            self.eta_ts,
            self.retries,
            self.retry_delay,
            self.priority,
            self.expires_ts,
            self.args,
            self.kwargs,
            on_complete,
            None if self.on_error is None else self.on_error.to_message(),
            self.chord,
            self.retry_backoff,
            self.timeout,
            None if self.expires_ts is None else self.expires,
        )

    @classmethod
    def from_message(
        cls, message: Message, on_complete: Task | None = None, on_error: Task | None = None
    ) -> Task:
        """A task of this class from ``message`` (no defaults applied); the
        registry builds its ``on_complete`` and ``on_error`` tasks."""
        task = cls.__new__(cls)
        task.id = message.id
        task.eta_ts = message.eta
        task.retries = message.retries
        task.retry_delay = message.retry_delay
        task.retry_backoff = message.retry_backoff
        task.timeout = message.timeout
        task.priority = message.priority
        task.expires_ts = message.expires
        task.expires = message.expires_given
        task.args = message.args
        task.kwargs = message.kwargs
        task.on_complete = on_complete
        task.on_error = on_error
        if message.chord is not None:
            task.chord = message.chord
        task._deadline = None
        return task

    # -- user-facing views --------------------------------------------------

    def _utc(self) -> bool:
        return self.huey.utc if self.huey is not None else True

    @property
    def eta(self):
        """When the task may run: a naive datetime in huey's clock (UTC if
        ``huey.utc``, else local time); setting a naive one reads it the same way."""
        return to_datetime(self.eta_ts, self._utc())

    @eta.setter
    def eta(self, value) -> None:
        self.eta_ts = frame_timestamp(value, self._utc())

    @property
    def expires_resolved(self):
        """The deadline after which the task is skipped, a datetime like ``eta``."""
        return to_datetime(self.expires_ts, self._utc())

    def resolve_expires(self, now: float | None = None) -> float | None:
        """Fix the deadline of a relative ``expires`` from ``now`` (the enqueue time)."""
        if self.expires is not None:
            self.expires_ts = resolve_expires(self.expires, now)
        return self.expires_ts

    @property
    def revoke_id(self) -> str:
        """The data key holding this instance's revocation."""
        return REVOKE_PREFIX + self.id

    # -- timeouts (cooperative: a context task calls check_timeout) ---------

    @property
    def time_remaining(self) -> float:
        """Seconds left before this run's ``timeout`` (inf without one)."""
        if self._deadline is None:
            return float('inf')
        return max(0.0, self._deadline - time.monotonic())

    @property
    def is_timed_out(self) -> bool:
        return self._deadline is not None and time.monotonic() >= self._deadline

    def check_timeout(self) -> None:
        """Raise ``TaskTimeout`` once this run passed its ``timeout``."""
        if self.is_timed_out:
            raise TaskTimeout(f'timeout {self.timeout}s')

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
        if value is None or value == ():
            return
        if isinstance(value, tuple):
            self.args = self.args + value
        elif isinstance(value, dict):
            for key, item in value.items():  # arguments given by the caller win
                self.kwargs.setdefault(key, item)
        else:
            self.args = self.args + (value,)

    # -- pipelines --------------------------------------------------------

    def then(self, task, *args, **kwargs) -> Task:
        """Run ``task`` after this one (after the last step of a pipeline).

        ``task`` is a task function (called with ``args``) or a signature,
        whose arguments ``args`` and ``kwargs`` then extend."""
        last = self
        while last.on_complete is not None:
            last = last.on_complete
        last.on_complete = signature(task, args, kwargs)
        return self

    def error(self, task, *args, **kwargs) -> Task:
        """Run ``task`` with the exception appended to its args when this one
        fails (a second ``error`` handles the first handler's failure)."""
        last = self
        while last.on_error is not None:
            last = last.on_error
        last.on_error = signature(task, args, kwargs)
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
        """``name: id`` and options, then the later steps by name only.

        Never raises and stays short whatever a decoded task holds (error
        paths log it), however long its pipeline.
        """
        try:
            text = f'{self.name}: {self.id}'
            if self.eta_ts is not None:
                text += f' @{self.eta.replace(microsecond=0)}'
            if self.expires_ts is not None:
                text += f' exp={self.expires_resolved.replace(microsecond=0)}'
            if self.priority:
                text += f' p={self.priority}'
            if self.retries:
                text += f' {self.retries} retries'
            if self.chord is not None:
                text += f' (chord {self.chord.id} member {self.chord.index + 1}/{self.chord.size})'
            if self.on_error is not None:
                text += f', on error {self.on_error.name}'
            steps = self.chain()[1:]
            if steps:
                text += ''.join(f' -> {step.name}' for step in steps[:3])
                if len(steps) > 3:
                    text += f' (+{len(steps) - 3} steps)'
            return text
        except Exception:
            return f'<{type(self).__name__} {getattr(self, "id", "?")!r:.40}>'

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


def _finite(value) -> bool:
    return type(value) in (int, float) and math.isfinite(value)


#: option -> (is it valid?, what it must be); None is always valid (the default)
_OPTION_CHECKS = {
    'id': (lambda v: type(v) is str and v != '', 'a non-empty string'),
    'eta': (
        lambda v: isinstance(v, datetime.datetime) or _finite(v),
        'a datetime or epoch seconds',
    ),
    'delay': (
        lambda v: isinstance(v, datetime.timedelta) or _finite(v),
        'a finite number of seconds or a timedelta',
    ),
    'retries': (lambda v: type(v) is int and v >= 0, 'a whole number >= 0'),
    'retry_delay': (
        lambda v: (isinstance(v, datetime.timedelta) or _finite(v)) and seconds(v) >= 0,
        'seconds >= 0 or a timedelta',
    ),
    'retry_backoff': (lambda v: _finite(v) and v >= 0, 'a number >= 0 (0 or 1: a fixed delay)'),
    'priority': (lambda v: type(v) is int, 'a whole number (higher runs first)'),
    'expires': (
        lambda v: isinstance(v, (datetime.datetime, datetime.timedelta)) or _finite(v),
        'seconds, a timedelta or a datetime',
    ),
    'timeout': (lambda v: _finite(v) and v >= 0, 'seconds >= 0'),
}


def check_options(where: str, **options) -> None:
    """``ValueError`` naming the first task option (of ``TASK_OPTIONS``) that
    is not valid, so a bad call fails where it is made, on every storage."""
    for name, value in options.items():
        if value is None:
            continue
        valid, expected = _OPTION_CHECKS[name]
        if not valid(value):
            raise ValueError(f'{where}: {name}={value!r} is not valid: pass {expected}')


def _as_args(args) -> tuple:
    if args is None:
        return ()
    if isinstance(args, (str, bytes, dict)):
        return (args,)
    try:
        return tuple(args)
    except TypeError:  # one argument given bare: schedule(3, delay=60)
        return (args,)


def signature(task, args: tuple = (), kwargs: dict | None = None) -> Task:
    """A ``Task`` from a task function called with ``args``/``kwargs``, or a
    signature extended with them."""
    if isinstance(task, TaskWrapper):
        return task.s(*args, **(kwargs or {}))
    if not isinstance(task, Task):
        raise TypeError(f'{task!r}: pass a task function or a signature made with .s(...)')
    if args:
        task.extend_data(tuple(args))
    if kwargs:
        task.extend_data(dict(kwargs))
    return task


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
        retry_backoff: float = 0,
        timeout: float | None = None,
        task_base: type[Task] = Task,
        **settings,
    ) -> None:
        if isinstance(func, TaskWrapper):
            func = func.func
        if inspect.iscoroutinefunction(func):  # see huey_api.coroutines
            task_base = async_task_base(task_base)
        check_options(
            f'@task() of {func.__qualname__}',
            retries=retries,
            retry_delay=retry_delay,
            retry_backoff=retry_backoff,
            priority=priority,
            expires=expires,
            timeout=timeout,
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
            default_retry_backoff=retry_backoff,
            default_timeout=timeout,
            context=context,
        )
        self.task_class: type[Task] = type(func.__name__, (task_base,), attrs)
        self.task_class.wrapper = self
        if 'validate_datetime' in attrs:
            self.validate_datetime = attrs['validate_datetime'].__func__
        functools.update_wrapper(self, func)
        huey.registry.register(self.task_class)

    @property
    def retries(self) -> int:
        """Default retries of this task's calls."""
        return self.task_class.default_retries

    @property
    def retry_delay(self) -> float:
        return self.task_class.default_retry_delay

    def __call__(self, *args, **kwargs):
        """Enqueue a call; returns its ``Result`` (None when results are off).

        Keywords named in ``TASK_OPTIONS`` set the call's options (see ``s``)."""
        return self.huey.enqueue(self.s(*args, **kwargs))

    async def aio(self, *args, **kwargs):
        """``await add.aio(1, 2)``: enqueue from asyncio code without
        blocking its event loop; the ``Result`` can be awaited."""
        return await self.huey.aenqueue(self.s(*args, **kwargs))

    def s(self, *args, **kwargs) -> Task:
        """A ``Task`` for this call, not enqueued (for ``huey.enqueue`` and pipelines).

        The keywords ``id``, ``eta``, ``delay``, ``retries``, ``retry_delay``,
        ``retry_backoff``, ``priority``, ``expires`` and ``timeout`` are options
        of the task, not arguments of the function."""
        if not kwargs:  # the common call: nothing to sort out
            return self.task_class(args, kwargs)
        options = {name: kwargs.pop(name) for name in TASK_OPTIONS if name in kwargs}
        if not options:
            return self.task_class(args, kwargs)
        delay = options.pop('delay', None)
        if delay is not None:
            if options.get('eta') is not None:
                raise ValueError(f'{self.name}.s(): pass eta or delay, not both')
            check_options(self.name, delay=delay)
            options['eta'] = time.time() + seconds(delay)
        return self.task_class(args, kwargs, **options)

    def schedule(
        self,
        args: Iterable | None = None,
        kwargs: dict | None = None,
        eta=None,
        delay=None,
        priority: int | None = None,
        retries: int | None = None,
        retry_delay: float | None = None,
        retry_backoff: float | None = None,
        expires=None,
        timeout: float | None = None,
        id: str | None = None,
    ):
        """Enqueue a call to run at ``eta`` (datetime, naive = local) or after
        ``delay`` (seconds or timedelta); ``schedule(60)`` or
        ``schedule(some_datetime)`` without arguments works too."""
        if eta is None and delay is None:
            if isinstance(args, (int, float, datetime.timedelta)):
                args, delay = None, args
            elif isinstance(args, datetime.datetime):
                args, eta = None, args
            else:
                raise ValueError(f'{self.name}.schedule(): pass eta=<datetime> or delay=<seconds>')
        elif eta is not None and delay is not None:
            raise ValueError(f'{self.name}.schedule(): pass eta or delay, not both')
        if kwargs is not None and not isinstance(kwargs, dict):
            raise ValueError(f'{self.name}.schedule(kwargs={kwargs!r}): kwargs must be a dict')
        if delay is not None:
            check_options(self.name, delay=delay)
            eta = time.time() + seconds(delay)
        task = self.task_class(
            args,
            kwargs,
            id=id,
            eta=eta,
            retries=retries,
            retry_delay=retry_delay,
            retry_backoff=retry_backoff,
            priority=priority,
            expires=expires,
            timeout=timeout,
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

    def is_revoked(self, timestamp=None, peek: bool = True) -> bool:
        return self.huey.is_revoked(self.task_class, timestamp, peek)

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
