"""The scheduler: moves due tasks to the queue and fires periodic tasks.
(The messages of crashed consumers are brought back by ``leases.Heartbeat``.)

It runs in the consumer's main process (a thread, or a greenlet under gevent),
ticking every ``interval`` seconds aligned on the wall clock, so one tick
always falls at the start of each minute. Between ticks it also moves due
tasks every ``due_poll_interval`` seconds (0.1 by default), so a task
scheduled for a given moment starts within about a tenth of a second of it,
whatever the tick interval.

Periodic tasks are evaluated once per minute, at the first tick whose minute
is later than the last minute evaluated and not before the next minute was
due by the monotonic clock (``_next_periodic``; after a failed enqueue, the
next tick). A scheduler that stalls (process suspended, machine asleep, a
long GC pause) evaluates each minute at most once and never replays the
minutes it slept through, so a per-minute task is not enqueued sixty times
after an hour-long suspension. A clock that moves backwards never re-fires a
minute already evaluated. (Several consumers never double-fire a minute
either: ``Huey.enqueue_periodic`` deduplicates per minute in storage.)

``loop(now)`` is one iteration (a tick, then the wait for the next one);
``now`` may be a naive datetime in huey's time zone setting (tests).
"""

from __future__ import annotations

import calendar
import datetime
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from .backoff import Backoff
from .config import check_scheduler_interval
from .environments import StopFlag
from .worker import ERROR_BACKOFF

if TYPE_CHECKING:
    from huey_api import Huey

__all__ = ['Scheduler', 'SystemClock', 'TickReport']

logger = logging.getLogger('huey.consumer.scheduler')

#: A tick's time: epoch seconds, or a naive datetime in huey's time zone setting.
When = Union[float, datetime.datetime]
#: Seconds before the next minute at which periodic tasks may be evaluated
#: again (the minute check decides; this only keeps clock jitter harmless).
_PERIODIC_MARGIN = 0.5


class SystemClock:
    """The real clock. Tests inject an object with the same three methods."""

    def time(self) -> float:
        """Seconds since the epoch."""
        return time.time()

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (``time.monotonic``)."""
        return time.monotonic()

    def wait(self, flag: StopFlag, seconds: float) -> bool:
        """Wait ``seconds`` or until ``flag`` is set; True if it was set."""
        return flag.wait(seconds)


@dataclass
class TickReport:
    """What one scheduler tick did (for logs and tests)."""

    now: float
    enqueued_due: int = 0
    periodic_minute: datetime.datetime | None = None
    periodic_enqueued: list = field(default_factory=list)
    periodic_failed: bool = False
    errors: int = 0


class Scheduler:
    """Tick loop around ``Huey.enqueue_due`` and ``enqueue_periodic``, until
    ``stop_flag`` is set; see the module
    docstring for the timing rules. ``interval`` is one of
    ``SCHEDULER_INTERVALS`` (checked as ``ConsumerConfig.validate`` does).
    """

    def __init__(
        self,
        huey: Huey,
        stop_flag: StopFlag | None = None,
        interval: int = 1,
        periodic: bool = True,
        *,
        clock: Any = None,
        due_poll_interval: float | None = 0.1,
    ) -> None:
        check_scheduler_interval(interval)
        self.huey = huey
        self.stop_flag = threading.Event() if stop_flag is None else stop_flag
        self.interval = interval
        self.periodic = periodic
        self.clock = clock or SystemClock()
        #: seconds between the cheap due-task polls made between ticks (None: off)
        self.due_poll_interval = due_poll_interval
        #: Held during a tick; a process pool holds it while forking, so a child
        #: never inherits a storage lock taken by this thread.
        self.lock = threading.Lock()
        self.last_minute: int | None = None
        #: ``clock.monotonic()`` before which ``loop()`` does not evaluate
        #: periodic tasks (the next minute, or a retry after an error).
        self._next_periodic = self.clock.monotonic()
        self._poll_due = True
        self._errors = Backoff(*ERROR_BACKOFF)

    # -- timing logic (pure, driven by ``now``) ---------------------------

    def next_delay(self, now: float) -> float:
        """Seconds from ``now`` to the next tick, aligned on multiples of the interval."""
        next_tick = (math.floor(now / self.interval) + 1) * self.interval
        return max(next_tick - now, 0.001)

    def minute_to_fire(self, now: float) -> int | None:
        """The minute (epoch seconds // 60) to evaluate periodic tasks for at
        ``now``, or None when it was already evaluated."""
        minute = int(now // 60)
        if self.last_minute is not None and minute <= self.last_minute:
            return None
        return minute

    def minute_datetime(self, minute: int) -> datetime.datetime:
        """Naive datetime of ``minute`` in huey's time zone setting (utc or local)."""
        ts = minute * 60
        if self.huey.utc:
            return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).replace(tzinfo=None)
        return datetime.datetime.fromtimestamp(ts)

    # -- one tick ---------------------------------------------------------

    def tick(self, now: When | None = None, periodic: bool = True) -> TickReport:
        """Do everything due at ``now`` (defaults to the clock's time); periodic
        tasks only if ``periodic`` too."""
        if now is None:
            now = self.clock.time()
        ts = now.timestamp() if isinstance(now, datetime.datetime) else now
        report = TickReport(ts)
        with self.lock:
            try:
                report.enqueued_due = self.huey.enqueue_due(now)
                if report.enqueued_due:
                    logger.info(
                        'scheduler: %d scheduled tasks are due, moved to the queue',
                        report.enqueued_due,
                    )
            except Exception as exc:
                report.errors += 1
                self._log_error('moving due scheduled tasks to the queue', exc)
            if self.periodic and periodic:
                self._fire_periodic(now, report)
        if not report.errors and self._errors.attempts:
            logger.warning(
                'scheduler: storage is working again after %d failed ticks', self._errors.attempts
            )
            self._errors.reset()
        return report

    def _fire_periodic(self, now: When, report: TickReport) -> None:
        if isinstance(now, datetime.datetime):  # already in huey's time zone
            when = now.replace(second=0, microsecond=0)
            minute = calendar.timegm(when.timetuple()) // 60
            if self.last_minute is not None and minute <= self.last_minute:
                return
        else:
            found = self.minute_to_fire(now)
            if found is None:
                return
            minute, when = found, self.minute_datetime(found)
        try:
            tasks = self.huey.enqueue_periodic(when)
        except Exception as exc:
            report.errors += 1
            report.periodic_failed = True
            self._log_error(f'enqueueing periodic tasks for {when}', exc)
            return  # last_minute unchanged: the next tick tries again
        if self.last_minute is not None and minute > self.last_minute + 1:
            logger.warning(
                'scheduler: skipped %d minutes (the process stalled?); periodic '
                'tasks evaluated once, for %s',
                minute - self.last_minute - 1,
                when,
            )
        self.last_minute = minute
        report.periodic_minute = when
        report.periodic_enqueued = list(tasks or ())
        for task in report.periodic_enqueued:
            logger.info('scheduler: enqueued periodic task %s for %s', task, when)

    def _log_error(self, doing: str, exc: BaseException) -> None:
        if self._errors.attempts == 0:
            logger.error('scheduler: storage error while %s', doing, exc_info=exc)
        else:
            logger.error(
                'scheduler: storage error while %s: %s: %s', doing, type(exc).__name__, exc
            )

    # -- the loop ---------------------------------------------------------

    def loop(self, now: When | None = None) -> TickReport:
        """One iteration: tick, then wait for the next tick (moving due tasks
        meanwhile); after a storage error, wait longer instead."""
        report = self.tick(now, periodic=self.clock.monotonic() >= self._next_periodic)
        if report.periodic_minute is not None:
            until_next_minute = 60.0 - report.now % 60.0
            self._next_periodic = (
                self.clock.monotonic()
                + until_next_minute
                - min(_PERIODIC_MARGIN, until_next_minute)
            )
        delay = self.next_delay(self.clock.time())
        # while the storage fails: wait longer, without polling it meanwhile
        self._poll_due = not report.errors
        if report.errors:
            delay = max(delay, self._errors.next())
            if report.periodic_failed:
                self._next_periodic = self.clock.monotonic() + delay
        self.sleep_for_interval(self.clock.monotonic(), delay)
        return report

    def sleep_for_interval(self, start: float, seconds: float) -> None:
        """Wait until ``seconds`` after ``start`` (``clock.monotonic()``) or a
        stop, moving due tasks every ``due_poll_interval`` meanwhile."""
        remaining = seconds - (self.clock.monotonic() - start)
        if remaining <= 0:
            return
        if self._poll_due:
            self._wait_polling_due(self.clock.time() + remaining)
        else:
            self.clock.wait(self.stop_flag, remaining)

    def run(self) -> None:
        """Loop until the stop flag is set; never ends on storage errors."""
        logger.debug(
            'scheduler started: interval %ss, periodic %s',
            self.interval,
            'enabled' if self.periodic else 'disabled',
        )
        while not self.stop_flag.is_set():
            self.loop()
        logger.debug('scheduler stopped')

    def _wait_polling_due(self, next_tick: float) -> bool:
        """Wait until ``next_tick``, moving due tasks every ``due_poll_interval``.

        Returns True if ``stop()`` was called meanwhile.
        """
        step = self.due_poll_interval
        while True:
            remaining = next_tick - self.clock.time()
            if remaining <= 0:
                return False
            if step is None or remaining <= step:
                return self.clock.wait(self.stop_flag, remaining)
            if self.clock.wait(self.stop_flag, step):
                return True
            with self.lock:
                try:
                    moved = self.huey.enqueue_due(self.clock.time())
                except Exception as exc:
                    self._log_error('moving due scheduled tasks to the queue', exc)
                    return False  # the next tick backs off
            if moved:
                logger.info('scheduler: %d scheduled tasks are due, moved to the queue', moved)

    def stop(self) -> None:
        self.stop_flag.set()
