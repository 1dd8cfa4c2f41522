"""The ``Huey`` application object: configuration, task decorators, enqueueing,
revocation, the execution API consumers call, and helpers over the storage.

``Huey`` keeps the public methods; the work is done by collaborators it
builds and hands what they use: ``execution.Executor`` (running tasks, with
``chords.Chords``) and ``revocation.Revocations``."""

from __future__ import annotations

import calendar
import datetime
import inspect
import logging
import time
import traceback
import warnings
from typing import Any, Callable, Iterable

from huey_storage import BaseStorage, BlackHoleStorage, EmptyData, MemoryStorage
from huey_storage import ConfigurationError as StorageConfigurationError

from huey_api import replay
from huey_api import signals as S
from huey_api.codec import Codec
from huey_api.constants import (
    AT_LEAST_ONCE,
    CHORD_PREFIX,
    PERIODIC_PREFIX,
    REVOKE_PREFIX,
    REVOKED_FLAG,
    SEEN_PREFIX,
)
from huey_api.exceptions import ConfigurationError, HueyException, TaskException
from huey_api.execution import RESOLUTION, Delivery, Executor, Settings
from huey_api.group import chord, group
from huey_api.locks import RateLimit, TaskLock, lock_key
from huey_api.registry import TaskRegistry
from huey_api.result import ChordResult, Result, ResultGroup
from huey_api.revocation import Revocations, revocation_keys
from huey_api.serializer import Serializer, serializer_for
from huey_api.task import PeriodicTask, Task, TaskWrapper
from huey_api.utils import describe_exception, frame_timestamp, to_timestamp

__all__ = ['BlackHoleHuey', 'Huey', 'MemoryHuey']

# Under 'huey', the logger applications configure for the facade they import.
logger = logging.getLogger(__name__.replace('huey_api', 'huey', 1))


#: seconds a periodic task's per-minute claim lives after the minute began
_PERIODIC_TTL = 120.0


class _Setting:
    """A ``Huey`` attribute kept in its ``settings`` (shared with the executor)."""

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, huey: Any, owner: type | None = None) -> Any:
        return self if huey is None else getattr(huey.settings, self.name)

    def __set__(self, huey: Any, value: Any) -> None:
        setattr(huey.settings, self.name, value)


class Huey:
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
        self.settings = Settings(
            results=results,
            store_none=store_none,
            store_intermediate_errors=store_intermediate_errors,
            utc=utc,
            immediate=bool(immediate),
            delivery=delivery,
            lease_timeout=lease_timeout,
            max_deliveries=max_deliveries,
            replay_window=replay_window,
        )
        if serializer is None or isinstance(serializer, str):
            serializer = serializer_for(serializer, compression, use_zlib, signing_key)
        elif signing_key is not None:
            raise ConfigurationError(
                'pass signing_key to your serializer (Serializer('
                'signing_key=...)), not to Huey, when giving both'
            )
        self.name = name
        self.immediate_use_memory = immediate_use_memory
        self.storage_kwargs = storage_kwargs
        self._storage_class = storage_class or self.storage_class
        self.registry = TaskRegistry()
        self._signals = S.Signals()
        self._pre_execute: dict[str, Callable] = {}
        self._post_execute: dict[str, Callable] = {}
        self._startup: dict[str, Callable] = {}
        self._shutdown: dict[str, Callable] = {}
        self._locks: set[str] = set()
        self._live_storage: BaseStorage | None = None
        self._codec = codec = Codec(serializer, self.registry, name)
        self._storage = self.create_storage()  # live storage created when turned off
        self._revocations = Revocations(self._storage, codec)
        self._executor = Executor(
            self._storage,
            codec,
            self._signals,
            self.settings,
            self._revocations,
            self._pre_execute,
            self._post_execute,
            self.build_error_result,
        )

    results = _Setting()
    store_none = _Setting()
    store_intermediate_errors = _Setting()
    utc = _Setting()
    delivery = _Setting()
    lease_timeout = _Setting()
    max_deliveries = _Setting()
    replay_window = _Setting()
    #: seconds a revocation by id lives (a task id that never runs)
    revoke_id_ttl: float = 30 * 86400.0

    @property
    def storage(self) -> BaseStorage:
        return self._storage

    @storage.setter
    def storage(self, storage: BaseStorage) -> None:
        self._storage = storage
        executor = self._executor
        self._revocations.storage = executor.storage = executor.chords.storage = storage

    @property
    def serializer(self) -> Serializer:
        return self._codec.serializer

    @serializer.setter
    def serializer(self, serializer: Serializer) -> None:
        self._codec = codec = Codec(serializer, self.registry, self.name)
        self._revocations.codec = self._executor.codec = self._executor.chords.codec = codec

    @property
    def signed(self) -> bool:
        """Whether payloads are signed (a signing key is set): signed payloads
        name their queue or key, and replays are refused (``replay``)."""
        return self._codec.signed

    @property
    def _timeout_handler(self) -> Callable | None:
        """Set by a consumer: ``handler(seconds)`` returns a context manager
        that interrupts a task running longer (raising TaskTimeout)."""
        return self._executor.timeout_handler

    @_timeout_handler.setter
    def _timeout_handler(self, handler: Callable | None) -> None:
        self._executor.timeout_handler = handler

    @property
    def _default_timeout(self) -> float | None:
        """Set by a consumer: the timeout (seconds) of tasks that have none."""
        return self._executor.default_timeout

    @_default_timeout.setter
    def _default_timeout(self, seconds: float | None) -> None:
        self._executor.default_timeout = seconds

    # -- storage and modes ----------------------------------------------

    def create_storage(self) -> BaseStorage:
        """The storage for the current mode: in memory while immediate (unless
        ``immediate_use_memory=False``), else ``get_storage()``."""
        if self.settings.immediate and self.immediate_use_memory:
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
        return self.settings.immediate

    @immediate.setter
    def immediate(self, value: bool) -> None:
        value = bool(value)
        if value == self.settings.immediate:
            return
        self.settings.immediate = value
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
        return self.settings.immediate

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

    @property
    def running_tasks(self) -> dict[int, tuple[float, int, Task]]:
        """The attempts running now in this process, ``id(task) -> (started,
        thread ident, task)``, from just before SIGNAL_EXECUTING until the
        attempt's outcome is written (an interrupted one: until ``release``).
        A receiver of an attempt's end finds its start here. A live view:
        read it, take copies (``list(...)``), never change it."""
        return self._executor.running

    def add_completion_feed(self, feed: Callable[[tuple], Any]) -> None:
        """Call ``feed((ended, started, thread ident, task name, task id))``
        in the worker as each attempt of a task completes, just before
        SIGNAL_COMPLETE (``started`` is None for a task not run by
        ``execute``'s attempt, ``ended`` and ``started`` are ``time.time()``).

        Why: a completion is a busy queue's usual event, and a receiver of
        SIGNAL_COMPLETE costs a Python call on each; a feed such as a
        ``deque.append`` costs the worker about a fifth of that, and its
        reader (the consumer's log, the monitor) does the rest in a thread of
        its own, in batches. A feed must be quick and never raise.
        """
        self._executor.change_feeds(feed, add=True)

    def remove_completion_feed(self, feed: Callable[[tuple], Any]) -> None:
        """Stop calling ``feed`` (see ``add_completion_feed``); a no-op if it is not added."""
        self._executor.change_feeds(feed, add=False)

    def _emit(self, signal: str, task: Task, *args: Any) -> None:
        """Send ``signal`` for ``task`` to the receivers (huey's name; tools call it)."""
        if signal in self._signals.wanted:
            self._signals.send(signal, task, *args)

    # -- enqueueing -----------------------------------------------------

    def serialize_task(self, task: Task) -> bytes:
        """``task``'s message as stored (see ``message``; signed for this queue when signing)."""
        return self._codec.encode_task(task)

    def serialize_message(self, message: tuple) -> bytes:
        """A task message's wire tuple as bytes (signed for this queue when signing)."""
        return self._codec.encode_message(message)

    def deserialize_task(self, data: bytes) -> Task:
        """Decode a message (``SerializationError``/``UnknownTaskError`` if poison)."""
        return self._codec.decode_task(data)

    def serialize_value(self, key: str, value: Any) -> bytes:
        """``value`` as stored at data key ``key`` (signed for that key when signing)."""
        return self._codec.encode_value(key, value)

    def deserialize_value(self, key: str, data: bytes) -> Any:
        """The value read at ``key``; ``SignatureError`` if it was signed for another key."""
        return self._codec.decode_value(key, data)

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
        settings = self.settings
        if not settings.immediate:  # the hot path
            self._storage.enqueue(self._codec.encode_task(task), task.priority)
            if S.SIGNAL_ENQUEUED in self._signals.wanted:
                self._signals.send(S.SIGNAL_ENQUEUED, task)
        else:
            self._run_now(task, time.time())
        if settings.results and task.on_complete is None:
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
        if self.settings.immediate:
            for task in tasks:
                self._run_now(task, now)
        else:
            if tasks:
                self.storage.enqueue_many(
                    [(self.serialize_task(task), task.priority) for task in tasks]
                )
            if S.SIGNAL_ENQUEUED in self._signals.wanted:
                for task in tasks:
                    self._signals.send(S.SIGNAL_ENQUEUED, task)
        if not self.results:
            return None
        return ResultGroup([Result(self, task) for task in tasks])

    def _run_now(self, task: Task, now: float) -> None:
        """Immediate mode: a task runs as it is enqueued."""
        if S.SIGNAL_ENQUEUED in self._signals.wanted:
            self._signals.send(S.SIGNAL_ENQUEUED, task)
        self._executor.run(task, None, now)

    # -- revocation -----------------------------------------------------

    def revoke_all(self, task_class, revoke_until=None, revoke_once: bool = False) -> None:
        """Revoke every task of this class/name (until a datetime, or just the next one)."""
        key = revocation_keys(task_class)[-1]
        self._revocations.revoke(key, to_timestamp(revoke_until), revoke_once)

    def restore_all(self, task_class) -> bool:
        return self._revocations.delete(revocation_keys(task_class)[-1])

    def revoke_by_id(self, id: str, revoke_until=None, revoke_once: bool = False) -> None:
        """Revoke one task instance by id (for ``revoke_id_ttl`` seconds at most)."""
        self._revocations.revoke(
            REVOKE_PREFIX + id, to_timestamp(revoke_until), revoke_once, self.revoke_id_ttl
        )

    def restore_by_id(self, id: str) -> bool:
        return self._revocations.delete(REVOKE_PREFIX + id)

    def revoke(self, task: Task, revoke_until=None, revoke_once: bool = False) -> None:
        self.revoke_by_id(task.id, revoke_until, revoke_once)

    def restore(self, task: Task) -> bool:
        return self.restore_by_id(task.id)

    def is_revoked(self, task_or_id, timestamp=None, peek: bool = True) -> bool:
        """True if revoked at ``timestamp`` (default now).

        A Task (or its Result) checks its id and its name, a task class or
        function its name, a string an id. ``timestamp`` is in huey's clock
        (see ``Task.eta``). With ``peek=False`` a revoke-once is used up and
        a lapsed revocation deleted.
        """
        keys = revocation_keys(task_or_id)
        now = time.time() if timestamp is None else frame_timestamp(timestamp, self.utc)
        return self._revocations.is_revoked(keys, now, consume=not peek)

    # -- the execution API (consumers; see docs/DESIGN.md) --------------

    def reserve(self) -> Delivery | None:
        """Next runnable ``Delivery`` or None; poison messages are dead-lettered."""
        return self._executor.reserve()

    def reserve_many(self, count: int, share: int = 1) -> list[Delivery]:
        """Up to ``count`` runnable deliveries, each its own lease, in one round
        trip where the storage can (``storage.lease_many``); waits only for the
        first, and takes at most a ``share`` of those waiting (a consumer's
        workers split a short queue). An empty list when the queue is empty."""
        return self._executor.reserve_many(count, share)

    def execute_delivery(
        self,
        delivery: Delivery,
        reserve_next: bool = False,
        now: datetime.datetime | float | None = None,
        acks: list | None = None,
    ) -> Delivery | None:
        """Run a reserved task with every semantic, then acknowledge it.

        Task errors are handled (stored, retried, signalled); only storage
        failures propagate. With ``reserve_next``, a successful task's
        acknowledgement may also take the next waiting message in the same
        round trip (``storage.ack_and_lease``): that ``Delivery`` is returned,
        already leased, and the caller must run or release it. Returns None
        when nothing was taken (then call ``reserve()`` as usual). ``now`` (a
        datetime or epoch seconds, default the current time) is the time the
        task's eta, expiry and revocations are judged by; a task not yet due
        goes to the schedule. With an ``acks`` list, a successful task's
        acknowledgement (and its result) is appended to it instead of sent,
        for ``acknowledge(acks)``: the caller must send it soon, since the
        result is stored only then.
        """
        _, taken = self._executor.run(
            delivery.task,
            delivery.receipt,
            time.time() if now is None else to_timestamp(now),
            delivery.check_revoked,
            delivery.deliveries,
            take_next=reserve_next and delivery.receipt is not None,
            acks=acks,
        )
        return taken

    def acknowledge(self, acks: list, reserve: int = 0, share: int = 1) -> list[Delivery]:
        """Send the acknowledgements ``execute_delivery`` deferred into ``acks``
        (results stored with them) in one round trip, leasing up to ``reserve``
        waiting messages (at most a ``share`` of them) in the same one
        (``storage.ack_many``); returns those deliveries, which the caller must
        run or give back."""
        return self._executor.acknowledge(acks, reserve, share)

    def give_back(self, deliveries: list[Delivery]) -> None:
        """Return reserved deliveries that never started to the queue head
        (a worker's prefetched ones), as if never taken: unlike ``release``,
        no delivery is counted and no signal sent (``storage.give_back``)."""
        self._executor.give_back(deliveries)

    def release(self, delivery: Delivery) -> None:
        """Give an interrupted delivery back to the queue; sends SIGNAL_INTERRUPTED.

        At-most-once deliveries are re-enqueued at the queue's tail.
        """
        self._executor.release(delivery)

    def extend_leases(self, deliveries) -> int:
        """Heartbeat: push the lease deadline of in-flight deliveries."""
        receipts = [d.receipt for d in deliveries if d.receipt is not None]
        if not receipts:
            return 0
        return self.storage.extend_leases(receipts, self.lease_timeout)

    def requeue_expired_leases(self) -> int:
        """Return messages of crashed workers (lease deadline passed) to the queue."""
        return self.storage.requeue_expired_leases(time.time())

    def enqueue_due(self, now: float | None = None) -> int:
        """Move scheduled messages due at ``now`` (default: now) to the queue."""
        return self.storage.enqueue_due(time.time() if now is None else to_timestamp(now))

    def enqueue_periodic(self, now: datetime.datetime | None = None) -> list[Task]:
        """Enqueue periodic tasks whose validator accepts ``now``'s minute.

        ``now`` is a naive datetime in UTC (``utc=True``) or local time;
        default: the current minute. Each (task, minute) fires once across
        every consumer: the first ``incr`` of its counter (a TTL of two
        minutes) wins; counters are bookkeeping, never counted as results.
        """
        now = (now or self.now()).replace(second=0, microsecond=0)
        minute = now.strftime('%Y%m%d%H%M')
        # The claim lives until _PERIODIC_TTL after the minute began, so a
        # minute long past (replayed by a test) is not deduplicated at all.
        start = calendar.timegm(now.timetuple()) if self.utc else now.timestamp()
        ttl = start + _PERIODIC_TTL - time.time()
        enqueued = []
        for task in self.read_periodic(now):
            key = f'{PERIODIC_PREFIX}{task.name}:{minute}'
            if ttl > 0 and self.storage.incr(key, 1, ttl) != 1:
                continue
            try:
                self.enqueue(task)
            except Exception:
                if ttl > 0:  # not enqueued: let a retry of this minute claim it again
                    self.storage.delete_counter(key)
                raise
            enqueued.append(task)
        return enqueued

    def run_startup_hooks(self) -> None:
        """Run ``on_startup`` hooks; errors are logged, not raised."""
        self._run_hooks(self._startup, 'startup')

    def run_shutdown_hooks(self) -> None:
        """Run ``on_shutdown`` hooks; errors are logged, not raised."""
        self._run_hooks(self._shutdown, 'shutdown')

    def _run_hooks(self, hooks: dict, kind: str) -> None:
        for name, hook in list(hooks.items()):
            try:
                hook()
            except Exception:
                logger.exception('%s hook %r failed', kind, name)

    def flush_locks(self, *extra_names: str) -> set[str]:
        """Release every lock declared with ``lock_task`` (and ``extra_names``);
        returns the names that were held. Consumers call it at start-up."""
        flushed = set()
        for name in self._locks.union(name.strip() for name in extra_names):
            if self.storage.delete_data(lock_key(self, name)):
                flushed.add(name)
        return flushed

    def create_consumer(self, **options: Any):
        """A ``huey_consumer.Consumer`` for this huey (needs huey-consumer)."""
        try:
            from huey_consumer import Consumer
        except ImportError as exc:
            raise ImportError(
                'create_consumer needs the huey-consumer distribution: pip install huey-consumer'
            ) from exc
        return Consumer(self, **options)

    # -- huey's classic running API ---------------------------------------

    def execute(self, task: Task, timestamp=None) -> Any:
        """Run ``task`` in this process with every semantic; returns its value.

        ``timestamp`` (default now) is the time to judge the task by, a
        datetime in huey's clock (see ``Task.eta``) or epoch seconds: a task
        whose eta is later goes to the schedule instead. Returns None when the
        task was scheduled, skipped (revoked, expired, canceled) or failed.
        Goes through the same path as ``execute_delivery``.
        """
        now = time.time() if timestamp is None else frame_timestamp(timestamp, self.utc)
        return self._executor.run(task, None, now)[0]

    def dequeue(self) -> Task | None:
        """Remove and return the next task, or None: a plain at-most-once pop
        (a consumer uses ``reserve()``); poison messages are dead-lettered."""
        while True:
            data = self.storage.dequeue()
            if data is None:
                return None
            delivery = self._executor.accept(data, None, 1, True)
            if delivery is not None:
                return delivery.task

    def add_schedule(self, task: Task) -> None:
        """Put ``task`` in the schedule at its eta (now if it has none);
        sends SIGNAL_SCHEDULED."""
        self._executor.schedule(task)

    def read_schedule(self, timestamp=None) -> list[Task]:
        """Remove and return the tasks due at ``timestamp`` (default now).

        A datetime covers its whole microsecond: ``task.eta`` is rounded to
        one, so reading the schedule at it must include the task.
        """
        if timestamp is None:
            ts = time.time()
        else:
            ts = frame_timestamp(timestamp, self.utc)
            if isinstance(timestamp, datetime.datetime):
                ts += RESOLUTION
        tasks = []
        for data in self.storage.read_schedule(ts):
            delivery = self._executor.accept(data, None, 1, True)
            if delivery is not None:
                tasks.append(delivery.task)
        return tasks

    def read_periodic(self, timestamp: datetime.datetime) -> list[Task]:
        """New instances of the periodic tasks whose validator accepts ``timestamp``.

        A validator that raises is logged with its task's name and counts as
        "not now": one broken schedule never stops the other periodic tasks.
        """
        due = []
        for task_class in self.registry.periodic_tasks:
            try:
                accepted = task_class.validate_datetime(timestamp)
            except Exception:
                logger.exception(
                    'periodic task %s: its schedule raised for %s; not enqueued this minute',
                    task_class.name,
                    timestamp,
                )
                continue
            if accepted:
                due.append(task_class())
        return due

    def ready_to_run(self, task: Task, timestamp=None) -> bool:
        """True if ``task`` has no eta or its eta is at or before ``timestamp``."""
        ts = time.time() if timestamp is None else frame_timestamp(timestamp, self.utc)
        return task.eta_ts is None or task.eta_ts - ts <= RESOLUTION

    def build_error_result(self, task: Task, exception: BaseException) -> dict:
        """The metadata stored (as an ``Error``) for a failed task: ``error``,
        ``retries``, ``traceback``, ``task_id``, ``type``, ``message``.
        Override to add fields."""
        if isinstance(exception, TaskException):  # a subtask's error, passed on
            error = exception.metadata.get('error') or _safe_repr(exception)
        else:
            error = _safe_repr(exception)
        return {
            'error': error,
            'type': f'{type(exception).__module__}.{type(exception).__qualname__}',
            'message': _safe_str(exception),
            'traceback': ''.join(
                traceback.format_exception(type(exception), exception, exception.__traceback__)
            ),
            'task_id': task.id,
            'retries': task.retries,
        }

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
    flag that spares a read per task and its clearing mark, chord slots and
    fired flags, replay claims), kept out of result listings and counts so
    that those read as huey's."""
    return key.startswith((REVOKED_FLAG, CHORD_PREFIX, SEEN_PREFIX))


def _safe_repr(exc: BaseException) -> str:
    try:
        return repr(exc)
    except Exception:
        return describe_exception(exc)


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return describe_exception(exc)
