"""The consumer: a pool of workers, a scheduler, health checks and signals.

``start()`` starts the workers and the scheduler and returns; ``run()`` also
supervises them (health checks, signals) until a shutdown:

* the graceful signal (SIGINT, or SIGTERM with ``graceful_signal='TERM'``) /
  ``stop(graceful=True)``: stop taking work, let the tasks in flight finish
  (for at most ``shutdown_timeout`` seconds when set), run each worker's
  shutdown hooks. The same signal again, or the other one, interrupts them.
* the other signal / ``stop()``: interrupt the tasks in flight at once and
  give their messages back to the queue with ``Huey.release()``.
* SIGHUP: graceful stop, then ``restart_requested`` is True (the
  ``huey_consumer`` script re-executes itself, reloading the application code).
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from typing import TYPE_CHECKING, Any

from huey_api.exceptions import ConfigurationError
from huey_api.serializer import JSONSerializer

from .config import ConsumerConfig
from .environments import WORKER_TO_ENVIRONMENT, Environment
from .leases import Heartbeat
from .pools import Pool, make_pool
from .scheduler import Scheduler
from .worker import Worker

if TYPE_CHECKING:
    from huey_api import Huey

__all__ = ['Consumer', 'ConsumerStopped']

logger = logging.getLogger('huey.consumer')

#: Seconds between two passes of the supervisor loop.
SUPERVISE_INTERVAL = 0.1


class ConsumerStopped(Exception):
    """Raised by ``Consumer.loop()`` once the consumer has stopped."""


def _setting(name: str, doc: str) -> property:
    return property(lambda self: getattr(self.config, name), doc=doc)


class Consumer:
    """Run ``huey``'s tasks as ``config`` (a ``ConsumerConfig``) says; keyword
    ``options`` build or override it (``Consumer(huey, workers=4)``).
    ``clock`` is injected into the scheduler (tests).

    Subclasses may swap ``worker_class`` and ``scheduler_class``.
    """

    worker_class = Worker
    scheduler_class = Scheduler

    workers = _setting('workers', 'Number of workers.')
    worker_type = _setting('worker_type', "'thread', 'process' or 'greenlet'.")
    periodic = _setting('periodic', 'Whether this consumer enqueues periodic tasks.')
    default_delay = _setting('initial_delay', 'First wait after an empty read.')
    backoff = _setting('backoff', 'Factor growing the wait after each empty read.')
    max_delay = _setting('max_delay', 'Longest wait between empty reads.')
    scheduler_interval = _setting('scheduler_interval', 'Seconds between scheduler ticks.')
    max_tasks = _setting('max_tasks', 'Tasks a worker runs before it is replaced.')
    shutdown_timeout = _setting('shutdown_timeout', 'Longest graceful wait (None: no limit).')
    graceful_signal = _setting('graceful_signal', "'INT' or 'TERM'.")
    _health_check = _setting('check_worker_health', 'Whether dead workers are replaced.')

    def __init__(
        self,
        huey: Huey,
        config: ConsumerConfig | None = None,
        *,
        clock: Any = None,
        **options: Any,
    ) -> None:
        if config is not None and not isinstance(config, ConsumerConfig):
            raise TypeError(
                f'Consumer(huey, {config!r}): the second argument is a ConsumerConfig; '
                'give the other options by name, e.g. Consumer(huey, workers=4)'
            )
        if config is None:
            config = ConsumerConfig.from_kwargs(options)
        elif options:
            config = ConsumerConfig.from_kwargs({**config.values, **options})
        self.config = config.validate()
        self.huey = huey
        self.clock = clock
        if huey.immediate:
            logger.warning(
                'consumer built for a Huey in immediate mode: set huey.immediate = False '
                'before starting it'
            )
        # signal -> (restart, graceful)
        graceful, interrupt = signal.SIGINT, signal.SIGTERM
        if config.graceful_signal == 'TERM':
            graceful, interrupt = interrupt, graceful
        self._signal_actions = {
            interrupt: (False, False),
            graceful: (False, True),
            signal.SIGHUP: (True, True),
        }
        self._signum: int | None = None
        self._restart = False
        self._graceful = True
        self._previous_handlers: dict[int, Any] = {}

        self.environment: Environment = WORKER_TO_ENVIRONMENT[config.worker_type](
            graceful, interrupt
        )
        # huey-api runs a task that has a timeout inside this handler
        huey._timeout_handler = self.environment.timeout_handler
        huey._default_timeout = config.task_timeout
        self.stop_flag = self.environment.get_stop_flag()
        self._scheduler = self._create_scheduler()
        #: Liveness in the storage, and reclaiming dead consumers' leases
        #: (at-least-once delivery only: at-most-once takes no leases).
        self.heartbeat = Heartbeat(huey) if huey.at_least_once else None
        #: The scheduler's handle (a thread, or a greenlet), started by start().
        self.scheduler = self.environment.create_local(self._scheduler.run, 'Scheduler')
        self.pool: Pool = make_pool(
            self.environment,
            huey,
            config.workers,
            self.stop_flag,
            self._create_worker,
            fork_lock=self._scheduler.lock,
        )
        #: Set once the workers and the scheduler are running.
        self.ready = threading.Event()
        #: Set when the consumer has shut down (the end of ``stop()``).
        self.stopped = threading.Event()
        self._stop_called = False

    def __repr__(self) -> str:
        return f'<Consumer {self.huey.name!r}: {self.workers} {self.worker_type} workers>'

    def _create_worker(self, name: str = 'Worker') -> Worker:
        return self.worker_class(self.huey, self.stop_flag, self.config, name)

    def _create_scheduler(self) -> Scheduler:
        return self.scheduler_class(
            self.huey,
            self.stop_flag,
            self.config.scheduler_interval,
            self.config.periodic,
            clock=self.clock,
        )

    @property
    def worker_threads(self) -> list[tuple[Worker, Any]]:
        """``(worker, handle)`` for each worker slot."""
        return [(slot.worker, slot.handle) for slot in self.pool.slots]

    @property
    def restart_requested(self) -> bool:
        """True after SIGHUP: the caller should restart the process."""
        return self._restart

    @property
    def abandoned_tasks(self) -> bool:
        """True when a prompt shutdown left interrupted tasks running in this
        process (thread/greenlet workers): exit the process soon."""
        return self.pool.abandoned

    # -- starting ---------------------------------------------------------

    def start(self) -> None:
        """Start the workers and the scheduler, then return; install the signal
        handlers when called from the main thread."""
        if self.huey.immediate:
            raise ConfigurationError(
                'the consumer cannot run a Huey in immediate mode: set huey.immediate = False'
            )
        self._check_storage()
        # Signals work from the first moment: a stop requested while many
        # workers start ends the start-up early (run() then acts on it).
        if threading.current_thread() is threading.main_thread():
            self._set_signal_handlers()
        else:
            logger.debug('consumer not in the main thread: signal handlers not installed')
        self._log_configuration()
        if self.config.flush_locks or self.config.extra_locks:
            flushed = self.huey.flush_locks(*self.config.extra_locks)
            logger.info('flushed locks: %s', ', '.join(sorted(flushed)) or 'none were held')
        if self.heartbeat is not None:
            self._start_heartbeat()
        started = self.pool.start(self._stop_requested)
        self.scheduler.start()
        self.ready.set()
        if started < self.workers:
            logger.info(
                'start-up interrupted after %d of %d workers: stopping', started, self.workers
            )
        else:
            logger.info('consumer started: %d %s workers', self.workers, self.worker_type)

    def _start_heartbeat(self) -> None:
        try:
            self.heartbeat.beat()  # before any lease is taken: see Heartbeat.beat
        except Exception as exc:
            logger.error(
                'consumer heartbeat failed at start-up (%s: %s): until it works, the '
                "leases this consumer's workers take only come back when they expire",
                type(exc).__name__,
                exc,
            )
        self.environment.create_local(self.heartbeat.run, 'Heartbeat').start()

    def _stop_requested(self) -> bool:
        return self._signum is not None or self.stop_flag.is_set()

    def run(self) -> None:
        """Start, then supervise until a shutdown (signal or ``stop()``); returns
        once the consumer has stopped."""
        self.start()
        try:
            health_check_ts = time.monotonic()
            while True:
                try:
                    health_check_ts = self.loop(health_check_ts)
                except ConsumerStopped:
                    break
            if not self._stop_called:  # the stop flag was set directly
                self.stop(graceful=True)
            self.stopped.wait()  # a stop() in another thread may still be waiting
        finally:
            self._restore_signal_handlers()

    def loop(self, health_check_ts: float | None = None) -> float | None:
        """One supervisor pass: act on a signal or a stop, replace recycled (and,
        at each health check, dead) workers. Raises ConsumerStopped once stopped."""
        try:
            stopped = self.stop_flag.wait(SUPERVISE_INTERVAL)
        except KeyboardInterrupt:
            logger.info('received SIGINT')
            self.stop(graceful=True)
            stopped = True
        else:
            if not stopped and self._signum is not None:
                logger.info('received %s', signal.Signals(self._signum).name)
                self.stop(graceful=self._graceful)
                stopped = True
        if stopped:
            raise ConsumerStopped
        replace_dead: bool | None = None  # dead workers: not checked now
        if not self.config.check_worker_health:
            replace_dead = False
        elif health_check_ts is not None and (
            time.monotonic() >= health_check_ts + self.config.health_check_interval
        ):
            replace_dead = True
            health_check_ts = time.monotonic()
        try:
            self.pool.maintain(replace_dead)
        except Exception:
            logger.exception('could not replace a worker; trying again shortly')
        return health_check_ts

    def check_worker_health(self) -> bool:
        """Replace dead (and recycled) workers now; True if none had to be."""
        return self.pool.maintain(True) == 0

    # -- stopping ---------------------------------------------------------

    def stop(self, graceful: bool = False) -> None:
        """Stop the consumer and return once it has stopped (see the module
        docstring). A stop from another thread also ends ``run()``."""
        self._stop_called = True
        self.stop_flag.set()
        try:
            if not graceful:
                logger.info(
                    'shutting down now: interrupting the tasks in flight and returning '
                    'them to the queue'
                )
                self._interrupt_workers()
            elif not self._wait_for_tasks_in_flight():
                self._interrupt_workers()
        finally:
            self._finish()

    def _wait_for_tasks_in_flight(self) -> bool:
        """The graceful part of a stop; False when the tasks still running
        must be interrupted (shutdown timeout, or a second request)."""
        limit = self.shutdown_timeout
        logger.info(
            'shutting down gracefully: waiting %sfor the tasks in flight to finish '
            '(a second signal interrupts them)',
            '' if limit is None else f'up to {float(limit)}s ',
        )
        try:
            finished = self._join_workers()
        except KeyboardInterrupt:  # the graceful signal again
            self._restart = False
            self._graceful = False
            finished = False
        if finished:
            logger.info('all workers have stopped')
        elif self._graceful:
            logger.warning(
                'Shutdown timeout of %ss elapsed: interrupting the tasks in flight', limit
            )
        else:
            logger.warning('second shutdown request: interrupting the tasks in flight')
        return finished

    def _join_workers(self) -> bool:
        """Wait for the workers to end, at most ``shutdown_timeout`` seconds,
        and only while no prompt stop was requested; True if they all ended."""
        limit = self.shutdown_timeout
        deadline = None if limit is None else time.monotonic() + limit
        while self.pool.running():
            if not self._graceful:
                return False
            step = SUPERVISE_INTERVAL
            if deadline is not None:
                step = min(step, deadline - time.monotonic())
                if step <= 0:
                    return False
            self.pool.wait(step)
        return True

    def _interrupt_workers(self) -> None:
        self.pool.interrupt()

    def _finish(self) -> None:
        self.pool.close()
        if self.environment.is_alive(self.scheduler):
            self.scheduler.join(10)
        if self.heartbeat is not None:
            self.heartbeat.stop()
        if threading.current_thread() is threading.main_thread():
            self._restore_signal_handlers()
        logger.info('consumer stopped')
        self.stopped.set()

    # -- signals ----------------------------------------------------------

    def _set_signal_handlers(self) -> None:
        for signum in self._signal_actions:
            previous = signal.signal(signum, self._handle_signal)
            self._previous_handlers.setdefault(signum, previous)

    def _handle_signal(self, signum: int, frame: Any) -> None:
        # Only record the request: the supervisor loop acts on it. Anything
        # more here could deadlock with the code the signal interrupted.
        self._signum = signum
        self._restart, self._graceful = self._signal_actions[signum]
        if self._graceful and not self._restart:
            # the same signal again interrupts the graceful shutdown
            signal.signal(signum, signal.default_int_handler)

    def _restore_signal_handlers(self) -> None:
        while self._previous_handlers:
            signum, handler = self._previous_handlers.popitem()
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)

    # -- start-up ---------------------------------------------------------

    def _check_storage(self) -> None:
        storage = self.huey.storage
        if self.environment.forks and not getattr(storage, 'shared_between_processes', True):
            raise ValueError(
                f"worker_type='process' cannot share a {type(storage).__name__} "
                "between processes: use worker_type='thread' or a Redis/SQLite "
                'storage'
            )

    def _log_configuration(self) -> None:
        huey, config = self.huey, self.config
        if huey.at_least_once:
            delivery = (
                f'at-least-once (lease timeout {huey.lease_timeout}s, heartbeat every '
                f'{huey.lease_timeout / 3.0:.1f}s, max deliveries {huey.max_deliveries})'
            )
        else:
            delivery = 'at-most-once'
        logger.info(
            'huey consumer: huey %r, storage %s, %d %s workers, periodic tasks %s, delivery %s',
            huey.name,
            type(huey.storage).__name__,
            config.workers,
            config.worker_type,
            'enabled' if config.periodic else 'disabled',
            delivery,
        )
        logger.info(
            'scheduler interval %ss, health checks %s, polling delay %ss x%s up to %ss%s%s%s',
            config.scheduler_interval,
            f'every {config.health_check_interval}s' if config.check_worker_health else 'disabled',
            config.initial_delay,
            config.backoff,
            config.max_delay,
            f', max {config.max_tasks} tasks per worker' if config.max_tasks else '',
            f', task timeout {config.task_timeout}s' if config.task_timeout else '',
            f', shutdown timeout {config.shutdown_timeout}s'
            if config.shutdown_timeout is not None
            else '',
        )
        periodic = _periodic_tasks(huey)
        if config.periodic:
            logger.info('periodic tasks: %s', ', '.join(periodic) or 'none registered')
        elif periodic:
            logger.info(
                'periodic tasks registered but disabled on this consumer: %s', ', '.join(periodic)
            )
        if not getattr(huey, 'signed', False):
            logger.warning(
                'messages are not signed: anyone who can write to the %s storage %s; '
                "set Huey(..., signing_key='a long random secret') in producers and consumers",
                type(huey.storage).__name__,
                'chooses which tasks run'
                if isinstance(huey.serializer, JSONSerializer)
                else 'can run any code in this consumer',
            )


def _periodic_tasks(huey: Huey) -> list[str]:
    """'name (schedule)' for each periodic task registered on ``huey``."""
    described = []
    for task_class in huey.registry.periodic_tasks:
        validator = task_class.validate_datetime
        to_string = getattr(validator, 'to_string', None)  # a crontab, or any callable
        schedule = f"crontab '{to_string()}'" if callable(to_string) else repr(validator)
        described.append(f'{task_class.name} ({schedule})')
    return described
