"""The ``Huey`` application object: configuration, task decorators, enqueueing,
revocation and helpers over the storage. Running tasks is in ``execution``."""

from __future__ import annotations

import datetime
import inspect
import logging
import time
import warnings
from typing import Any, Callable, Iterable

from huey_storage import BaseStorage, BlackHoleStorage, EmptyData, MemoryStorage
from huey_storage import ConfigurationError as StorageConfigurationError

from huey_api import replay
from huey_api import signals as S
from huey_api.chords import ChordMixin
from huey_api.constants import (
    AT_LEAST_ONCE,
    CHORD_PREFIX,
    DELIVERY_MODES,
    REVOKED_FLAG,
    SEEN_PREFIX,
)
from huey_api.exceptions import ConfigurationError, HueyException
from huey_api.execution import ExecutionMixin
from huey_api.group import chord, group
from huey_api.locks import RateLimit, TaskLock
from huey_api.registry import TaskRegistry
from huey_api.result import ChordResult, Result, ResultGroup
from huey_api.revocation import RevocationMixin
from huey_api.serializer import Serializer, serializer_for
from huey_api.task import PeriodicTask, Task, TaskWrapper

__all__ = ['BlackHoleHuey', 'Huey', 'MemoryHuey']

# Under 'huey', the logger applications configure for the facade they import.
logger = logging.getLogger(__name__.replace('huey_api', 'huey', 1))


class Huey(RevocationMixin, ExecutionMixin, ChordMixin):
    """A task queue application.

    ``storage_class`` (default: the class attribute) is built with ``name``
    and the extra keyword arguments (``**storage_kwargs``). ``results``
    stores return values (None only with ``store_none``); ``utc`` makes
    periodic tasks match UTC wall-clock time and ``Task.eta`` show UTC.
    ``immediate`` runs tasks at call time (in memory unless
    ``immediate_use_memory=False``). ``signing_key`` signs every message
    and value with HMAC-SHA256. ``delivery``, ``lease_timeout`` and
    ``max_deliveries`` configure the execution API (see ``execution``).
    ``store_intermediate_errors=False`` stores a failed task's error (and runs
    its ``on_error``) only once its retries are used up.
    """

    storage_class: type[BaseStorage] | None = None

    def __new__(cls, *args: Any, **kwargs: Any) -> Huey:
        # huey 1.x: Huey(queue, result_store, ...) with a queue object (not a
        # name) builds huey-legacy's Huey; the modern path pays one isinstance
        if cls is Huey and args and args[0] is not None and not isinstance(args[0], str):
            try:
                from huey_legacy.api import Huey as LegacyHuey
            except ImportError:
                raise ImportError(
                    'Huey(queue, ...) (the 1.x API) needs the huey-legacy distribution: '
                    'pip install huey-legacy'
                ) from None
            return super().__new__(LegacyHuey)
        return super().__new__(cls)

    def __init__(
        self,
        name: str = 'huey',
        results: bool = True,
        store_none: bool = False,
        utc: bool = True,
        immediate: bool = False,
        serializer: Serializer | str | None = None,
        compression: bool = False,
        use_zlib: bool = False,
        immediate_use_memory: bool = True,
        always_eager: bool | None = None,
        storage_class: type[BaseStorage] | None = None,
        signing_key: bytes | str | None = None,
        delivery: str = AT_LEAST_ONCE,
        lease_timeout: float = 30.0,
        max_deliveries: int = 5,
        store_intermediate_errors: bool = True,
        replay_window: float = 86400.0,
        **storage_kwargs: Any,
    ) -> None:
        if always_eager is not None:
            warnings.warn(
                'always_eager is deprecated: use immediate', DeprecationWarning, stacklevel=2
            )
            immediate = always_eager
        if delivery not in DELIVERY_MODES:
            raise ConfigurationError(
                f'delivery={delivery!r}: use one of {", ".join(DELIVERY_MODES)}'
            )
        if lease_timeout <= 0:
            raise ConfigurationError(f'lease_timeout={lease_timeout!r}: must be > 0 seconds')
        if max_deliveries < 1:
            raise ConfigurationError(f'max_deliveries={max_deliveries!r}: must be >= 1')
        if not replay_window > 0:
            raise ConfigurationError(f'replay_window={replay_window!r}: must be > 0 seconds')
        if serializer is None or isinstance(serializer, str):
            serializer = serializer_for(serializer, compression, use_zlib, signing_key)
        elif signing_key is not None:
            raise ConfigurationError(
                'pass signing_key to your serializer (Serializer('
                'signing_key=...)), not to Huey, when giving both'
            )
        self.name = name
        self.results = results
        self.store_none = store_none
        self.store_intermediate_errors = store_intermediate_errors
        self.utc = utc
        self.serializer = serializer
        #: signed payloads name their queue or key; replays are refused
        self.signed = isinstance(serializer, Serializer) and serializer.signing_key is not None
        self._message_context = b'm\0' + name.encode('utf8')
        self.replay_window = float(replay_window)
        self.immediate_use_memory = immediate_use_memory
        self.delivery = delivery
        self.lease_timeout = float(lease_timeout)
        self.max_deliveries = max_deliveries
        self.storage_kwargs = storage_kwargs
        self._storage_class = storage_class or self.storage_class
        self.registry = TaskRegistry()
        self._signals = S.Signals()
        self._pre_execute: dict[str, Callable] = {}
        self._post_execute: dict[str, Callable] = {}
        self._startup: dict[str, Callable] = {}
        self._shutdown: dict[str, Callable] = {}
        self._locks: set[str] = set()
        #: set by a consumer: ``handler(seconds)`` returns a context manager
        #: that interrupts a task running longer (raising TaskTimeout)
        self._timeout_handler: Callable | None = None
        #: set by a consumer: the timeout (seconds) of tasks that have none
        self._default_timeout: float | None = None
        self._immediate = False
        self._live_storage: BaseStorage | None = None
        self._immediate = bool(immediate)
        self.storage = self.create_storage()  # live storage created when turned off

    # -- storage and modes ----------------------------------------------

    def create_storage(self) -> BaseStorage:
        """The storage for the current mode: in memory while immediate (unless
        ``immediate_use_memory=False``), else ``get_storage()``."""
        if self._immediate and self.immediate_use_memory:
            return self.get_immediate_storage()
        return self.get_storage(**self.storage_kwargs)

    def get_storage(self, **storage_kwargs: Any) -> BaseStorage:
        """A new live storage of ``storage_class``; override to build your own."""
        if self._storage_class is None:
            raise ConfigurationError(
                f'{type(self).__name__} has no storage: pass '
                'storage_class=... or use MemoryHuey, SqliteHuey '
                'or RedisHuey'
            )
        try:
            return self._storage_class(self.name, **storage_kwargs)
        except StorageConfigurationError as exc:  # one exception type for huey's callers
            raise ConfigurationError(str(exc)) from exc

    def get_immediate_storage(self) -> BaseStorage:
        """The storage used in immediate mode (a fresh in-memory one)."""
        return MemoryStorage(self.name)

    @property
    def immediate(self) -> bool:
        """Run tasks at call time. Turning it on swaps in a fresh in-memory
        storage (unless ``immediate_use_memory=False``); off swaps back."""
        return self._immediate

    @immediate.setter
    def immediate(self, value: bool) -> None:
        value = bool(value)
        if value == self._immediate:
            return
        self._immediate = value
        if self.immediate_use_memory:
            if value:
                self._live_storage = self.storage
                self.storage = self.get_immediate_storage()
            else:
                live = self._live_storage
                self.storage = live if live is not None else self.create_storage()
                self._live_storage = None

    @property
    def always_eager(self) -> bool:
        return self._immediate

    @property
    def at_least_once(self) -> bool:
        return self.delivery == AT_LEAST_ONCE

    # -- decorators ------------------------------------------------------

    def task(
        self,
        retries: int = 0,
        retry_delay: float = 0,
        retry_backoff: float = 0,
        priority: int | None = None,
        context: bool = False,
        name: str | None = None,
        expires=None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Callable[[Callable], TaskWrapper]:
        """Decorator: make a function a task. ``retry_backoff`` multiplies
        ``retry_delay`` after each automatic retry; ``timeout`` (seconds) is
        enforced by the consumer's workers and by ``task.check_timeout()``;
        extra keywords become attributes of the task class."""

        def decorator(func: Callable) -> TaskWrapper:
            return TaskWrapper(
                self,
                func,
                retries=retries,
                retry_delay=retry_delay,
                retry_backoff=retry_backoff,
                priority=priority,
                context=context,
                name=name,
                expires=expires,
                timeout=timeout,
                **kwargs,
            )

        return decorator

    def periodic_task(
        self,
        validate_datetime: Callable,
        retries: int = 0,
        retry_delay: float = 0,
        retry_backoff: float = 0,
        priority: int | None = None,
        context: bool = False,
        name: str | None = None,
        expires=None,
        timeout: float | None = None,
        **kwargs: Any,
    ) -> Callable[[Callable], TaskWrapper]:
        """Decorator: a task the consumer enqueues each minute ``validate_datetime``
        (e.g. a ``crontab``) accepts. Its return value is discarded."""
        if not callable(validate_datetime):
            raise TypeError(
                f'periodic_task({validate_datetime!r}): pass a callable taking '
                'a datetime, such as crontab(minute="*/5")'
            )
        # Huey.task, not self.task: a subclass's own task() (huey-legacy's)
        # wraps the result, which its periodic_task() does itself
        return Huey.task(
            self,
            retries=retries,
            retry_delay=retry_delay,
            retry_backoff=retry_backoff,
            priority=priority,
            context=context,
            name=name,
            expires=expires,
            timeout=timeout,
            task_base=PeriodicTask,
            validate_datetime=staticmethod(validate_datetime),
            **kwargs,
        )

    @property
    def _registry(self) -> TaskRegistry:
        """huey's name for ``registry`` (code written for huey reads it)."""
        return self.registry

    def periodic_tasks(self) -> list[TaskWrapper]:
        """The registered periodic tasks (their ``TaskWrapper``), each with
        ``.name`` and ``.validate_datetime`` (a ``crontab`` has ``to_string()``)."""
        return [task_class.wrapper for task_class in self.registry.periodic_tasks]

    def context_task(
        self, obj, as_argument: bool = False, **task_kwargs: Any
    ) -> Callable[[Callable], TaskWrapper]:
        """Decorator: a task that runs inside ``with obj:`` (passing what it
        returns as first argument when ``as_argument``)."""

        def decorator(func: Callable) -> TaskWrapper:
            if inspect.iscoroutinefunction(func):

                async def inner(*args, **kwargs):
                    with obj as ctx:
                        if as_argument:
                            return await func(ctx, *args, **kwargs)
                        return await func(*args, **kwargs)
            else:

                def inner(*args, **kwargs):
                    with obj as ctx:
                        if as_argument:
                            return func(ctx, *args, **kwargs)
                        return func(*args, **kwargs)

            inner.__name__ = func.__name__
            inner.__qualname__ = func.__qualname__
            inner.__module__ = func.__module__
            inner.__doc__ = func.__doc__
            return self.task(**task_kwargs)(inner)

        return decorator

    def lock_task(self, name: str, ttl: float | None = None) -> TaskLock:
        """A named lock shared by every process; decorator or context manager."""
        self._locks.add(name)
        return TaskLock(self, name, ttl)

    def is_locked(self, name: str) -> bool:
        """True while the lock ``name`` is held."""
        return TaskLock(self, name).is_locked()

    def rate_limit(self, name: str, limit: int, per: float, retry: bool = True) -> RateLimit:
        """At most ``limit`` entries per ``per`` seconds; decorator or context
        manager. A refused task is retried when the window resets if
        ``retry`` (without using a retry), else only if it has retries left."""
        return RateLimit(self, name, limit, per, retry)

    def _hook(self, registry: dict, name: str | None) -> Callable:
        def decorator(func: Callable) -> Callable:
            registry[name or func.__name__] = func
            return func

        return decorator

    def pre_execute(self, name: str | None = None) -> Callable:
        """Decorator: ``hook(task)`` before each task; raise CancelExecution to skip it."""
        return self._hook(self._pre_execute, name)

    def post_execute(self, name: str | None = None) -> Callable:
        """Decorator: ``hook(task, value, exc)`` after each task ran."""
        return self._hook(self._post_execute, name)

    def on_startup(self, name: str | None = None) -> Callable:
        """Decorator: ``hook()`` when each consumer worker starts."""
        return self._hook(self._startup, name)

    def on_shutdown(self, name: str | None = None) -> Callable:
        """Decorator: ``hook()`` when each consumer worker stops."""
        return self._hook(self._shutdown, name)

    @staticmethod
    def _unhook(registry: dict, name_or_fn) -> bool:
        for key, func in list(registry.items()):
            if name_or_fn == key or name_or_fn is func:
                del registry[key]
                return True
        return False

    def unregister_pre_execute(self, name_or_fn) -> bool:
        return self._unhook(self._pre_execute, name_or_fn)

    def unregister_post_execute(self, name_or_fn) -> bool:
        return self._unhook(self._post_execute, name_or_fn)

    def unregister_on_startup(self, name_or_fn) -> bool:
        return self._unhook(self._startup, name_or_fn)

    def unregister_on_shutdown(self, name_or_fn) -> bool:
        return self._unhook(self._shutdown, name_or_fn)

    def signal(self, *signals: str) -> Callable:
        """Decorator: call ``receiver(signal, task, *args)`` on these signals (all if none)."""

        def decorator(receiver: Callable) -> Callable:
            self._signals.connect(receiver, *signals)
            return receiver

        return decorator

    def disconnect_signal(self, receiver: Callable, *signals: str) -> None:
        self._signals.disconnect(receiver, *signals)

    # -- enqueueing -----------------------------------------------------

    def serialize_task(self, task: Task) -> bytes:
        return self.serialize_message(task.to_message())

    def serialize_message(self, message: tuple) -> bytes:
        """A task message tuple as bytes (signed for this queue when signing)."""
        if self.signed:
            return self.serializer.serialize(message, self._message_context)
        return self.serializer.serialize(message)

    def deserialize_task(self, data: bytes) -> Task:
        """Decode a message (``SerializationError``/``UnknownTaskError`` if poison)."""
        if self.signed:
            return self.registry.decode(self.serializer.deserialize(data, self._message_context))
        return self.registry.decode(self.serializer.deserialize(data))

    def serialize_value(self, key: str, value: Any) -> bytes:
        """``value`` as stored at data key ``key`` (signed for that key when signing)."""
        if self.signed:
            return self.serializer.serialize(value, b'd\0' + key.encode('utf8'))
        return self.serializer.serialize(value)

    def deserialize_value(self, key: str, data: bytes) -> Any:
        """The value read at ``key``; ``SignatureError`` if it was signed for another key."""
        if self.signed:
            return self.serializer.deserialize(data, b'd\0' + key.encode('utf8'))
        return self.serializer.deserialize(data)

    def _results_for(self, task: Task):
        if not self.results:
            return None
        if task.on_complete is not None:
            return ResultGroup([Result(self, step) for step in task.chain()])
        return Result(self, task)

    def enqueue(self, task: Task | group | chord) -> Result | ResultGroup | ChordResult | None:
        """Put ``task`` in the queue (or, with a future eta, the schedule).

        One storage call. Returns its ``Result`` (a ``ResultGroup`` for a
        pipeline), or None when results are off. A task with a future eta
        goes to the queue too: the worker that takes it puts it on the
        schedule. In immediate mode the task runs (or is scheduled) now. A
        ``group`` returns its ``ResultGroup``, a ``chord`` its ``ChordResult``.
        """
        if not isinstance(task, Task):
            enqueue_in = getattr(task, '_enqueue_in', None)
            if enqueue_in is None:
                raise TypeError(
                    f'enqueue({task!r}): pass a task signature such as '
                    'add.s(1, 2), a group or a chord'
                )
            return enqueue_in(self)
        if task.expires is not None:
            task.resolve_expires()  # a relative expiry counts from enqueueing
        if not self._immediate:  # the hot path
            self.storage.enqueue(self.serialize_task(task), task.priority)
            if self._signals.active:
                self._signals.send(S.SIGNAL_ENQUEUED, task)
        else:
            self._put(task, time.time())
        if self.results and task.on_complete is None:
            return Result(self, task)
        return self._results_for(task)

    async def aenqueue(self, task: Task | group | chord):
        """``enqueue`` from asyncio code, without blocking its event loop
        (see ``huey_api.aio``)."""
        from huey_api.aio import aenqueue

        return await aenqueue(self, task)

    def group(self, tasks: Iterable[Task]) -> ResultGroup | None:
        """Enqueue task signatures (``add.s(1, 2)``) together in one storage
        round trip; returns their ``ResultGroup`` in order. Shortcut for
        ``huey.enqueue(group(tasks))``."""
        return self.enqueue(group(tasks))

    def enqueue_many(self, tasks: Iterable[Task]) -> ResultGroup | None:
        """Enqueue several tasks; due ones go to the storage in one batch."""
        tasks = list(tasks)
        now = time.time()
        for task in tasks:
            if task.expires is not None:
                task.resolve_expires(now)
        if self._immediate:
            for task in tasks:
                self._put(task, now)
        else:
            if tasks:
                self.storage.enqueue_many(
                    [(self.serialize_task(task), task.priority) for task in tasks]
                )
            if self._signals.active:
                for task in tasks:
                    self._signals.send(S.SIGNAL_ENQUEUED, task)
        if not self.results:
            return None
        return ResultGroup([Result(self, task) for task in tasks])

    def _put(self, task: Task, now: float, data: bytes | None = None) -> None:
        """Enqueue ``task`` (run it, in immediate mode); ``data`` is its
        message when already serialized."""
        if self._immediate:
            if self._signals.active:
                self._signals.send(S.SIGNAL_ENQUEUED, task)
            self._execute(task, None, now)
        else:
            if data is None:
                data = self.serialize_task(task)
            self.storage.enqueue(data, task.priority)
            if self._signals.active:
                self._signals.send(S.SIGNAL_ENQUEUED, task)

    # -- key/value helpers ------------------------------------------------

    def get(self, key: str, peek: bool = False) -> Any:
        """The value stored with ``put`` (None if absent); removed unless ``peek``."""
        storage = self.storage
        data = storage.peek_data(key) if peek else storage.pop_data(key)
        return None if data is EmptyData else self.deserialize_value(key, data)

    def put(self, key: str, value: Any) -> None:
        """Store any picklable ``value`` at ``key`` in the result store."""
        self.storage.put_data(key, self.serialize_value(key, value), is_result=True)

    def put_result(self, key: str, value: Any) -> None:
        self.put(key, value)

    def put_if_empty(self, key: str, value: Any, ttl: float | None = None) -> bool:
        return self.storage.put_if_empty(key, self.serialize_value(key, value), ttl)

    def delete(self, key: str) -> bool:
        return self.storage.delete_data(key)

    def result(
        self,
        id: str,
        blocking: bool = False,
        timeout: float | None = None,
        backoff: float = 1.15,
        max_delay: float = 1.0,
        revoke_on_timeout: bool = False,
        preserve: bool = False,
    ) -> Any:
        """The result of task ``id`` (see ``Result.get``)."""
        return Result(self, id).get(
            blocking, timeout, backoff, max_delay, revoke_on_timeout, preserve
        )

    def _decode_all(self, items: list[bytes]) -> list[Task]:
        tasks = []
        for data in items:
            try:
                tasks.append(self.deserialize_task(data))
            except HueyException as exc:
                logger.warning('skipping undecodable message: %s', exc)
        return tasks

    def pending(self, limit: int | None = None) -> list[Task]:
        """Tasks waiting in the queue, in run order."""
        return self._decode_all(self.storage.enqueued_items(limit))

    def scheduled(self, limit: int | None = None) -> list[Task]:
        """Tasks in the schedule, soonest first."""
        return self._decode_all(self.storage.scheduled_items(limit))

    def all_results(self) -> dict[str, bytes]:
        """Every stored result, ``{key: serialized value}``: all data keys, as
        huey lists them (revocations, locks...), less our own bookkeeping."""
        return {
            key: value
            for key, value in self.storage.result_items().items()
            if not _is_bookkeeping(key)
        }

    def pending_count(self) -> int:
        return self.storage.queue_size()

    def scheduled_count(self) -> int:
        return self.storage.schedule_size()

    def result_count(self) -> int:
        """Number of data keys, as huey counts them, less our own bookkeeping."""
        return sum(1 for key in self.storage.result_keys() if not _is_bookkeeping(key))

    def __len__(self) -> int:
        """Number of tasks waiting in the queue."""
        return self.storage.queue_size()

    def __bool__(self) -> bool:
        return True  # an empty queue must not make the application falsy

    def flush(self) -> None:
        """Delete everything: queue, leases, schedule, results, data, dead letters."""
        self.storage.flush_all()

    # -- dead letters -----------------------------------------------------

    def dead_letters(self, limit: int | None = None) -> list:
        """Messages set aside as unrunnable (``DeadLetter``: id, data, reason, failed_at)."""
        return self.storage.dead_letters(limit)

    def requeue_dead_letter(self, id: str) -> bool:
        """Put a dead letter back in the queue (e.g. after deploying the missing task).

        When signing, a letter with a valid signature is signed afresh, so the
        replay guard takes it for the new message it is."""
        if self.signed:
            return replay.requeue_dead_letter(self, id)
        return self.storage.requeue_dead_letter(id)

    def delete_dead_letter(self, id: str) -> bool:
        return self.storage.delete_dead_letter(id)

    def purge_dead_letters(self) -> int:
        """Delete every dead letter; returns how many there were."""
        return self.storage.flush_dead_letters()

    # -- misc -------------------------------------------------------------

    def now(self) -> datetime.datetime:
        """Current naive datetime: UTC when ``utc`` else local time."""
        if self.utc:
            return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
        return datetime.datetime.now()

    def __repr__(self) -> str:
        return f'<{type(self).__name__} {self.name!r} storage={self.storage!r}>'


class MemoryHuey(Huey):
    """Huey keeping everything in this process's memory (tests, development)."""

    storage_class = MemoryStorage


class BlackHoleHuey(Huey):
    """Huey whose storage discards everything."""

    storage_class = BlackHoleStorage


def _is_bookkeeping(key: str) -> bool:
    """Data keys of machinery huey does not have (the something-was-revoked
    flag that spares a read per task, chord slots and fired flags, replay
    claims), kept out of result listings and counts so that those read as huey's."""
    return key == REVOKED_FLAG or key.startswith((CHORD_PREFIX, SEEN_PREFIX))
