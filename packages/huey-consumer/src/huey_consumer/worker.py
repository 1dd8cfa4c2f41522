"""One worker: reserve deliveries, execute them, repeat.

The loop is the same for thread, process and greenlet workers; only how it is
started differs (see ``pools``). A worker never dies because of a task: task
errors are handled by ``Huey.execute_delivery``; storage errors are logged and
retried with a growing delay.

Prefetch (``ConsumerConfig.prefetch`` = K > 1): a worker leases up to K
waiting messages in one round trip (``Huey.reserve_many``; never more than its
share of a short queue, and one at a time while its tasks are slow) and
defers each success's acknowledgement; the batch's acknowledgements, results
with them, go in one round trip that also leases the next batch
(``Huey.acknowledge``). An acknowledgement waits at most ``ACK_DELAY`` plus
the task in flight: the worker sends the pending ones before starting a task
once the oldest is that old, and ``AckFlusher`` sends them while it runs a
long one. Prefetched messages hold their own leases (the lease keeper extends
them; a killed consumer's come back through its lapsed heartbeat); they are
given back to the queue head (``Huey.give_back``: not counted as a delivery)
as soon as the task before them runs longer than ``SLOW_TASK``, so they never
wait behind it while another worker could run them, and when the worker stops.
"""

from __future__ import annotations

import datetime
import logging
import random
import threading
import time
from collections import deque
from typing import TYPE_CHECKING, Callable, Iterable

from .backoff import Backoff
from .config import ConsumerConfig
from .environments import StopFlag, sleep_for_interval
from .timeouts import TaskAbandoned

if TYPE_CHECKING:
    from huey_api import Huey
    from huey_api.execution import Delivery

__all__ = ['ACK_DELAY', 'ERROR_BACKOFF', 'SLOW_TASK', 'AckFlusher', 'Worker']

logger = logging.getLogger('huey.consumer.worker')

#: (initial, factor, maximum) seconds between retries while the storage fails.
ERROR_BACKOFF = (0.5, 2.0, 15.0)
#: Seconds an acknowledgement (and the result stored with it) may wait for
#: others to share its round trip, plus the task that is running meanwhile.
ACK_DELAY = 0.005
#: Seconds after which a running task counts as slow: the messages prefetched
#: behind it are given back, and a batch whose tasks took this long each on
#: average is followed by single leases (prefetch only pays for short tasks).
SLOW_TASK = 0.005


class Worker:
    """Run deliveries from ``huey`` until ``stop_flag`` is set or ``max_tasks``
    is reached.

    Every worker of a consumer (and its scheduler) watches the consumer's one
    ``stop_flag``. ``current()`` is the delivery being executed, ``held()``
    every delivery whose lease it holds (for the lease keeper), and
    ``take_over()`` lets a prompt shutdown grab the one in flight to release
    it to the queue. ``share`` is how many workers split a short queue (the
    consumer's worker count); ``flusher`` the ``AckFlusher`` watching it.
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
        self.prefetch = config.prefetch
        self.share = config.workers
        self.flusher: AckFlusher | None = None
        self.idle_backoff = Backoff(config.initial_delay, config.backoff, config.max_delay)
        self.error_backoff = Backoff(*error_backoff)
        #: Held while reserving, so a prompt shutdown never misses a delivery
        #: that is between ``reserve_many()`` and being recorded as held.
        self.reserve_lock = threading.Lock()
        self._state_lock = threading.Lock()
        self._current: Delivery | None = None
        self._current_since = 0.0  # monotonic start of the current delivery
        #: leased and not started yet, run in order
        self._waiting: deque[Delivery] = deque()
        #: deferred acknowledgements (receipt, result), and when the oldest was made
        self._acks: list = []
        self._acks_since = 0.0
        #: when the current batch started and how many it had (see SLOW_TASK)
        self._batch_started = 0.0
        self._batch_size = 0
        self._slow = False
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

    def held(self) -> list[Delivery]:
        """Every delivery whose lease this worker holds: the one in flight,
        then the prefetched ones."""
        with self._state_lock:
            current = self._current
            return ([] if current is None else [current]) + list(self._waiting)

    def stopping(self) -> bool:
        """True once the worker must not take new work."""
        return self.stop_requested or self.stop_flag.is_set()

    def take_over(self, timeout: float = 5.0) -> Delivery | None:
        """Stop the worker and take its in-flight delivery away from it.

        Waits up to ``timeout`` seconds for a ``reserve_many()`` in progress,
        so the deliveries it may return are not missed. Prefetched deliveries
        go back to the queue at once and deferred acknowledgements are sent.
        Returns the delivery in flight (the caller releases it to the queue;
        the worker is then ``abandoned`` and skips its shutdown hooks) or None
        when the worker was idle (it ends normally).
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
        self.settle()
        return delivery

    def settle(self) -> None:
        """Send the deferred acknowledgements and give the prefetched
        deliveries back to the queue (a stop); never raises."""
        with self._state_lock:
            waiting = list(self._waiting)
            self._waiting.clear()
        self._send_acks(self._pending_acks())
        if waiting:
            if self._give_back(waiting):
                logger.info('%s: gave back %d prefetched tasks', self.name, len(waiting))

    def _give_back(self, deliveries: list) -> bool:
        """Return deliveries that never started to the queue; never raises."""
        return self._quietly(
            self.huey.give_back,
            deliveries,
            'give back %d prefetched tasks (they return when their leases lapse)',
        )

    def _quietly(self, call, items: list, doing: str) -> bool:
        """``call(items)``, logging a failure (``doing % len(items)``) instead
        of raising; False when it failed."""
        try:
            call(items)
        except Exception as exc:
            logger.error('%s: could not %s: %s', self.name, doing % len(items), exc)
            return False
        return True

    def tend(self, age: float) -> bool:
        """The ``AckFlusher``'s call, from its own thread: send the deferred
        acknowledgements once the oldest is ``age`` seconds old, and give back
        the prefetched messages waiting behind a task running longer than
        ``SLOW_TASK``. True while a batch is under way."""
        with self._state_lock:
            busy = bool(self._waiting or self._acks)
            now = time.monotonic()
            acks = waiting = None
            if self._acks and now - self._acks_since >= age:
                acks, self._acks = self._acks, []
            if self._waiting and self._current is not None:
                if now - self._current_since >= SLOW_TASK:
                    waiting = list(self._waiting)
                    self._waiting.clear()
                    self._slow = True
        if acks:
            self._send_acks(acks)
        if waiting:
            logger.debug('%s: task running long, giving back %d tasks', self.name, len(waiting))
            self._give_back(waiting)
        return busy

    def _pending_acks(self) -> list:
        with self._state_lock:
            acks, self._acks = self._acks, []
        return acks

    def _send_acks(self, acks: list) -> None:
        """Acknowledge ``acks`` (no lease taken); never raises: the messages of
        a failed send come back when their leases lapse, and run again."""
        if acks:
            self._quietly(
                self.huey.acknowledge,
                acks,
                'acknowledge %d tasks (they will run again once their leases lapse)',
            )

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
                self.settle()
                if not self.abandoned:
                    self.huey.run_shutdown_hooks()
            finally:
                self.finished = True
            logger.debug('%s stopped after %d tasks', self.name, self.tasks_done)

    def loop(self, now: datetime.datetime | float | None = None) -> bool:
        """Run at most one delivery (reserving more first when none is
        waiting); False when the loop must end.

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
        if not self._waiting and not self._reserve():
            return True
        with self._state_lock:
            if not self._waiting:  # given back by a prompt stop meanwhile
                return True
            delivery = self._current = self._waiting.popleft()
            started = self._current_since = time.monotonic()
            stale = self._acks and started - self._acks_since >= ACK_DELAY
        if stale:
            self._send_acks(self._pending_acks())
        self._execute(delivery, now)
        if not self._waiting:
            self._refill()
        return True

    def _wanted(self) -> int:
        """How many messages the next reservation may take (0 when stopping)."""
        if self.stopping():
            return 0
        if self._batch_size:  # the batch just run tells whether tasks are slow
            took = (time.monotonic() - self._batch_started) / self._batch_size
            self._slow = took > SLOW_TASK
            self._batch_size = 0
        count = 1 if self._slow else self.prefetch
        if self.max_tasks is not None:
            count = min(count, self.max_tasks - self.tasks_done)
        return count

    def _refill(self) -> None:
        """After the last task waiting: send the deferred acknowledgements and
        lease the next batch, if messages are waiting, in the same round trip."""
        acks = self._pending_acks()
        if not acks:
            return
        try:
            taken = self.huey.acknowledge(acks, self._wanted(), self.share)
        except Exception as exc:
            self._storage_failed(
                f'acknowledging {len(acks)} tasks (they will run again once their leases lapse)',
                exc,
            )
            return
        self._storage_recovered()
        if taken:
            self._hold(taken)

    def _reserve(self) -> bool:
        """Reserve a batch, the storage waiting for a first message if it
        can; True when deliveries are waiting to run."""
        with self.reserve_lock:
            if self.stopping():
                return False
            try:
                taken = self.huey.reserve_many(self._wanted(), self.share)
            except Exception as exc:
                self._storage_failed('reserving the next task', exc)
                return False
            self._storage_recovered()
            if not taken:
                if not self._blocking:
                    self.sleep()
                return False
            return self._hold(taken)

    def _hold(self, taken: list) -> bool:
        """Queue ``taken`` to run (or give it back at once if stopping)."""
        with self._state_lock:
            if not self.stopping():
                self._waiting.extend(taken)
                taken = []
        if taken:
            self._give_back(taken)
            return False
        self.idle_backoff.reset()
        self._batch_started = time.monotonic()
        self._batch_size = len(self._waiting)
        if self._batch_size > 1 and self.flusher is not None:
            self.flusher.arm()
        return True

    def _execute(self, delivery: Delivery, now: datetime.datetime | float | None = None) -> None:
        failure = None
        acks: list = []
        # ``now`` only when given, so the hot path needs nothing new from huey-api
        at = {} if now is None else {'now': now}
        try:
            self.huey.execute_delivery(delivery, acks=acks, **at)
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
                if acks:
                    if not self._acks:
                        self._acks_since = time.monotonic()
                    self._acks += acks
            self.tasks_done += 1
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


class AckFlusher:
    """Tends the batches of workers busy with a long task (``Worker.tend``):
    sends their deferred acknowledgements, so no result waits more than about
    ``delay`` seconds for the task after it, and gives back the messages
    prefetched behind it. One per worker process (a thread, or a greenlet);
    it sleeps until a worker takes a batch (``arm()``) and polls every
    ``delay`` only while a batch is under way."""

    def __init__(self, workers: Callable[[], Iterable[Worker]], delay: float = ACK_DELAY) -> None:
        self._workers = workers
        self.delay = delay
        self._armed = threading.Event()
        self._stopping = False

    def arm(self) -> None:
        """A worker took a batch: watch it."""
        if not self._armed.is_set():
            self._armed.set()

    def run(self) -> None:
        while True:
            self._armed.wait()
            self._armed.clear()
            while not self._stopping:
                time.sleep(self.delay)
                busy = False
                for worker in list(self._workers()):
                    busy = worker.tend(self.delay) or busy
                if not busy:
                    break
            if self._stopping:
                return

    def stop(self) -> None:
        self._stopping = True
        self._armed.set()
