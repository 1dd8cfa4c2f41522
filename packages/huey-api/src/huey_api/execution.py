"""Running tasks: the ``Executor`` takes a message and carries it to its outcome.

``Huey`` builds one ``Executor`` and hands it what it uses: the storage, the
codec (serializer, registry, signing contexts), the signals, the settings,
the revocations, the execute hooks and ``build_error_result``. The consumer reaches it through
``Huey``'s execution API (``reserve()``, ``execute_delivery()``,
``release()``...; see docs/DESIGN.md).

Hot path round trips per task (no revocation, no hooks): the lease (which
also reads the revocation flag) and the acknowledgement that stores the
result, or one ``ack_and_lease`` for both when a worker takes its next
message as it acknowledges. While a revocation exists, one more
(``peek_data_many`` of the task's two revocation keys). A None result with
``store_none=False`` is not stored. Chord members add the chord's bookkeeping
(see ``chords``); other tasks pay nothing for chords.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable

from huey_storage import EmptyData

from huey_api import replay
from huey_api import signals as S
from huey_api.chords import Chords
from huey_api.codec import Codec
from huey_api.constants import AT_LEAST_ONCE, AT_MOST_ONCE, DELIVERY_MODES, REVOKED_FLAG
from huey_api.exceptions import (
    RETRYING_EXCEPTIONS,
    CancelExecution,
    ConfigurationError,
    RateLimitExceeded,
    RetryTask,
    TaskLockedException,
    TaskTimeout,
)
from huey_api.result import SKIPPED, Error
from huey_api.task import PeriodicTask, Task
from huey_api.utils import describe_exception, seconds, to_timestamp

__all__ = ['Delivery', 'Executor', 'Settings']

# Under 'huey', the logger applications configure for the facade they import.
logger = logging.getLogger(__name__.replace('huey_api', 'huey', 1))

#: times closer than this are equal: a datetime (microseconds) read back from
#: an epoch float may land a fraction of a microsecond early
RESOLUTION = 1e-6
_get_ident = threading.get_ident


@dataclass
class Settings:
    """What a ``Huey`` does with its tasks; ``huey.results`` etc. read and
    write these (checked here, once, when the Huey is built)."""

    results: bool = True
    store_none: bool = False
    store_intermediate_errors: bool = True
    utc: bool = True
    immediate: bool = False
    delivery: str = AT_LEAST_ONCE
    lease_timeout: float = 30.0
    max_deliveries: int = 5
    #: with a signing key, how long a message's claim blocks its copies (``replay``)
    replay_window: float = 86400.0

    def __post_init__(self) -> None:
        if self.delivery not in DELIVERY_MODES:
            raise ConfigurationError(
                f'delivery={self.delivery!r}: use one of {", ".join(DELIVERY_MODES)}'
            )
        if not self.lease_timeout > 0:
            raise ConfigurationError(f'lease_timeout={self.lease_timeout!r}: must be > 0 seconds')
        if self.max_deliveries < 1:
            raise ConfigurationError(f'max_deliveries={self.max_deliveries!r}: must be >= 1')
        if not self.replay_window > 0:
            raise ConfigurationError(f'replay_window={self.replay_window!r}: must be > 0 seconds')
        self.lease_timeout = float(self.lease_timeout)
        self.replay_window = float(self.replay_window)


@dataclass(frozen=True)
class Delivery:
    """A task handed to a worker: ``receipt`` is None in at-most-once mode."""

    task: Task
    receipt: str | None
    deliveries: int = 1
    #: False when the storage said nothing is revoked (skip the check)
    check_revoked: bool = True
    #: with a signing key, the replay claim given back by ``release``
    claim: str | None = None


class Executor:
    """Takes messages and runs tasks with every semantic (see ``run``)."""

    def __init__(
        self,
        storage,
        codec: Codec,
        signals: S.Signals,
        settings: Settings,
        revocations,
        pre_execute: dict[str, Callable],
        post_execute: dict[str, Callable],
        build_error_result: Callable[[Task, BaseException], dict],
    ) -> None:
        self.storage = storage
        self.codec = codec
        self.signals = signals
        self.settings = settings
        self.revocations = revocations
        self.pre_execute = pre_execute
        self.post_execute = post_execute
        self.build_error_result = build_error_result
        self.chords = Chords(storage, codec, self.enqueue)
        #: set by a consumer: ``handler(seconds)`` returns a context manager
        #: that interrupts a task running longer (raising TaskTimeout)
        self.timeout_handler: Callable | None = None
        #: set by a consumer: the timeout (seconds) of tasks that have none
        self.default_timeout: float | None = None
        #: the attempts running now in this process, from just before
        #: SIGNAL_EXECUTING until their outcome is written: ``id(task) ->
        #: (started, thread ident, task)``. Why here: receivers of an
        #: attempt's end (the consumer's log, the monitor) read its start
        #: from it, so none of them needs SIGNAL_EXECUTING on the hot path.
        self.running: dict[int, tuple[float, int, Task]] = {}
        #: called with ``(ended, started, thread ident, task name, task id)``
        #: as an attempt completes (``Huey.add_completion_feed``)
        self.completion_feeds: tuple[Callable[[tuple], Any], ...] = ()
        self._feeds_changing = threading.Lock()

    def change_feeds(self, feed: Callable[[tuple], Any], add: bool) -> None:
        """Add or remove a completion feed; the tuple is replaced, so a
        worker reading it meanwhile goes on with the feeds it read."""
        with self._feeds_changing:
            feeds = tuple(f for f in self.completion_feeds if f != feed)
            self.completion_feeds = (*feeds, feed) if add else feeds

    # -- messages -----------------------------------------------------------

    def reserve(self) -> Delivery | None:
        """Next runnable ``Delivery`` or None; poison messages are dead-lettered."""
        storage, settings = self.storage, self.settings
        while True:
            if settings.delivery == AT_MOST_ONCE:
                data = storage.dequeue()
                if data is None:
                    return None
                delivery = self.accept(data, None, 1, True)
            else:
                lease, flag = storage.lease_with_data(settings.lease_timeout, REVOKED_FLAG)
                if lease is None:
                    return None
                delivery = self.accept(
                    lease.data, lease.receipt, lease.deliveries, flag is not EmptyData
                )
            if delivery is not None:
                return delivery

    def reserve_many(self, count: int, share: int = 1) -> list[Delivery]:
        """Up to ``count`` runnable deliveries (``storage.lease_many``: waits
        only for the first, takes at most a ``share`` of the waiting ones); an
        empty list when the queue is empty. At-most-once (a prefetched message
        would be lost with its worker) and ``count`` 1 take one, as ``reserve``."""
        if count <= 1 or self.settings.delivery == AT_MOST_ONCE:
            delivery = self.reserve()
            return [] if delivery is None else [delivery]
        while True:
            leases, flag = self.storage.lease_many(
                count, self.settings.lease_timeout, REVOKED_FLAG, share
            )
            if not leases:
                return []
            deliveries = self._accept_leases(leases, flag)
            if deliveries:
                return deliveries

    def _accept_leases(self, leases: list, flag: Any) -> list[Delivery]:
        check_revoked = flag is not EmptyData
        deliveries = []
        for lease in leases:
            delivery = self.accept(lease.data, lease.receipt, lease.deliveries, check_revoked)
            if delivery is not None:
                deliveries.append(delivery)
        return deliveries

    def acknowledge(self, acks: list, count: int = 0, share: int = 1) -> list[Delivery]:
        """Send acknowledgements deferred by ``run(..., acks=...)`` in one
        ``storage.ack_many``, leasing up to ``count`` waiting messages with them.

        If the storage refuses the batch (a result too large, say), each is
        acknowledged alone as ``run`` would have (``_ack``) and nothing is taken."""
        try:
            if count == 1 and len(acks) == 1:  # no batch: the classic round trip
                _, lease, flag = self.storage.ack_and_lease(
                    *acks[0], self.settings.lease_timeout, REVOKED_FLAG
                )
                leases = () if lease is None else (lease,)
            else:
                _, leases, flag = self.storage.ack_many(
                    acks, count, self.settings.lease_timeout, REVOKED_FLAG, share
                )
        except Exception:
            if not any(result is not None for _, result in acks):
                raise
            for receipt, result in acks:
                self._ack(receipt, result)
            return []
        return self._accept_leases(leases, flag) if leases else []

    def give_back(self, deliveries: list[Delivery]) -> None:
        """Return leased deliveries that never started (prefetched) to the queue
        head in order, their delivery count unchanged (``storage.give_back``);
        no signal. Storage errors propagate (the messages then come back when
        their leases lapse)."""
        for delivery in deliveries:
            if delivery.claim is not None:
                replay.unclaim(self.storage, delivery.claim)
        receipts = [delivery.receipt for delivery in deliveries if delivery.receipt is not None]
        if receipts:
            self.storage.give_back(receipts)

    def accept(
        self, data: Any, receipt: str | None, deliveries: int, check_revoked: bool
    ) -> Delivery | None:
        """Decode a taken message; dead-letter it (and return None) if it is poison.

        The delivery count is checked first: a message that kills its worker
        while being decoded still reaches the dead letters."""
        limit = self.settings.max_deliveries
        over = deliveries > limit
        try:
            task = self.codec.decode_task(data)
        except Exception as exc:  # any failure to decode is the message's fault
            reason = f'undecodable message: {describe_exception(exc)}'
            self.bury(data, receipt, _too_often(deliveries, limit) if over else reason)
            return None
        if over:
            reason = _too_often(deliveries, limit)
            if task.chord is not None:  # never leave its chord waiting
                error = Error(
                    {'error': f'dead-lettered: {reason}', 'task_id': task.id, 'retries': 0}
                )
                self.chords.member_done(task, error, deliveries, time.time())
            self.bury(data, receipt, reason, task)
            return None
        claim = None
        if self.codec.signed:  # a copy of a signed message never runs
            codec, window = self.codec, self.settings.replay_window
            claim, refused = replay.claim(
                self.storage, codec.serializer, window, data, task.eta_ts, deliveries
            )
            if refused is not None:
                self.bury(data, receipt, refused, task)
                return None
        return Delivery(task, receipt, deliveries, check_revoked, claim)

    def bury(self, data: Any, receipt: str | None, reason: str, task: Task | None = None) -> None:
        """Move a message to the dead letters (SIGNAL_DEAD_LETTERED when it decoded)."""
        if receipt is not None:
            dead_id = self.storage.dead_letter(receipt, reason)
        else:
            if not isinstance(data, bytes):
                data = repr(data).encode()
            dead_id = self.storage.add_dead_letter(data, reason)
        logger.error('message moved to the dead letters (id %s): %s', dead_id, reason)
        if task is not None:
            self._emit(S.SIGNAL_DEAD_LETTERED, task)

    # -- putting tasks in the queue or the schedule --------------------------

    def enqueue(self, task: Task, now: float) -> None:
        """Enqueue a follow-up (retry, next step, error handler, chord callback);
        in immediate mode run it now.

        One that cannot be encoded (an unpicklable value carried over) gets
        its error stored as its result instead. Storage errors propagate: the
        message being executed is then not acknowledged and comes back when
        its lease expires, so the follow-up is not lost."""
        if task.expires is not None:
            task.resolve_expires(now)  # counts from this enqueue, as for a call
        if self.settings.immediate:
            self._emit(S.SIGNAL_ENQUEUED, task)
            self.run(task, None, now)
            return
        try:
            data = self.codec.encode_task(task)
        except Exception as exc:
            logger.error('%s cannot be enqueued: %s', task, describe_exception(exc))
            if self.settings.results:
                error = self._error(task, exc)
                for step in task.chain():
                    data = self._serialize_error(step.id, task, error)
                    self.storage.put_data(step.id, data, is_result=True)
            return
        self.storage.enqueue(data, task.priority)
        self._emit(S.SIGNAL_ENQUEUED, task)

    def schedule(self, task: Task) -> None:
        """Put ``task`` in the schedule at its eta (now if it has none)."""
        eta = task.eta_ts if task.eta_ts is not None else time.time()
        self.storage.add_to_schedule(self.codec.encode_task(task), eta, task.priority)
        self._emit(S.SIGNAL_SCHEDULED, task)

    def release(self, delivery: Delivery) -> None:
        """Give an interrupted delivery back (at-most-once: re-enqueued at the tail)."""
        if delivery.claim is not None:
            replay.unclaim(self.storage, delivery.claim)
        if delivery.receipt is not None:
            self.storage.release(delivery.receipt)
        else:
            self.storage.enqueue(self.codec.encode_task(delivery.task), delivery.task.priority)
        self._emit(S.SIGNAL_INTERRUPTED, delivery.task)
        self.running.pop(id(delivery.task), None)  # its attempt ends here

    # -- running ------------------------------------------------------------

    def run(
        self,
        task: Task,
        receipt: str | None,
        now: float,
        check_revoked: bool = True,
        deliveries: int = 1,
        take_next: bool = False,
        acks: list | None = None,
    ) -> tuple[Any, Delivery | None]:
        """The one execution path: returns the task's value (None when it did
        not run or failed) and, with ``take_next``, the next message leased
        by the acknowledgement (or None). With an ``acks`` list, a success's
        acknowledgement (the last write of its outcome) is appended to it as
        ``(receipt, result)`` instead of sent: the caller sends it with others
        (``acknowledge``) soon after, storing the result then.

        In order: a future eta goes to the schedule; a revoked or expired
        task is skipped; SIGNAL_EXECUTING; pre-execute hooks (CancelExecution
        skips); the task runs; then its outcome. With a ``receipt`` every
        write an outcome needs is made before the message is acknowledged.
        """
        if task.eta_ts is not None and task.eta_ts - now > RESOLUTION:
            self.schedule(task)
            return None, self._ack(receipt)
        if check_revoked and self.revocations.task_revoked(task, now):
            logger.info('task %s is revoked, not run', task.id)
            return self._skip(task, receipt, S.SIGNAL_REVOKED, deliveries, now)
        if task.expires_ts is not None and now - task.expires_ts > RESOLUTION:
            logger.info('task %s expired at %s, not run', task.id, task.expires_resolved)
            return self._skip(task, receipt, S.SIGNAL_EXPIRED, deliveries, now)
        attempt = id(task)
        self.running[attempt] = (time.time(), _get_ident(), task)
        try:
            return self._attempt(task, receipt, now, check_revoked, deliveries, take_next, acks)
        finally:
            self.running.pop(attempt, None)

    def _attempt(
        self,
        task: Task,
        receipt: str | None,
        now: float,
        check_revoked: bool,
        deliveries: int,
        take_next: bool,
        acks: list | None,
    ) -> tuple[Any, Delivery | None]:
        """``run`` from SIGNAL_EXECUTING on: the attempt itself."""
        self._emit(S.SIGNAL_EXECUTING, task)
        if self.pre_execute and not self._pre_hooks(task):
            return self._skip(task, receipt, S.SIGNAL_CANCELED, deliveries, now)
        try:
            value = self._call(task, check_revoked)
        except TaskTimeout as exc:
            logger.warning('task %s timed out (%s)', task.id, exc)
            return self._failed(task, receipt, exc, deliveries, S.SIGNAL_TIMEOUT)
        except RateLimitExceeded as exc:
            logger.info('task %s not run: %s', task.id, exc)
            retry_eta = None
            if exc.retry or task.retries:
                retry_eta = time.time() + (task.retry_delay or exc.delay)
                if exc.retry:  # a rate-limited retry costs no retry
                    task.retries += 1
            return self._failed(task, receipt, exc, deliveries, S.SIGNAL_RATE_LIMITED, retry_eta)
        except TaskLockedException as exc:
            logger.warning('task %s not run: %s', task.id, exc)
            return self._failed(task, receipt, exc, deliveries, S.SIGNAL_LOCKED)
        except RetryTask as exc:
            task.retries += 1  # RetryTask costs no retry
            retry_eta = None
            if exc.eta is not None:
                retry_eta = to_timestamp(exc.eta)
            elif exc.delay is not None:
                retry_eta = time.time() + seconds(exc.delay)
            return self._failed(task, receipt, exc, deliveries, None, retry_eta)
        except CancelExecution as exc:
            if exc.retry or (exc.retry is None and task.retries):
                task.retries = max(task.retries, 1)
            else:
                task.retries = 0
            return self._failed(task, receipt, exc, deliveries, S.SIGNAL_CANCELED)
        except Exception as exc:
            logger.error('unhandled exception in task %s (%s)', task.id, task.name, exc_info=exc)
            return self._failed(task, receipt, exc, deliveries, S.SIGNAL_ERROR)
        return value, self._succeeded(task, receipt, value, deliveries, now, take_next, acks)

    def _call(self, task: Task, check_revoked: bool) -> Any:
        """Run the task function, under the consumer's timeout handler if the
        task has a ``timeout`` (or the consumer a default one;
        ``task.check_timeout()`` works either way).
        Afterwards a revocation of this instance made while it ran no longer
        applies (checked only while revocations exist)."""
        try:
            timeout = task.timeout or self.default_timeout
            if not timeout:
                return task.execute()
            task._deadline = time.monotonic() + timeout
            if self.timeout_handler is None or task.is_async:  # an async task times out on its loop
                return task.execute()
            with self.timeout_handler(timeout):
                return task.execute()
        finally:
            if check_revoked and not isinstance(task, PeriodicTask):
                self.revocations.ran(task)

    def _skip(
        self, task: Task, receipt: str | None, signal: str, deliveries: int, now: float
    ) -> tuple[None, None]:
        """A task that will not run: its chord gets SKIPPED in its slot."""
        self._emit(signal, task)
        if task.chord is not None:
            self.chords.member_done(task, SKIPPED, deliveries, now)
        return None, self._ack(receipt)

    def _succeeded(
        self,
        task: Task,
        receipt: str | None,
        value: Any,
        deliveries: int,
        now: float,
        take_next: bool,
        acks: list | None = None,
    ) -> Delivery | None:
        result = None
        if (
            self.settings.results
            and (value is not None or self.settings.store_none)
            and not isinstance(task, PeriodicTask)
        ):
            result = (task.id, self._serialize_value(task, value))
        follow = task.on_complete
        member = task.chord is not None and follow is None  # a pipeline's last step reports
        if result is not None and (
            member or self.post_execute or self.signals.complete_reads_result
        ):
            # readable before the hooks, the receivers and the chord's callback
            self._ack(None, result, task=task)
            result = None
        if self.post_execute:
            self._post_hooks(task, value, None)
        feeds = self.completion_feeds
        if feeds:
            attempt = self.running.get(id(task))
            completion = (
                time.time(),
                None if attempt is None else attempt[0],
                _get_ident(),
                task.name,
                task.id,
            )
            for feed in feeds:
                feed(completion)
        self._emit(S.SIGNAL_COMPLETE, task)
        if member:
            self.chords.member_done(task, value, deliveries, now)
        if follow is None:
            if acks is not None and receipt is not None:
                acks.append((receipt, result))
                return None
            return self._ack(receipt, result, take_next, task)
        follow.chord = task.chord
        follow.extend_data(value)
        if receipt is None:  # immediate or at-most-once: this step's result first
            self._ack(None, result, task=task)
            self.enqueue(follow, now)
        else:  # at-least-once: the next step is enqueued before the ack
            self.enqueue(follow, now)
            self._ack(receipt, result, task=task)
        return None

    def _failed(
        self,
        task: Task,
        receipt: str | None,
        exc: Exception,
        deliveries: int,
        signal: str | None,
        retry_eta: float | None = None,
    ) -> tuple[None, None]:
        """Store the error, run the error handler, and retry or (on the last
        attempt) report to the chord.

        RetryTask, locks and rate limits are not failures while the task will
        run again: their error is stored (and ``on_error`` run) only on the
        last attempt; other errors on every attempt unless
        ``store_intermediate_errors`` is off.
        """
        if signal is not None:
            self._emit(signal, task, *((exc,) if signal == S.SIGNAL_ERROR else ()))
        final = not task.retries
        surface = final or (
            self.settings.store_intermediate_errors and not isinstance(exc, RETRYING_EXCEPTIONS)
        )
        error = self._error(task, exc) if surface else None
        writes = []
        if error is not None and self.settings.results and not isinstance(task, PeriodicTask):
            step = task
            while step is not None:  # a failed pipeline fails its later steps too
                writes.append((step.id, self._serialize_error(step.id, task, error)))
                step = step.on_complete if final else None
        if self.post_execute:
            self._post_hooks(task, None, exc)
        handler = None
        if error is not None and task.on_error is not None:
            handler = task.on_error.copy(id=task.on_error.id)  # shared across retries
            handler.extend_data(exc)
        chord = final and task.chord is not None
        if final and handler is None and not chord and len(writes) <= 1:
            return None, self._ack(receipt, writes[0] if writes else None)
        # Every write is made before the acknowledgement: a crash in between
        # redelivers the message rather than losing the retry or handler.
        for key, data in writes:
            self.storage.put_data(key, data, is_result=True)
        now = time.time()
        if handler is not None:
            self.enqueue(handler, now)
        if chord:
            self.chords.member_done(task, error, deliveries, now)
        elif not final:
            self._emit(S.SIGNAL_RETRYING, task)
            self._retry(task, now, retry_eta)
        return None, self._ack(receipt)

    def _retry(self, task: Task, now: float, retry_eta: float | None) -> None:
        """Times count from the real current time (``now``)."""
        task.retries -= 1
        logger.info('retrying %s, %s retries left', task.id, task.retries)
        if retry_eta is None and task.retry_delay:
            retry_eta = now + task.retry_delay
            if task.retry_backoff:
                task.retry_delay *= task.retry_backoff
        if retry_eta is not None:
            task.eta_ts = retry_eta
            self.schedule(task)
        else:
            self.enqueue(task, now)

    def _ack(
        self,
        receipt: str | None,
        result: tuple[str, bytes] | None = None,
        take_next: bool = False,
        task: Task | None = None,
    ) -> Delivery | None:
        """Acknowledge (storing ``result`` in the same round trip), and with
        ``take_next`` lease the next message too; without a receipt just store.

        A result the storage refuses twice (too large for the database, say)
        is replaced by an error saying so: the task ran once, its outcome is
        recorded, and it is not run again. Other storage errors propagate."""
        try:
            return self._ack_once(receipt, result, take_next)
        except Exception:
            if result is None:
                raise
        try:
            return self._ack_once(receipt, result, take_next)
        except Exception as exc:
            why = describe_exception(exc)
            logger.error('the result of task %s cannot be stored (%s)', result[0], why)
            error = {'error': f'its result cannot be stored: {why}', 'task_id': result[0]}
            if task is not None:
                error['retries'] = task.retries
            return self._ack_once(
                receipt, (result[0], self.codec.encode_value(result[0], Error(error))), take_next
            )

    def _ack_once(
        self, receipt: str | None, result: tuple[str, bytes] | None, take_next: bool
    ) -> Delivery | None:
        storage = self.storage
        if receipt is None:
            if result is not None:
                storage.put_data(result[0], result[1], is_result=True)
            return None
        if not take_next:
            storage.ack(receipt, result)
            return None
        _, lease, flag = storage.ack_and_lease(
            receipt, result, self.settings.lease_timeout, REVOKED_FLAG
        )
        if lease is None:
            return None
        return self.accept(lease.data, lease.receipt, lease.deliveries, flag is not EmptyData)

    # -- helpers ------------------------------------------------------------

    def _serialize_value(self, task: Task, value: Any) -> bytes:
        try:
            return self.codec.encode_value(task.id, value)
        except Exception as exc:
            logger.error(
                'task %s returned a value that cannot be serialized: %s',
                task.id,
                describe_exception(exc),
            )
            return self._serialize_error(task.id, task, self._error(task, exc))

    def _serialize_error(self, key: str, task: Task, error: Error) -> bytes:
        """``error`` encoded for ``key``; reduced to its message if it holds what cannot be."""
        try:
            return self.codec.encode_value(key, error)
        except Exception:
            message = str(error.metadata.get('error', 'error'))[:300]
            plain = {'error': message, 'task_id': task.id, 'retries': task.retries}
            return self.codec.encode_value(key, Error(plain))

    def _error(self, task: Task, exc: BaseException) -> Error:
        try:
            return Error(self.build_error_result(task, exc))
        except Exception as failure:  # an override that fails must not lose the task
            logger.error(
                'build_error_result failed for %s: %s', task.id, describe_exception(failure)
            )
            return Error(
                {'error': describe_exception(exc), 'task_id': task.id, 'retries': task.retries}
            )

    def _emit(self, signal: str, task: Task, *args) -> None:
        if signal in self.signals.wanted:
            self.signals.send(signal, task, *args)

    def _pre_hooks(self, task: Task) -> bool:
        """Run pre-execute hooks; False when one raised CancelExecution."""
        for name, hook in list(self.pre_execute.items()):
            try:
                hook(task)
            except CancelExecution:
                logger.warning('task %s canceled by pre-execute hook %r', task.id, name)
                return False
            except Exception:
                logger.exception('pre_execute hook %r failed for %s', name, task)
        return True

    def _post_hooks(self, task: Task, value: Any, exc: BaseException | None) -> None:
        for name, hook in list(self.post_execute.items()):
            try:
                hook(task, value, exc)
            except Exception:
                logger.exception('post_execute hook %r failed for %s', name, task)


def _too_often(deliveries: int, limit: int) -> str:
    return (
        f'delivered {deliveries} times (max_deliveries={limit}): '
        'it probably kills or hangs its worker'
    )
