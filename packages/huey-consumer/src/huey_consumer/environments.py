"""Where workers run: threads, forked processes, gevent greenlets, or
threads sharing an event loop (``event_loop``).

An environment makes the pieces that differ between worker types: the stop
flag every worker and the scheduler watch, the handle a worker runs in
(started later), and the task-timeout handler huey-api runs a task with a
``timeout`` inside (``Huey._timeout_handler``; see ``timeouts``).
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import select
import signal
import threading
import time
from typing import Any, Callable, ContextManager, Iterator, Protocol

from .constants import (
    WORKER_ALIASES,
    WORKER_ASYNCIO,
    WORKER_GREENLET,
    WORKER_PROCESS,
    WORKER_THREAD,
)
from .timeouts import Deadlines, ThreadWatchdog

__all__ = [
    'Environment',
    'ForkSafeFlag',
    'GreenletEnvironment',
    'ProcessEnvironment',
    'StopFlag',
    'ThreadEnvironment',
    'WORKER_TO_ENVIRONMENT',
    'sleep_for_interval',
]

logger = logging.getLogger('huey.consumer.environments')

TimeoutHandler = Callable[[float], ContextManager[None]]


class StopFlag(Protocol):
    """What workers and the scheduler need from a stop flag."""

    def set(self) -> None: ...

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


def sleep_for_interval(stop_flag: StopFlag, start: float, seconds: float) -> None:
    """Wait until ``seconds`` after ``start`` (``time.monotonic()``), or until
    the stop flag is set, whichever comes first."""
    remaining = seconds - (time.monotonic() - start)
    if remaining > 0:
        stop_flag.wait(remaining)


class ForkSafeFlag:
    """A stop flag shared with forked children: a pipe that becomes readable
    once ``set()`` writes to it.

    A ``multiprocessing.Event`` guards its state with a lock that a worker
    process killed while waiting may still hold, hanging ``set()`` forever; a
    pipe has no lock, and reading readiness needs no cooperation.
    """

    def __init__(self) -> None:
        self._read_fd, self._write_fd = os.pipe()

    def set(self) -> None:
        if not self.is_set():
            os.write(self._write_fd, b'1')

    def is_set(self) -> bool:
        return self.wait(0)

    def wait(self, timeout: float | None = None) -> bool:
        """True as soon as the flag is set; False after ``timeout`` seconds."""
        poller = select.poll()
        poller.register(self._read_fd, select.POLLIN)
        return bool(poller.poll(None if timeout is None else max(timeout, 0) * 1000.0))


class Environment:
    """The thread environment's behaviour, shared by default; subclasses
    override what differs. ``graceful`` and ``interrupt`` are the signals that
    stop a consumer gracefully and promptly."""

    worker_type = WORKER_THREAD
    #: True when workers are forked processes.
    forks = False

    def __init__(self, graceful: int = signal.SIGINT, interrupt: int = signal.SIGTERM) -> None:
        self.graceful = graceful
        self.interrupt = interrupt
        #: the timed run of each worker, for finding stuck ones
        self.deadlines = Deadlines()

    def get_stop_flag(self) -> StopFlag:
        return threading.Event()

    def create_process(self, runnable: Callable[[], None], name: str) -> Any:
        """A handle (not started) running ``runnable`` as a worker."""
        return threading.Thread(target=runnable, name=name, daemon=True)

    def create_local(self, runnable: Callable[[], None], name: str) -> Any:
        """A handle (not started) running ``runnable`` inside this process
        (the scheduler, lease keepers)."""
        return threading.Thread(target=runnable, name=name, daemon=True)

    def is_alive(self, handle: Any) -> bool:
        return handle.is_alive()

    def handle_key(self, handle: Any) -> Any:
        """The key of ``handle``'s worker in ``deadlines``."""
        return handle.ident

    @property
    def timeout_handler(self) -> TimeoutHandler | None:
        """``Huey._timeout_handler`` for these workers: ``timeout``."""
        return self.timeout

    def timeout(self, seconds: float) -> ContextManager[None]:
        """A context in which a task gets ``seconds`` to run (see ``timeouts``)."""
        raise NotImplementedError

    def close(self) -> None:
        """Called once the pool's workers ended or were interrupted (no-op here)."""


class ThreadEnvironment(Environment):
    """Workers are daemon threads; a watchdog thread raises TaskTimeout in a
    task that overruns (at its next bytecode: see ``timeouts``)."""

    def __init__(self, graceful: int = signal.SIGINT, interrupt: int = signal.SIGTERM) -> None:
        super().__init__(graceful, interrupt)
        self.watchdog = ThreadWatchdog(self.deadlines)

    @contextlib.contextmanager
    def timeout(self, seconds: float) -> Iterator[None]:
        run = self.deadlines.begin(threading.get_ident(), seconds)
        self.watchdog.watch(run)
        try:
            yield
        except BaseException as exc:
            self.watchdog.finish(run, exc)
            raise
        self.watchdog.finish(run, None)


class GreenletEnvironment(Environment):
    """Workers are gevent greenlets; the process should be monkey-patched."""

    worker_type = WORKER_GREENLET

    def __init__(self, graceful: int = signal.SIGINT, interrupt: int = signal.SIGTERM) -> None:
        try:
            from gevent import monkey
        except ImportError:
            raise ImportError(
                'greenlet workers need gevent: pip install huey-consumer[gevent]'
            ) from None
        if not monkey.is_module_patched('socket'):
            logger.warning(
                'greenlet workers in a process that is not gevent monkey-patched: '
                'blocking calls will block every worker; call '
                'gevent.monkey.patch_all() first (the huey_consumer script does)'
            )
        super().__init__(graceful, interrupt)

    def get_stop_flag(self) -> StopFlag:
        from gevent.event import Event

        return Event()

    def create_process(self, runnable: Callable[[], None], name: str) -> Any:
        from .event_loop import in_greenlet_loop  # where its async tasks run

        return self.create_local(in_greenlet_loop(runnable), name)

    def create_local(self, runnable: Callable[[], None], name: str) -> Any:
        import gevent

        greenlet = gevent.Greenlet(runnable)
        greenlet.name = name
        return greenlet

    def is_alive(self, handle: Any) -> bool:
        return bool(handle.started) and not handle.dead

    def handle_key(self, handle: Any) -> Any:
        return handle

    @contextlib.contextmanager
    def timeout(self, seconds: float) -> Iterator[None]:
        import gevent

        run = self.deadlines.begin(gevent.getcurrent(), seconds)
        timer = gevent.Timeout(seconds, run.error())
        timer.start()
        try:
            yield
        except BaseException as exc:
            timer.cancel()
            run.fired = time.monotonic() >= run.deadline
            self.deadlines.end(run, exc)
            raise
        timer.cancel()
        run.fired = time.monotonic() >= run.deadline
        self.deadlines.end(run)


class ProcessEnvironment(Environment):
    """Workers are children forked from the consumer (their closures cannot
    be pickled, so ``fork`` is required whatever the platform's default)."""

    worker_type = WORKER_PROCESS
    forks = True

    def __init__(self, graceful: int = signal.SIGINT, interrupt: int = signal.SIGTERM) -> None:
        super().__init__(graceful, interrupt)
        try:
            self.mp = multiprocessing.get_context('fork')
        except ValueError:
            raise ValueError(
                "worker_type='process' needs os.fork(), which this platform lacks: "
                "use worker_type='thread'"
            ) from None
        #: In a worker process: shared memory where its task's deadline
        #: (``time.monotonic()``, the same clock in every process; 0: none)
        #: is published for the consumer, which kills a worker too stuck to
        #: give up by itself (see ``pools.ProcessPool``).
        self.published_deadline: Any = None

    def get_stop_flag(self) -> StopFlag:
        return ForkSafeFlag()

    def shared_deadline(self) -> Any:
        """A deadline slot shared with a worker process forked later."""
        return self.mp.RawValue('d', 0.0)

    def _publish(self, deadline: float) -> None:
        if self.published_deadline is not None:
            self.published_deadline.value = deadline

    def create_process(self, runnable: Callable[[], None], name: str) -> Any:
        # Not a daemon: tasks may start processes of their own. The pool
        # stops its children itself (and they exit when the consumer is gone).
        return self.mp.Process(target=runnable, name=name)

    @contextlib.contextmanager
    def timeout(self, seconds: float) -> Iterator[None]:
        """SIGALRM after ``seconds`` (sub-second too) raises TaskTimeout in
        the worker process's main thread, where its task runs."""
        run = self.deadlines.begin(threading.get_ident(), seconds)

        def expired(signum: int, frame: Any) -> None:
            run.fired = True
            raise run.error()

        previous = signal.signal(signal.SIGALRM, expired)
        signal.setitimer(signal.ITIMER_REAL, seconds)
        self._publish(run.deadline)
        try:
            yield
        except BaseException as exc:
            self._disarm(previous)
            self.deadlines.end(run, exc)
            raise
        self._disarm(previous)
        self.deadlines.end(run)

    def _disarm(self, previous: Any) -> None:
        self._publish(0.0)
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _asyncio_environment(
    graceful: int = signal.SIGINT, interrupt: int = signal.SIGTERM
) -> Environment:
    """``event_loop.AsyncioEnvironment`` (its module builds on this one)."""
    from .event_loop import AsyncioEnvironment

    return AsyncioEnvironment(graceful, interrupt)


WORKER_TO_ENVIRONMENT: dict[str, Callable[..., Environment]] = {
    WORKER_THREAD: ThreadEnvironment,
    WORKER_GREENLET: GreenletEnvironment,
    WORKER_PROCESS: ProcessEnvironment,
    WORKER_ASYNCIO: _asyncio_environment,
}
WORKER_TO_ENVIRONMENT.update(
    (alias, WORKER_TO_ENVIRONMENT[kind]) for alias, kind in WORKER_ALIASES.items()
)
