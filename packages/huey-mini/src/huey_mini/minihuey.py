"""MiniHuey: tasks run in greenlets of the application process, nothing persisted."""

from __future__ import annotations

import datetime as _dt
import heapq
import itertools
import logging
import sys
from typing import Any, Callable

import gevent
from gevent.event import Event
from gevent.lock import BoundedSemaphore
from gevent.pool import Group

from .result import MiniResult
from .task import MiniTask

__all__ = ['MiniHuey']

logger = logging.getLogger(__name__)

Clock = Callable[[], _dt.datetime]
Validator = Callable[[_dt.datetime], bool]

# Long before any minute a clock reports, yet a datetime one can subtract from.
_NEVER_CHECKED = _dt.datetime(1970, 1, 1)


class MiniHuey:
    """A tiny huey whose consumer is a greenlet in your process.

    ``name`` labels the instance (logs, reprs). ``interval`` is how often, in
    seconds, the scheduler checks for scheduled and periodic tasks.
    ``pool_size`` bounds how many tasks run at once (None: unbounded); extra
    tasks wait for a free slot, callers never block.

    Tasks called directly run at once whether or not the scheduler runs;
    ``start()`` is needed only for ``schedule()`` and periodic tasks. Nothing
    is persisted: pending scheduled tasks are lost when the process exits.
    Use it from gevent greenlets (monkey-patch first in real applications),
    not from other OS threads.

    ``clock`` (keyword only) returns the current time as a datetime; it
    defaults to :meth:`datetime.datetime.now` (local time, like periodic task
    validators expect). Tests inject a fake clock to avoid waiting minutes.
    """

    def __init__(
        self,
        name: str = 'huey',
        interval: float = 1,
        pool_size: int | None = None,
        *,
        clock: Clock | None = None,
    ) -> None:
        if isinstance(interval, bool) or not isinstance(interval, (int, float)) or interval <= 0:
            raise ValueError(f'MiniHuey(interval={interval!r}): interval must be seconds > 0')
        if pool_size is not None and (
            isinstance(pool_size, bool) or not isinstance(pool_size, int) or pool_size < 1
        ):
            raise ValueError(
                f'MiniHuey(pool_size={pool_size!r}): pool_size must be an int >= 1, '
                'or None for no limit'
            )
        self.name = name
        self.interval = interval
        self.pool_size = pool_size
        self._now: Clock = clock or _dt.datetime.now
        self._periodic: list[MiniTask] = []
        self._scheduled: list[tuple[_dt.datetime, int, MiniTask, tuple, dict, MiniResult]] = []
        self._sequence = itertools.count()
        self._greenlets = Group()
        self._slots = BoundedSemaphore(pool_size) if pool_size else None
        self._scheduler: gevent.Greenlet | None = None
        self._stopping = False
        self._wake = Event()
        # The minute last checked for periodic tasks (huey's name); any other
        # minute is checked, so the first check covers the current one.
        self._last_check: _dt.datetime = _NEVER_CHECKED

    # -- declaring tasks --------------------------------------------------

    def task(
        self, validate_func: Validator | None = None
    ) -> Callable[[Callable[..., Any]], MiniTask]:
        """Decorator turning a function into a task.

        With a validator (usually ``crontab(...)``) the task is also periodic:
        the scheduler runs it, without arguments, once in every minute the
        validator accepts.
        """
        if validate_func is not None and not callable(validate_func):
            raise ValueError(
                f'{self.name}.task({validate_func!r}): the validator must be a callable taking '
                "a datetime, such as crontab(minute='0')"
            )

        def decorator(func: Callable[..., Any]) -> MiniTask:
            wrapped = MiniTask(self, func, validate_func)
            if validate_func is not None:
                self._periodic.append(wrapped)
            return wrapped

        return decorator

    # -- scheduler --------------------------------------------------------

    @property
    def running(self) -> bool:
        """True while the scheduler greenlet is alive."""
        return self._scheduler is not None and not self._scheduler.dead

    @property
    def _run_t(self) -> gevent.Greenlet | None:
        """The scheduler greenlet (None when stopped), under huey's name for it."""
        return self._scheduler

    def start(self) -> None:
        """Start the scheduler in a new greenlet and return immediately."""
        if self.running:
            logger.debug('MiniHuey %r: scheduler already running', self.name)
            return
        self._stopping = False
        self._scheduler = gevent.spawn(self._run_scheduler)
        logger.info('MiniHuey %r: scheduler started (interval %ss)', self.name, self.interval)

    def stop(self, timeout: float | None = 5) -> None:
        """Stop the scheduler; running tasks finish, scheduled ones stay queued.

        Scheduled tasks left in the queue run if ``start()`` is called again.
        """
        scheduler, self._scheduler = self._scheduler, None
        self._stopping = True
        self._wake.set()
        if scheduler is None or scheduler is gevent.getcurrent():
            return
        scheduler.join(timeout)
        if not scheduler.dead:
            scheduler.kill(block=True, timeout=timeout)
        logger.info('MiniHuey %r: scheduler stopped', self.name)

    def _run_scheduler(self) -> None:
        while not self._stopping:
            self._wake.clear()
            pause = self.interval
            try:
                self._tick()
                pause = self._seconds_to_sleep()
            except Exception:
                logger.exception('MiniHuey %r: scheduler check failed', self.name)
            if self._stopping:
                break
            self._wake.wait(pause)

    def _seconds_to_sleep(self) -> float:
        if not self._scheduled:
            return self.interval
        until_next = (self._scheduled[0][0] - _local_naive(self._now())).total_seconds()
        return max(0.0, min(self.interval, until_next))

    def _tick(self, now: _dt.datetime | None = None) -> None:
        """One scheduler check: start due scheduled tasks and this minute's periodic ones."""
        now = self._now() if now is None else now
        local_now = _local_naive(now)
        while self._scheduled and self._scheduled[0][0] <= local_now:
            _, _, task, args, kwargs, result = heapq.heappop(self._scheduled)
            logger.debug('MiniHuey %r: %s is due', self.name, task.name)
            self._spawn(task, args, kwargs, result)
        minute = _floor_minute(now)
        if minute == self._last_check:
            return
        self._last_check = minute
        for task in self._periodic:
            try:
                matched = task.validate_func(minute)  # type: ignore[misc]
            except Exception:
                logger.exception(
                    'MiniHuey %r: validator of periodic task %s failed', self.name, task.name
                )
                continue
            if matched:
                logger.info('MiniHuey %r: periodic task %s for %s', self.name, task.name, minute)
                self._spawn(task, (), {}, MiniResult(task.name))

    # -- running tasks ----------------------------------------------------

    def _run_now(self, task: MiniTask, args: tuple, kwargs: dict) -> MiniResult:
        result = MiniResult(task.name)
        self._spawn(task, args, kwargs, result)
        return result

    def _run_later(
        self,
        task: MiniTask,
        args: tuple,
        kwargs: dict,
        eta: _dt.datetime | None,
        delay: float | _dt.timedelta | None,
    ) -> MiniResult:
        if delay is not None:
            if not isinstance(delay, _dt.timedelta):
                if isinstance(delay, bool) or not isinstance(delay, (int, float)):
                    raise ValueError(
                        f'{task.name}.schedule(delay={delay!r}): delay must be seconds '
                        'or a timedelta'
                    )
                delay = _dt.timedelta(seconds=delay)
            when = _local_naive(self._now()) + delay
        elif isinstance(eta, _dt.datetime):
            when = _local_naive(eta)
        else:
            raise ValueError(f'{task.name}.schedule(eta={eta!r}): eta must be a datetime')
        result = MiniResult(task.name)
        entry = (when, next(self._sequence), task, args, kwargs, result)
        heapq.heappush(self._scheduled, entry)
        if self._scheduled[0] is entry:
            self._wake.set()  # the scheduler may be sleeping past the new first eta
        if not self.running:
            logger.debug(
                'MiniHuey %r: %s scheduled for %s but the scheduler is not running; call start()',
                self.name,
                task.name,
                when,
            )
        return result

    def _spawn(self, task: MiniTask, args: tuple, kwargs: dict, result: MiniResult) -> None:
        self._greenlets.spawn(self._execute, task, args, kwargs, result)

    def _execute(self, task: MiniTask, args: tuple, kwargs: dict, result: MiniResult) -> None:
        acquired = False
        try:
            if self._slots is not None:
                self._slots.acquire()
                acquired = True
            logger.debug('MiniHuey %r: running %s (%s)', self.name, task.name, result.id)
            value = task.func(*args, **kwargs)
        except Exception as exc:
            logger.exception('MiniHuey %r: task %s (%s) failed', self.name, task.name, result.id)
            result._set_exception(exc, sys.exc_info())
        except BaseException as exc:  # killed (GreenletExit): wake waiters, then exit
            result._set_exception(exc, sys.exc_info())
            raise
        else:
            result._set(value)
        finally:
            if acquired:
                self._slots.release()  # type: ignore[union-attr]

    def __repr__(self) -> str:
        state = 'running' if self.running else 'stopped'
        return f'<MiniHuey {self.name!r} {state}, {len(self._scheduled)} scheduled>'


def _floor_minute(moment: _dt.datetime) -> _dt.datetime:
    return moment.replace(second=0, microsecond=0)


def _local_naive(moment: _dt.datetime) -> _dt.datetime:
    """Aware datetimes in local time without tzinfo; naive ones unchanged."""
    if moment.tzinfo is None:
        return moment
    return moment.astimezone().replace(tzinfo=None)
