"""One worker: reserve a delivery, execute it, repeat.

The loop is the same for thread, process and greenlet workers; only how it is
started differs (see ``pools``). A worker never dies because of a task: task
errors are handled by ``Huey.execute_delivery``; storage errors are logged and
retried with a growing delay.
"""

from __future__ import annotations

import datetime
import logging
import random
import threading
from typing import TYPE_CHECKING

from .backoff import Backoff
from .config import ConsumerConfig
from .environments import StopFlag, sleep_for_interval
from .timeouts import TaskAbandoned

if TYPE_CHECKING:
    from huey_api import Huey
    from huey_api.execution import Delivery

__all__ = ['ERROR_BACKOFF', 'Worker']

logger = logging.getLogger('huey.consumer.worker')

#: (initial, factor, maximum) seconds between retries while the storage fails.
ERROR_BACKOFF = (0.5, 2.0, 15.0)


class Worker:
    """Run deliveries from ``huey`` until ``stop_flag`` is set or ``max_tasks``
    is reached.

    Every worker of a consumer (and its scheduler) watches the consumer's one
    ``stop_flag``. ``current()`` is the delivery being executed (for the lease
    keeper), and ``take_over()`` lets a prompt shutdown grab it to release it
    to the queue.
    """

    def __init__(
        self,
        huey: Huey,
        stop_flag: StopFlag | None = None,
        config: ConsumerConfig | None = None,
        name: str = 'Worker',
        error_backoff: tuple[float, float, float] = ERROR_BACKOFF,
    ) -> None:
        config = config or ConsumerConfig()
        self.huey = huey
        self.stop_flag = threading.Event() if stop_flag is None else stop_flag
        self.name = name
        self.max_tasks = config.max_tasks
        self.idle_backoff = Backoff(config.initial_delay, config.backoff, config.max_delay)
        self.error_backoff = Backoff(*error_backoff)
        #: Held while reserving, so a prompt shutdown never misses a delivery
        #: that is between ``reserve()`` and being recorded as current.
        self.reserve_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._current: Delivery | None = None
        #: a delivery taken along with the last acknowledgement, run next
        self._next: Delivery | None = None
        #: Plain flag a signal handler may set (taking no lock): stop after
        #: the task in flight, whatever the shared flag says.
        self.stop_requested = False
        self.tasks_done = 0
        self.recycled = False  # stopped because max_tasks was reached
        self.abandoned = False  # its delivery was taken over by a prompt shutdown
        self.finished = False
        self._blocking = bool(huey.storage.blocking)

    def __repr__(self) -> str:
        return f'<Worker {self.name}>'

    # -- control (any thread) ---------------------------------------------

    def current(self) -> Delivery | None:
        """The delivery being executed now, or None."""
        return self._current

    def stopping(self) -> bool:
        """True once the worker must not take new work."""
        return self.stop_requested or self.stop_flag.is_set()

    def take_over(self, timeout: float = 5.0) -> Delivery | None:
        """Stop the worker and take its in-flight delivery away from it.

        Waits up to ``timeout`` seconds for a ``reserve()`` in progress, so the
        delivery it may return is not missed. Returns the delivery (the caller
        releases it to the queue; the worker is then ``abandoned`` and skips
        its shutdown hooks) or None when the worker was idle (it ends normally).
        """
        self.stop_requested = True
        acquired = self.reserve_lock.acquire(timeout=timeout)
        try:
            with self._state_lock:
                delivery, self._current = self._current, None
                if delivery is not None:
                    self.abandoned = True
        finally:
            if acquired:
                self.reserve_lock.release()
        return delivery

    # -- the loop (the worker's own thread/process/greenlet) -----------------

    def sleep(self) -> None:
        """Wait after an empty read of a non-blocking storage: the idle delay,
        growing by ``backoff`` up to ``max_delay`` until work arrives."""
        self.pause(self.idle_backoff.next())

    def sleep_for_interval(self, start: float, seconds: float) -> None:
        """Wait until ``seconds`` after ``start`` (monotonic), or a stop."""
        sleep_for_interval(self.stop_flag, start, seconds)

    def pause(self, seconds: float) -> None:
        """Wait about ``seconds`` (cut short by the stop flag) before reading again.

        The wait is jittered (x0.5 to x1.5, the same on average) so the workers
        of a consumer polling an idle non-blocking storage drift apart instead
        of polling in lockstep: a new message then waits for the next poll of
        any worker, not of all of them at once.
        """
        self.stop_flag.wait(seconds * random.uniform(0.5, 1.5))

    def run(self) -> None:
        """Run start-up hooks, the work loop, then shutdown hooks."""
        logger.debug('%s starting', self.name)
        self.huey.run_startup_hooks()
        try:
            while self.loop():
                pass
        finally:
            try:
                if not self.abandoned:
                    self.huey.run_shutdown_hooks()
            finally:
                self.finished = True
            logger.debug('%s stopped after %d tasks', self.name, self.tasks_done)

    def loop(self, now: datetime.datetime | float | None = None) -> bool:
        """Reserve and run at most one delivery; False when the loop must end.

        ``now`` (tests) is the time the task's schedule, expiry and
        revocation are judged at, instead of the clock's.
        """
        if self.stopping():
            return False
        if self.max_tasks is not None and self.tasks_done >= self.max_tasks:
            self.recycled = True
            logger.info(
                '%s ran %d tasks (max tasks per worker); it will be replaced',
                self.name,
                self.tasks_done,
            )
            return False
        if self._next is not None:  # already leased and recorded as current
            delivery, self._next = self._next, None
            self._execute(delivery, now)
            return True
        with self.reserve_lock:
            if self.stopping():
                return False
            try:
                delivery = self.huey.reserve()
            except Exception as exc:
                failure = exc
            else:
                failure = None
                if delivery is not None:
                    with self._state_lock:
                        self._current = delivery
        if failure is not None:
            self._storage_failed('reserving the next task', failure)
            return True
        self._storage_recovered()
        if delivery is None:
            if not self._blocking:
                self.sleep()
            return True
        self.idle_backoff.reset()
        self._execute(delivery, now)
        return True

    def _may_take_next(self) -> bool:
        """Whether finishing a task may also lease the next one (see step())."""
        if self.stopping():
            return False
        return self.max_tasks is None or self.tasks_done + 1 < self.max_tasks

    def _execute(self, delivery: Delivery, now: datetime.datetime | float | None = None) -> None:
        failure = None
        taken = None
        # ``now`` only when given, so the hot path needs nothing new from huey-api
        at = {} if now is None else {'now': now}
        try:
            taken = self.huey.execute_delivery(
                delivery, reserve_next=self._may_take_next() and now is None, **at
            )
        except Exception as exc:
            failure = exc
        except TaskAbandoned:
            logger.warning(
                '%s: task %s came back after it was abandoned; its outcome is discarded',
                self.name,
                delivery.task,
            )
            self.stop_requested = True
        except SystemExit as exc:
            logger.error(
                '%s: task %s called sys.exit(%r); the worker keeps running',
                self.name,
                delivery.task,
                exc.code,
            )
        finally:
            with self._state_lock:
                if self._current is delivery:
                    self._current = None
                if taken is not None and not self.stopping():
                    self._current = self._next = taken
                    taken = None
            self.tasks_done += 1
        if taken is not None:  # stopping meanwhile: give the next one back at once
            try:
                self.huey.release(taken)
            except Exception as exc:
                logger.error(
                    '%s: could not give back %s (it returns when its lease expires): %s',
                    self.name,
                    taken.task,
                    exc,
                )
        if failure is not None:
            self._storage_failed(
                f'running task {delivery.task} (it will be delivered again once its lease expires)',
                failure,
            )

    def _storage_failed(self, doing: str, exc: BaseException) -> None:
        delay = self.error_backoff.next()
        if self.error_backoff.attempts == 1:
            logger.error(
                '%s: storage error while %s; retrying in %.1fs',
                self.name,
                doing,
                delay,
                exc_info=exc,
            )
        else:
            logger.error(
                '%s: storage error while %s (%d in a row): %s: %s; retrying in %.1fs',
                self.name,
                doing,
                self.error_backoff.attempts,
                type(exc).__name__,
                exc,
                delay,
            )
        self.pause(delay)

    def _storage_recovered(self) -> None:
        if self.error_backoff.attempts:
            logger.warning(
                '%s: storage is working again after %d failed attempts',
                self.name,
                self.error_backoff.attempts,
            )
            self.error_backoff.reset()
