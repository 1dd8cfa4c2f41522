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

from huey_api import signals as S
from huey_api.exceptions import (
    CancelExecution,
    HueyException,
    RateLimitExceeded,
    RetryTask,
    TaskLockedException,
)
from huey_api.result import Error
from huey_api.revocation import REVOKE_PREFIX, REVOKED_FLAG
from huey_api.task import PeriodicTask, Task
from huey_api.utils import to_timestamp

__all__ = ['Delivery', 'ExecutionMixin']

logger = logging.getLogger(__name__)

_PERIODIC_PREFIX = 'periodic:'
_PERIODIC_TTL = 120.0


@dataclass(frozen=True)
class Delivery:
    """A task handed to a worker: ``receipt`` is None in at-most-once mode."""

    task: Task
    receipt: str | None
    deliveries: int = 1
    #: False when the storage said nothing was ever revoked (skip the check)
    check_revoked: bool = True


def _error_metadata(task: Task, exc: BaseException, retries: int) -> dict:
    return {
        'error': repr(exc),
        'type': f'{type(exc).__module__}.{type(exc).__qualname__}',
        'message': str(exc),
        'traceback': ''.join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        'task_id': task.id,
        'retries': retries,
    }


class ExecutionMixin:
    """Execution methods of ``Huey`` (split out to keep modules readable)."""

    # -- consumer entry points ------------------------------------------

    def reserve(self) -> Delivery | None:
        """Next runnable ``Delivery`` or None; poison messages are dead-lettered."""
        storage = self.storage
        at_least_once = self.delivery == 'at-least-once'
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
            task = self.registry.decode(self.serializer.deserialize(data))
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
        return Delivery(task, receipt, deliveries, check_revoked)

    def execute_delivery(
        self, delivery: Delivery, reserve_next: bool = False, now=None
    ) -> Delivery | None:
        """Run a reserved task with every semantic, then acknowledge it.

        Task errors are handled (stored, retried, signalled); only storage
        failures propagate. With ``reserve_next``, a successful task's
        acknowledgement may also take the next waiting message in the same
        round trip (``storage.ack_and_lease``): that ``Delivery`` is returned,
        already leased, and the caller must run or release it. Returns None
        when nothing was taken (then call ``reserve()`` as usual). ``now`` (a
        datetime or epoch seconds; tests) replaces the clock's time.
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
            key = f'{_PERIODIC_PREFIX}{task.name}:{minute}'
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
        for name in self._locks.union(extra_names):
            if self.storage.delete_data(f'lock:{name}'):
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
        """Run ``task`` now in this process with every semantic; returns its value
        (None if it was skipped or failed)."""
        now = time.time() if timestamp is None else to_timestamp(timestamp)
        return self._execute(task, None, now)

    def dequeue(self) -> Task | None:
        """Remove and return the next task (at-most-once), dead-lettering poison."""
        while True:
            data = self.storage.dequeue()
            if data is None:
                return None
            try:
                return self.deserialize_task(data)
            except HueyException as exc:
                self._bury(data, None, f'undecodable message: {exc}', None)

    def add_schedule(self, task: Task) -> None:
        """Put ``task`` in the schedule at its eta (now if it has none)."""
        eta = task.eta_ts if task.eta_ts is not None else time.time()
        self.storage.add_to_schedule(self.serialize_task(task), eta, task.priority)

    def read_schedule(self, timestamp=None) -> list[Task]:
        """Remove and return the tasks due at ``timestamp`` (default now)."""
        ts = time.time() if timestamp is None else to_timestamp(timestamp)
        tasks = []
        for data in self.storage.read_schedule(ts):
            try:
                tasks.append(self.deserialize_task(data))
            except HueyException as exc:
                self._bury(data, None, f'undecodable message: {exc}', None)
        return tasks

    def read_periodic(self, timestamp: datetime.datetime) -> list[Task]:
        """New instances of the periodic tasks whose validator accepts ``timestamp``."""
        return [
            task_class()
            for task_class in self.registry.periodic_tasks
            if task_class.validate_datetime(timestamp)
        ]

    def ready_to_run(self, task: Task, timestamp=None) -> bool:
        """True if ``task`` has no eta or its eta is at or before ``timestamp``."""
        ts = time.time() if timestamp is None else to_timestamp(timestamp)
        return task.eta_ts is None or task.eta_ts <= ts

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
        try:
            data = self.serialize_task(task)
        except Exception:  # e.g. an unpicklable argument carried over
            logger.exception('could not serialize %s: it is not enqueued', task)
            return
        # Storage errors propagate: the message is then not acknowledged and
        # comes back when its lease expires, so the retry or next step is not lost.
        self._put(task, now, data)

    def _execute(
        self,
        task: Task,
        receipt: str | None,
        now: float,
        check_revoked: bool = True,
        taken: list | None = None,
        deliveries: int = 1,
    ) -> Any:
        # A message in the queue runs now: future etas went to the schedule at
        # enqueue time and ``enqueue_due`` moved them here when due.
        storage = self.storage
        if task.expires_ts is not None and task.expires_ts <= now:
            logger.info('task %s expired at %s, not run', task.id, task.expires)
            if task.chord is not None:
                self._chord_member_done(task, None, deliveries, now)
            self._finish(receipt, None)
            self._emit(S.SIGNAL_EXPIRED, task)
            return None
        if check_revoked and self._task_revoked(task, now):
            logger.info('task %s is revoked, not run', task.id)
            if task.chord is not None:
                self._chord_member_done(task, None, deliveries, now)
            self._finish(receipt, None)
            self._emit(S.SIGNAL_REVOKED, task)
            return None
        if self._pre_execute:
            try:
                for hook in list(self._pre_execute.values()):
                    hook(task)
            except CancelExecution:
                if task.chord is not None:
                    self._chord_member_done(task, None, deliveries, now)
                self._finish(receipt, None)
                self._emit(S.SIGNAL_CANCELED, task)
                return None
        signals = self._signals
        if signals.active:
            signals.send(S.SIGNAL_EXECUTING, task)
        try:
            value = task.execute()
        except Exception as exc:
            self._handle_failure(task, receipt, exc, now, deliveries)
            self._post_hooks(task, None, exc)
            return None
        result = None
        if (
            self.results
            and (value is not None or self.store_none)
            and not isinstance(task, PeriodicTask)
        ):
            try:
                result = (task.id, self.serializer.serialize(value))
            except Exception as exc:
                logger.error('task %s returned a value that cannot be serialized: %r', task.id, exc)
                result = (
                    task.id,
                    self.serializer.serialize(Error(_error_metadata(task, exc, task.retries))),
                )
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
        if signals.active:
            signals.send(S.SIGNAL_COMPLETE, task)
        if self._post_execute:
            self._post_hooks(task, value, None)
        return value

    def _task_revoked(self, task: Task, now: float) -> bool:
        keys = (REVOKE_PREFIX + task.id, REVOKE_PREFIX + task.name)
        values = self.storage.peek_data_many(keys)
        return (values[0] is not EmptyData or values[1] is not EmptyData) and self._revoked(
            keys, values, now, consume=True
        )

    def _post_hooks(self, task: Task, value: Any, exc: BaseException | None) -> None:
        for name, hook in list(self._post_execute.items()):
            try:
                hook(task, value, exc)
            except Exception:
                logger.exception('post_execute hook %r failed for %s', name, task)

    def _handle_failure(
        self, task: Task, receipt: str | None, exc: Exception, now: float, deliveries: int = 1
    ) -> None:
        """Store the error, send signals, then retry or run the error handler."""
        delay = task.retry_delay
        eta = None
        store_error = True
        if isinstance(exc, RetryTask):
            retry, consume, store_error = True, False, False
            if exc.eta is not None:
                eta = to_timestamp(exc.eta)
            elif exc.delay is not None:
                delay = exc.delay
        elif isinstance(exc, CancelExecution):
            store_error = False
            retry = bool(task.retries) if exc.retry is None else exc.retry
            consume = retry and task.retries > 0
            self._emit(S.SIGNAL_CANCELED, task)
        elif isinstance(exc, TaskLockedException):
            logger.warning('task %s not run: %s', task.id, exc)
            retry = consume = task.retries > 0
            self._emit(
                S.SIGNAL_RATE_LIMITED if isinstance(exc, RateLimitExceeded) else S.SIGNAL_LOCKED,
                task,
            )
        else:
            logger.exception('unhandled exception in task %s (%s)', task.id, task.name)
            retry = consume = task.retries > 0
            self._emit(S.SIGNAL_ERROR, task, exc)
        retries_left = task.retries - 1 if consume else task.retries
        result = None
        if store_error and self.results and not isinstance(task, PeriodicTask):
            result = (
                task.id,
                self.serializer.serialize(Error(_error_metadata(task, exc, retries_left))),
            )
        if task.chord is not None and not retry:  # failed for good: fill its slot
            if result is not None:  # the member's error is readable before the callback
                self.storage.put_data(result[0], result[1], is_result=True)
                result = None
            self._chord_member_done(
                task,
                Error(_error_metadata(task, exc, retries_left)) if store_error else None,
                deliveries,
                now,
            )
        # The error result is written before the retry is enqueued, so a fast
        # retry's success can never be overwritten by this attempt's error;
        # with a lease, the message is acknowledged only once the retry (or
        # error handler) is enqueued, so a crash in between loses nothing.
        follows = retry or task.on_error is not None
        if receipt is not None and follows:
            if result is not None:
                self.storage.put_data(result[0], result[1], is_result=True)
        else:
            self._finish(receipt, result)
        if retry:
            task.retries = retries_left
            if consume and task.retry_backoff != 1.0:
                task.retry_delay = delay * task.retry_backoff
            if eta is None:
                eta = now + delay if delay else None
            task.eta_ts = eta
            self._emit(S.SIGNAL_RETRYING, task)
            self._enqueue_follow_up(task, now)
        elif task.on_error is not None:
            handler = task.on_error
            handler.extend_data(exc)
            self._enqueue_follow_up(handler, now)
        if receipt is not None and follows:
            self.storage.ack(receipt)
