"""The execution API: what running a task means, used by consumers.

A consumer loops on ``reserve()`` / ``execute_delivery()``, heartbeats with
``extend_leases()``, and its scheduler calls ``enqueue_due()``,
``enqueue_periodic()`` and ``requeue_expired_leases()``.

Hot path round trips per task (no revocations, no hooks): enqueue 1,
reserve 1 (lease), execute 1 (``peek_data_many`` of both revocation keys),
acknowledge 1 (``ack`` with the result). A None result with
``store_none=False`` is not stored. A chord member adds ``put_data`` of its
slot and ``incr`` of the chord counter (the last one also reads the slots and
enqueues the callback; see ``chords``); other tasks pay nothing for chords.
"""

from __future__ import annotations

import calendar
import datetime
import logging
import time
import traceback
from dataclasses import dataclass
from typing import Any, Sequence

from huey_storage import EmptyData

from huey_api import replay
from huey_api import signals as S
from huey_api.constants import AT_LEAST_ONCE, PERIODIC_PREFIX, REVOKE_PREFIX, REVOKED_FLAG
from huey_api.exceptions import (
    RETRYING_EXCEPTIONS,
    CancelExecution,
    HueyException,
    RateLimitExceeded,
    RetryTask,
    TaskException,
    TaskLockedException,
    TaskTimeout,
)
from huey_api.locks import lock_key
from huey_api.result import SKIPPED, Error
from huey_api.task import PeriodicTask, Task
from huey_api.utils import frame_timestamp, seconds, to_timestamp

__all__ = ['Delivery', 'ExecutionMixin']

# Under 'huey', the logger applications configure for the facade they import.
logger = logging.getLogger(__name__.replace('huey_api', 'huey', 1))

_PERIODIC_TTL = 120.0
#: times closer than this are equal: a datetime (microseconds) read back from
#: an epoch float may land a fraction of a microsecond early
_RESOLUTION = 1e-6


@dataclass(frozen=True)
class Delivery:
    """A task handed to a worker: ``receipt`` is None in at-most-once mode."""

    task: Task
    receipt: str | None
    deliveries: int = 1
    #: False when the storage said nothing was ever revoked (skip the check)
    check_revoked: bool = True
    #: with a signing key, the replay claim given back by ``release``
    claim: str | None = None


class ExecutionMixin:
    """Execution methods of ``Huey`` (split out to keep modules readable)."""

    # -- consumer entry points ------------------------------------------

    def reserve(self) -> Delivery | None:
        """Next runnable ``Delivery`` or None; poison messages are dead-lettered."""
        storage = self.storage
        at_least_once = self.delivery == AT_LEAST_ONCE
        while True:
            if at_least_once:
                lease, flag = storage.lease_with_data(self.lease_timeout, REVOKED_FLAG)
                if lease is None:
                    return None
                data, receipt, deliveries = lease.data, lease.receipt, lease.deliveries
                check_revoked = flag is not EmptyData
            else:
                data = storage.dequeue()
                if data is None:
                    return None
                receipt, deliveries, check_revoked = None, 1, True
            delivery = self._accept(data, receipt, deliveries, check_revoked)
            if delivery is not None:
                return delivery

    def _accept(
        self, data: bytes, receipt: str | None, deliveries: int, check_revoked: bool
    ) -> Delivery | None:
        """Decode a taken message; dead-letter it (and return None) if it is poison."""
        try:
            task = self.deserialize_task(data)
        except HueyException as exc:
            self._bury(data, receipt, f'undecodable message: {exc}', None)
            return None
        if deliveries > self.max_deliveries:
            reason = (
                f'delivered {deliveries} times (max_deliveries='
                f'{self.max_deliveries}): it probably kills or hangs its worker'
            )
            if task.chord is not None:  # never leave its chord waiting
                self._chord_member_done(
                    task,
                    Error(
                        {
                            'error': f'dead-lettered: {reason}',
                            'task_id': task.id,
                            'retries': task.retries,
                        }
                    ),
                    deliveries,
                    time.time(),
                )
            self._bury(data, receipt, reason, task)
            return None
        claim = None
        if self.signed:
            claim, refused = replay.claim(self, data, task.eta_ts, deliveries)
            if refused is not None:
                self._bury(data, receipt, refused, task)
                return None
        return Delivery(task, receipt, deliveries, check_revoked, claim)

    def execute_delivery(
        self,
        delivery: Delivery,
        reserve_next: bool = False,
        now: datetime.datetime | float | None = None,
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
        goes to the schedule.
        """
        taken: list | None = [] if reserve_next and delivery.receipt is not None else None
        self._execute(
            delivery.task,
            delivery.receipt,
            time.time() if now is None else to_timestamp(now),
            delivery.check_revoked,
            taken,
            delivery.deliveries,
        )
        if not taken:
            return None
        lease, flag = taken
        return self._accept(lease.data, lease.receipt, lease.deliveries, flag is not EmptyData)

    def release(self, delivery: Delivery) -> None:
        """Give an interrupted delivery back to the queue; sends SIGNAL_INTERRUPTED.

        At-most-once deliveries are re-enqueued at the queue's tail.
        """
        if delivery.claim is not None:
            replay.unclaim(self, delivery.claim)
        if delivery.receipt is not None:
            self.storage.release(delivery.receipt)
        else:
            self.storage.enqueue(self.serialize_task(delivery.task), delivery.task.priority)
        self._emit(S.SIGNAL_INTERRUPTED, delivery.task)

    def extend_leases(self, deliveries: Sequence[Delivery]) -> int:
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

    # -- classic huey API -------------------------------------------------

    def execute(self, task: Task, timestamp=None) -> Any:
        """Run ``task`` in this process with every semantic; returns its value.

        ``timestamp`` (default now) is the time to judge the task by, a
        datetime in huey's clock (see ``Task.eta``) or epoch seconds: a task
        whose eta is later goes to the schedule instead. Returns None when the
        task was scheduled, skipped (revoked, expired, canceled) or failed.
        Goes through the same path as ``execute_delivery``.
        """
        now = time.time() if timestamp is None else frame_timestamp(timestamp, self.utc)
        return self._execute(task, None, now)

    def dequeue(self) -> Task | None:
        """Remove and return the next task, or None: a plain at-most-once pop
        (a consumer uses ``reserve()``); poison messages are dead-lettered."""
        while True:
            data = self.storage.dequeue()
            if data is None:
                return None
            try:
                return self.deserialize_task(data)
            except HueyException as exc:
                self._bury(data, None, f'undecodable message: {exc}', None)

    def add_schedule(self, task: Task) -> None:
        """Put ``task`` in the schedule at its eta (now if it has none);
        sends SIGNAL_SCHEDULED."""
        eta = task.eta_ts if task.eta_ts is not None else time.time()
        self.storage.add_to_schedule(self.serialize_task(task), eta, task.priority)
        self._emit(S.SIGNAL_SCHEDULED, task)

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
                ts += 1e-6
        tasks = []
        for data in self.storage.read_schedule(ts):
            try:
                tasks.append(self.deserialize_task(data))
            except HueyException as exc:
                self._bury(data, None, f'undecodable message: {exc}', None)
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
        return task.eta_ts is None or task.eta_ts - ts <= _RESOLUTION

    def build_error_result(self, task: Task, exception: BaseException) -> dict:
        """The metadata stored (as an ``Error``) for a failed task: ``error``,
        ``retries``, ``traceback``, ``task_id``, ``type``, ``message``.
        Override to add fields."""
        if isinstance(exception, TaskException):  # a subtask's error, passed on
            error = exception.metadata.get('error') or repr(exception)
        else:
            error = repr(exception)
        return {
            'error': error,
            'type': f'{type(exception).__module__}.{type(exception).__qualname__}',
            'message': str(exception),
            'traceback': ''.join(
                traceback.format_exception(type(exception), exception, exception.__traceback__)
            ),
            'task_id': task.id,
            'retries': task.retries,
        }

    # -- internals --------------------------------------------------------

    def _emit(self, signal: str, task: Task, *args) -> None:
        if self._signals.active:
            self._signals.send(signal, task, *args)

    def _bury(self, data: bytes, receipt: str | None, reason: str, task: Task | None) -> None:
        if receipt is not None:
            dead_id = self.storage.dead_letter(receipt, reason)
        else:
            dead_id = self.storage.add_dead_letter(data, reason)
        logger.error('message moved to the dead letters (id %s): %s', dead_id, reason)
        if task is not None:
            self._emit(S.SIGNAL_DEAD_LETTERED, task)

    def _finish(self, receipt: str | None, result: tuple[str, bytes] | None) -> None:
        if receipt is not None:
            self.storage.ack(receipt, result)
        elif result is not None:
            self.storage.put_data(result[0], result[1], is_result=True)

    def _enqueue_follow_up(self, task: Task, now: float) -> None:
        if task.expires is not None:
            task.resolve_expires()  # counts from this enqueue, as for a call
        try:
            data = self.serialize_task(task)
        except Exception:  # e.g. an unpicklable argument carried over
            logger.exception('could not serialize %s: it is not enqueued', task)
            return
        # Storage errors propagate: the message is then not acknowledged and
        # comes back when its lease expires, so the retry or next step is not lost.
        self._put(task, now, data)

    def _serialize_result(self, task: Task, value: Any) -> bytes:
        try:
            return self.serialize_value(task.id, value)
        except Exception as exc:
            logger.error('task %s returned a value that cannot be serialized: %r', task.id, exc)
            return self.serialize_value(task.id, Error(self.build_error_result(task, exc)))

    def _skip(self, task: Task, receipt: str | None, deliveries: int, now: float) -> None:
        """A task that will not run: its chord gets SKIPPED in its slot."""
        if task.chord is not None:
            self._chord_member_done(task, SKIPPED, deliveries, now)
        self._finish(receipt, None)

    def _call(self, task: Task) -> Any:
        """Run the task function, under the consumer's timeout handler if the
        task has a ``timeout`` (or the consumer a default one);
        ``task.check_timeout()`` works either way."""
        timeout = task.timeout or self._default_timeout
        if not timeout:
            return task.execute()
        task._deadline = time.monotonic() + timeout
        handler = self._timeout_handler
        if handler is None or task.is_async:  # an async task times out on its loop
            return task.execute()
        with handler(timeout):
            return task.execute()

    def _execute(
        self,
        task: Task,
        receipt: str | None,
        now: float,
        check_revoked: bool = True,
        taken: list | None = None,
        deliveries: int = 1,
    ) -> Any:
        """The one execution path (``execute`` and ``execute_delivery``).

        In order: a future eta goes to the schedule; a revoked or expired
        task is skipped; SIGNAL_EXECUTING; pre-execute hooks (CancelExecution
        skips); the task runs; then its outcome. With a ``receipt`` every
        write an outcome needs is made before the message is acknowledged.
        """
        storage = self.storage
        if task.eta_ts is not None and task.eta_ts - now > _RESOLUTION:
            self.add_schedule(task)
            self._finish(receipt, None)
            return None
        if check_revoked and self._task_revoked(task, now):
            logger.info('task %s is revoked, not run', task.id)
            self._emit(S.SIGNAL_REVOKED, task)
            return self._skip(task, receipt, deliveries, now)
        if task.expires_ts is not None and now - task.expires_ts > _RESOLUTION:
            logger.info('task %s expired at %s, not run', task.id, task.expires_resolved)
            self._emit(S.SIGNAL_EXPIRED, task)
            return self._skip(task, receipt, deliveries, now)
        signals = self._signals
        if signals.active:
            signals.send(S.SIGNAL_EXECUTING, task)
        if self._pre_execute and not self._pre_hooks(task):
            self._emit(S.SIGNAL_CANCELED, task)
            return self._skip(task, receipt, deliveries, now)
        try:
            value = self._call(task)
        except Exception as exc:
            self._clear_revocation(task, check_revoked)
            self._handle_failure(task, receipt, exc, deliveries)
            return None
        self._clear_revocation(task, check_revoked)
        result = None
        if (
            self.results
            and (value is not None or self.store_none)
            and not isinstance(task, PeriodicTask)
        ):
            result = (task.id, self._serialize_result(task, value))
        if result is not None and (self._post_execute or signals.complete_reads_result):
            # hooks and receivers may read the result (one more round trip)
            storage.put_data(result[0], result[1], is_result=True)
            result = None
        if self._post_execute:
            self._post_hooks(task, value, None)
        if signals.active:
            signals.send(S.SIGNAL_COMPLETE, task)
        follow = task.on_complete
        if task.chord is not None:
            if follow is not None:  # a pipeline member: its last step fills the slot
                follow.chord = task.chord
            else:
                if result is not None:  # the member's result is readable before the callback
                    storage.put_data(result[0], result[1], is_result=True)
                    result = None
                self._chord_member_done(task, value, deliveries, now)
        if follow is not None:
            follow.extend_data(value)
            if receipt is not None:  # at-least-once: never lose the next step
                self._enqueue_follow_up(follow, now)
                self._finish(receipt, result)
            else:
                self._finish(receipt, result)
                self._enqueue_follow_up(follow, now)
        elif receipt is not None:
            if taken is None:
                storage.ack(receipt, result)
            else:  # acknowledge and take the next message in one round trip
                _, lease, flag = storage.ack_and_lease(
                    receipt, result, self.lease_timeout, REVOKED_FLAG
                )
                if lease is not None:
                    taken[:] = (lease, flag)
        elif result is not None:
            storage.put_data(result[0], result[1], is_result=True)
        return value

    def _clear_revocation(self, task: Task, check_revoked: bool) -> None:
        # A revocation of this instance made while it ran no longer applies.
        if check_revoked and not isinstance(task, PeriodicTask):
            self.storage.delete_data(REVOKE_PREFIX + task.id)

    def _task_revoked(self, task: Task, now: float) -> bool:
        keys = (REVOKE_PREFIX + task.id, REVOKE_PREFIX + task.name)
        values = self.storage.peek_data_many(keys)
        return (values[0] is not EmptyData or values[1] is not EmptyData) and self._revoked(
            keys, values, now, consume=True
        )

    def _pre_hooks(self, task: Task) -> bool:
        """Run pre-execute hooks; False when one raised CancelExecution."""
        for name, hook in list(self._pre_execute.items()):
            try:
                hook(task)
            except CancelExecution:
                logger.warning('task %s canceled by pre-execute hook %r', task.id, name)
                return False
            except Exception:
                logger.exception('pre_execute hook %r failed for %s', name, task)
        return True

    def _post_hooks(self, task: Task, value: Any, exc: BaseException | None) -> None:
        for name, hook in list(self._post_execute.items()):
            try:
                hook(task, value, exc)
            except Exception:
                logger.exception('post_execute hook %r failed for %s', name, task)

    def _handle_failure(
        self, task: Task, receipt: str | None, exc: Exception, deliveries: int = 1
    ) -> None:
        """Signal the failure, store the error, run the error handler, and
        retry or (on the last attempt) report to the chord.

        RetryTask, locks and rate limits are not failures while the task will
        run again: their error is stored (and ``on_error`` run) only on the
        last attempt; other errors on every attempt unless
        ``store_intermediate_errors`` is off. Retry times count from the real
        current time.
        """
        retry_eta = None
        if isinstance(exc, TaskTimeout):
            logger.warning('task %s timed out (%s)', task.id, exc)
            self._emit(S.SIGNAL_TIMEOUT, task)
        elif isinstance(exc, RateLimitExceeded):
            if exc.retry or task.retries:
                retry_eta = time.time() + (task.retry_delay or exc.delay)
                if exc.retry:  # a rate-limited retry costs no retry
                    task.retries += 1
            logger.info('task %s not run: %s', task.id, exc)
            self._emit(S.SIGNAL_RATE_LIMITED, task)
        elif isinstance(exc, TaskLockedException):
            logger.warning('task %s not run: %s', task.id, exc)
            self._emit(S.SIGNAL_LOCKED, task)
        elif isinstance(exc, RetryTask):
            task.retries += 1  # RetryTask costs no retry
            if exc.eta is not None:
                retry_eta = to_timestamp(exc.eta)
            elif exc.delay is not None:
                retry_eta = time.time() + seconds(exc.delay)
        elif isinstance(exc, CancelExecution):
            if exc.retry or (exc.retry is None and task.retries):
                task.retries = max(task.retries, 1)
            else:
                task.retries = 0
            self._emit(S.SIGNAL_CANCELED, task)
        else:
            logger.exception('unhandled exception in task %s (%s)', task.id, task.name)
            self._emit(S.SIGNAL_ERROR, task, exc)
        final = not task.retries
        surface = final or (
            self.store_intermediate_errors and not isinstance(exc, RETRYING_EXCEPTIONS)
        )
        error = Error(self.build_error_result(task, exc)) if surface else None
        writes = []
        if error is not None and self.results and not isinstance(task, PeriodicTask):
            step = task
            while step is not None:  # a failed pipeline fails its later steps too
                writes.append((step.id, self.serialize_value(step.id, error)))
                step = step.on_complete if final else None
        if self._post_execute:
            self._post_hooks(task, None, exc)
        handler = None
        if error is not None and task.on_error is not None:
            handler = task.on_error.copy(id=task.on_error.id)  # shared across retries
            handler.extend_data(exc)
        chord = final and task.chord is not None
        storage = self.storage
        if receipt is not None and handler is None and not chord and final and len(writes) <= 1:
            storage.ack(receipt, writes[0] if writes else None)
            return
        # Every write is made before the acknowledgement: a crash in between
        # redelivers the message rather than losing the retry or handler.
        for key, data in writes:
            storage.put_data(key, data, is_result=True)
        now = time.time()
        if handler is not None:
            self._enqueue_follow_up(handler, now)
        if chord:
            self._chord_member_done(task, error, deliveries, now)
        elif not final:
            self._emit(S.SIGNAL_RETRYING, task)
            self._requeue(task, now, retry_eta)
        if receipt is not None:
            storage.ack(receipt)

    def _requeue(self, task: Task, now: float, retry_eta: float | None) -> None:
        task.retries -= 1
        logger.info('retrying %s, %s retries left', task.id, task.retries)
        if retry_eta is None and task.retry_delay:
            retry_eta = now + task.retry_delay
            if task.retry_backoff:
                task.retry_delay *= task.retry_backoff
        if retry_eta is not None:
            task.eta_ts = retry_eta
            self.add_schedule(task)
        else:
            self._enqueue_follow_up(task, now)
