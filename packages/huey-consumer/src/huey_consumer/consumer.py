"""The consumer: a pool of workers, a scheduler, health checks and signals.

``Consumer.run()`` blocks in a supervisor loop until a shutdown is requested
by a signal or by ``stop()``:

* SIGINT / ``stop(graceful=True)``: stop taking work, let the tasks in flight
  finish, run the shutdown hooks of each worker, return. A second SIGINT (or a
  SIGTERM) during a graceful shutdown turns it into a prompt one.
* SIGTERM / ``stop(graceful=False)``: after up to ``shutdown_timeout`` seconds
  (default 0), interrupt the tasks still in flight and return their messages to
  the queue with ``Huey.release()``.
* SIGHUP: graceful stop, then ``restart_requested`` is True (the
  ``huey_consumer`` script re-executes itself, reloading the application code).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import Any

from .pools import WorkerSettings, make_pool
from .scheduler import VALID_INTERVALS, Scheduler

__all__ = ['WORKER_GREENLET', 'WORKER_PROCESS', 'WORKER_THREAD', 'WORKER_TYPES', 'Consumer']

logger = logging.getLogger(__name__)

WORKER_THREAD = 'thread'
WORKER_PROCESS = 'process'
WORKER_GREENLET = 'greenlet'
WORKER_TYPES = (WORKER_THREAD, WORKER_PROCESS, WORKER_GREENLET)

_GRACEFUL, _PROMPT, _RESTART = 'graceful', 'prompt', 'restart'
_SIGNAL_REQUESTS = {signal.SIGINT: _GRACEFUL, signal.SIGTERM: _PROMPT, signal.SIGHUP: _RESTART}
#: Seconds between two passes of the supervisor loop.
SUPERVISE_INTERVAL = 0.1


def _positive(name: str, value: Any, integer: bool = False, allow_zero: bool = False) -> None:
    ok_type = isinstance(value, int) if integer else isinstance(value, (int, float))
    if isinstance(value, bool) or not ok_type or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(
            '{}={!r}: must be a {} number{}'.format(
                name,
                value,
                'whole' if integer else '',
                ' (0 or more)' if allow_zero else ' greater than 0',
            )
        )


class Consumer:
    """Run ``huey``'s tasks with ``workers`` workers of ``worker_type``.

    ``initial_delay``, ``backoff`` and ``max_delay`` shape the polling of
    non-blocking storages when the queue is empty; ``periodic`` enables the
    periodic tasks; ``scheduler_interval`` (a divisor of 60) is how often due
    scheduled tasks are moved to the queue; ``check_worker_health`` replaces
    dead workers every ``health_check_interval`` seconds; ``flush_locks``
    clears task locks (plus ``extra_locks``) at start-up;
    ``max_tasks_per_worker`` recycles a worker after that many tasks;
    ``shutdown_timeout`` is how long SIGTERM waits for tasks in flight before
    interrupting them. ``lease_timeout`` and ``max_deliveries`` override the
    Huey instance's settings. ``clock`` is injected into the scheduler (tests).
    """

    def __init__(
        self,
        huey: Any,
        workers: int = 1,
        periodic: bool = True,
        initial_delay: float = 0.1,
        backoff: float = 1.15,
        max_delay: float = 10.0,
        scheduler_interval: int = 1,
        worker_type: str = WORKER_THREAD,
        check_worker_health: bool = True,
        health_check_interval: float = 10,
        flush_locks: bool = False,
        extra_locks: Any = None,
        max_tasks_per_worker: int | None = None,
        shutdown_timeout: float | None = None,
        lease_timeout: float | None = None,
        max_deliveries: int | None = None,
        clock: Any = None,
        **options: Any,
    ) -> None:
        options.pop('utc', None)  # accepted for compatibility: the Huey instance decides
        if options:
            raise TypeError('Consumer got unknown options: {}'.format(', '.join(sorted(options))))
        _positive('workers', workers, integer=True)
        if worker_type not in WORKER_TYPES:
            raise ValueError(
                f'worker_type={worker_type!r}: must be one of {", ".join(WORKER_TYPES)}'
            )
        _positive('initial_delay', initial_delay)
        _positive('max_delay', max_delay)
        if not isinstance(backoff, (int, float)) or backoff < 1:
            raise ValueError(f'backoff={backoff!r}: must be a number of 1 or more')
        if max_delay < initial_delay:
            raise ValueError(
                f'max_delay={max_delay!r}: must be at least initial_delay={initial_delay!r}'
            )
        if scheduler_interval not in VALID_INTERVALS:
            raise ValueError(
                f'scheduler_interval={scheduler_interval!r}: must divide a minute: '
                f'one of {", ".join(map(str, VALID_INTERVALS))}'
            )
        _positive('health_check_interval', health_check_interval)
        if max_tasks_per_worker is not None:
            _positive('max_tasks_per_worker', max_tasks_per_worker, integer=True)
        if shutdown_timeout is not None:
            _positive('shutdown_timeout', shutdown_timeout, allow_zero=True)
        if lease_timeout is not None:
            _positive('lease_timeout', lease_timeout)
            huey.lease_timeout = float(lease_timeout)
        if max_deliveries is not None:
            _positive('max_deliveries', max_deliveries, integer=True)
            huey.max_deliveries = max_deliveries
        if isinstance(extra_locks, str):
            extra_locks = [name.strip() for name in extra_locks.split(',') if name.strip()]
        self.huey = huey
        self.workers = workers
        self.worker_type = worker_type
        self.periodic = periodic
        self.scheduler_interval = scheduler_interval
        self.check_worker_health = check_worker_health
        self.health_check_interval = health_check_interval
        self.flush_locks = flush_locks
        self.extra_locks = list(extra_locks or ())
        self.shutdown_timeout = shutdown_timeout
        self.settings = WorkerSettings(initial_delay, backoff, max_delay, max_tasks_per_worker)
        self.scheduler = Scheduler(huey, scheduler_interval, periodic, clock=clock)
        self.pool: Any = None
        self.restart_requested = False
        #: Set once the workers and the scheduler are running.
        self.ready = threading.Event()
        #: Set when ``run()`` has finished shutting down.
        self.stopped = threading.Event()
        self._requests: list[str] = []
        self._scheduler_handle: Any = None
        self._previous_handlers: dict[int, Any] = {}

    def __repr__(self) -> str:
        name = getattr(self.huey, 'name', '?')
        return f'<Consumer {name!r}: {self.workers} {self.worker_type} workers>'

    # -- control ----------------------------------------------------------

    def stop(self, graceful: bool = True) -> None:
        """Ask ``run()`` to shut down (from any thread); see the module docstring."""
        self._requests.append(_GRACEFUL if graceful else _PROMPT)

    @property
    def abandoned_tasks(self) -> bool:
        """True when a prompt shutdown left interrupted tasks running in this
        process (thread/greenlet workers): exit the process soon."""
        return bool(self.pool is not None and self.pool.abandoned)

    # -- running ----------------------------------------------------------

    def run(self) -> None:
        """Start workers and scheduler, supervise them until a shutdown request."""
        self._check_storage()
        self._log_configuration()
        if self.flush_locks or self.extra_locks:
            flushed = self.huey.flush_locks(*self.extra_locks)
            logger.info('flushed locks: %s', ', '.join(sorted(flushed)) or 'none were held')
        self.pool = make_pool(
            self.worker_type, self.huey, self.workers, self.settings, fork_lock=self.scheduler.lock
        )
        self._install_signal_handlers()
        try:
            self.pool.start()
            self._scheduler_handle = threading.Thread(
                target=self.scheduler.run, name='Scheduler', daemon=True
            )
            self._scheduler_handle.start()
            self.ready.set()
            logger.info('consumer started: %d %s workers', self.workers, self.worker_type)
            request = self._supervise()
            self._shutdown(request)
        finally:
            self._restore_signal_handlers()
            self.stopped.set()

    def _supervise(self) -> str:
        next_health_check = time.monotonic() + self.health_check_interval
        while not self._requests:
            replace_dead: bool | None = None  # dead workers: not checked now
            if not self.check_worker_health:
                replace_dead = False
            elif time.monotonic() >= next_health_check:
                replace_dead = True
                next_health_check = time.monotonic() + self.health_check_interval
            try:
                self.pool.maintain(replace_dead)
            except Exception:
                logger.exception('could not replace a worker; trying again shortly')
            time.sleep(SUPERVISE_INTERVAL)
        return self._requests.pop(0)

    def _shutdown(self, request: str) -> None:
        self.scheduler.stop()
        if request == _RESTART:
            self.restart_requested = True
            logger.info('SIGHUP: restarting after the tasks in flight finish')
        if request in (_GRACEFUL, _RESTART):
            self.pool.request_stop()
            logger.info(
                'shutting down gracefully: waiting for the tasks in flight to finish '
                '(SIGTERM or a second SIGINT interrupts them)'
            )
            while self.pool.running():
                if self._requests:
                    request = self._requests.pop(0)
                    if request in (_PROMPT, _GRACEFUL):
                        logger.warning('second shutdown request: interrupting the tasks in flight')
                        self._interrupt(grace=None)
                        break
                self.pool.wait(SUPERVISE_INTERVAL)
        else:
            self._interrupt(grace=self.shutdown_timeout)
        self.pool.close()
        if self._scheduler_handle is not None:
            self._scheduler_handle.join(10)
        logger.info('consumer stopped')

    def _interrupt(self, grace: float | None) -> None:
        if grace:
            logger.info(
                'shutting down: waiting up to %ss for the tasks in flight, then interrupting them',
                grace,
            )
        else:
            logger.info(
                'shutting down now: interrupting the tasks in flight and returning '
                'them to the queue'
            )
        self.pool.interrupt(grace)

    # -- signals ----------------------------------------------------------

    def _on_signal(self, signum: int, frame: Any) -> None:
        # Only record the request: the supervisor loop acts on it. Anything
        # more here could deadlock with the code the signal interrupted.
        self._requests.append(_SIGNAL_REQUESTS[signum])

    def _install_signal_handlers(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            logger.debug('consumer not in the main thread: signal handlers not installed')
            return
        for signum in _SIGNAL_REQUESTS:
            self._previous_handlers[signum] = signal.signal(signum, self._on_signal)

    def _restore_signal_handlers(self) -> None:
        while self._previous_handlers:
            signum, handler = self._previous_handlers.popitem()
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)

    # -- start-up ---------------------------------------------------------

    def _check_storage(self) -> None:
        storage = getattr(self.huey, 'storage', None)
        if self.worker_type == WORKER_PROCESS and type(storage).__name__ in (
            'MemoryStorage',
            'BlackHoleStorage',
        ):
            raise ValueError(
                f"worker_type='process' cannot share a {type(storage).__name__} "
                "between processes: use worker_type='thread' or a Redis/SQLite "
                'storage'
            )

    def _log_configuration(self) -> None:
        huey = self.huey
        delivery = getattr(huey, 'delivery', 'at-least-once')
        if delivery == 'at-most-once':
            delivery_text = 'at-most-once'
        else:
            delivery_text = (
                'at-least-once (lease timeout {}s, heartbeat every {:.1f}s, max '
                'deliveries {})'.format(
                    huey.lease_timeout,
                    huey.lease_timeout / 3.0,
                    getattr(huey, 'max_deliveries', '?'),
                )
            )
        logger.info(
            'huey consumer: huey %r, storage %s, %d %s workers, periodic tasks %s, delivery %s',
            getattr(huey, 'name', '?'),
            type(getattr(huey, 'storage', None)).__name__,
            self.workers,
            self.worker_type,
            'enabled' if self.periodic else 'disabled',
            delivery_text,
        )
        logger.info(
            'scheduler interval %ss, health checks %s, polling delay %ss x%s up to %ss%s%s',
            self.scheduler_interval,
            (f'every {self.health_check_interval}s') if self.check_worker_health else 'disabled',
            self.settings.initial_delay,
            self.settings.backoff,
            self.settings.max_delay,
            (f', max {self.settings.max_tasks} tasks per worker')
            if self.settings.max_tasks
            else '',
            (f', shutdown timeout {self.shutdown_timeout}s')
            if self.shutdown_timeout is not None
            else '',
        )
        periodic = _periodic_tasks(huey)
        if self.periodic:
            if periodic:
                logger.info('periodic tasks: %s', ', '.join(periodic))
            else:
                logger.info('periodic tasks: none registered')
        elif periodic:
            logger.info(
                'periodic tasks registered but disabled on this consumer: %s', ', '.join(periodic)
            )


def _periodic_tasks(huey: Any) -> list[str]:
    """'name (schedule)' for each periodic task registered on ``huey``."""
    registry = getattr(huey, 'registry', None)
    if registry is None or not hasattr(registry, 'periodic_tasks'):
        return []
    described = []
    for task_class in registry.periodic_tasks:
        validator = getattr(task_class, 'validate_datetime', None)
        to_string = getattr(validator, 'to_string', None)
        schedule = f"crontab '{to_string()}'" if callable(to_string) else repr(validator)
        described.append(f'{task_class.name} ({schedule})')
    return described
