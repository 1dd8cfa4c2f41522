"""Hard task timeouts: stop a task that overruns, give up on one that never returns.

A task with a ``timeout`` (its own, or the consumer's ``task_timeout``) runs
inside a ``TimedRun``. Each worker type interrupts it its own way (see
``environments``): a thread gets ``TaskTimeout`` raised in it by a watchdog
thread (``PyThreadState_SetAsyncExc``), a greenlet a ``gevent.Timeout``, a
process ``SIGALRM``. Python code is interrupted at its next bytecode; a call
blocked in C (a socket without a timeout, a C extension's loop) only when it
returns. A task that overran is always recorded as a ``TaskTimeout``, even if
it caught the exception and returned.

A task still running ``STUCK_GRACE`` seconds after its deadline is abandoned:
its pool gives the message back to the queue (counted as a delivery, so a task
that hangs every time ends in the dead letters) and starts a replacement
worker. If the abandoned task ever returns, ``TaskAbandoned`` discards its
outcome and ends its worker.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from typing import Any

from huey_api.exceptions import TaskTimeout

__all__ = ['STUCK_GRACE', 'Deadlines', 'TaskAbandoned', 'ThreadWatchdog', 'TimedRun']

#: Seconds a task may take to come back after its TaskTimeout (cleanup code,
#: ``finally`` blocks) before its worker is abandoned and replaced.
STUCK_GRACE = 2.0


class TaskAbandoned(BaseException):
    """Raised in a worker whose task came back after being abandoned: its
    message was already given back, so its outcome must not be recorded.
    A BaseException, so no task-level ``except Exception`` swallows it."""


class _InterruptedByTimeout(TaskTimeout):
    """Raised asynchronously in a thread: it is built without arguments."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*(args or ('timeout: interrupted by the consumer',)))


class TimedRun:
    """One task run under a timeout, in the worker keyed ``key``."""

    def __init__(self, key: Any, seconds: float) -> None:
        self.key = key
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.fired = False  # the interruption was sent
        self.abandoned = False  # the pool gave its message back
        self.done = False

    def error(self) -> TaskTimeout:
        return TaskTimeout(f'timeout ({self.seconds}s)')

    def overdue(self, now: float) -> bool:
        """True when the run should have come back by ``now`` and has not."""
        return not self.done and not self.abandoned and now >= self.deadline + STUCK_GRACE


class Deadlines:
    """The timed run of each worker (at most one at a time), by worker key
    (a thread's ident, a greenlet). Pools read it to find stuck workers."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._runs: dict[Any, TimedRun] = {}

    def begin(self, key: Any, seconds: float) -> TimedRun:
        run = TimedRun(key, seconds)
        with self.lock:
            self._runs[key] = run
        return run

    def end(self, run: TimedRun, exc: BaseException | None = None, withdraw: Any = None) -> None:
        """Mark ``run`` over (calling ``withdraw()`` first, under the lock, if
        it fired); raise ``TaskAbandoned`` when it was given up on, else
        ``TaskTimeout`` when it overran (``exc``: what the task raised)."""
        with self.lock:
            if run.fired and withdraw is not None:
                withdraw()
            run.done = True
            if self._runs.get(run.key) is run:
                del self._runs[run.key]
        if run.abandoned:
            raise TaskAbandoned(f'task came back after its worker was abandoned ({run.seconds}s)')
        own = isinstance(exc, TaskTimeout) and not isinstance(exc, _InterruptedByTimeout)
        if run.fired and not own:  # it overran: always a TaskTimeout with its message
            raise run.error() from exc

    def overdue(self, key: Any, now: float | None = None) -> TimedRun | None:
        """The run of worker ``key`` if it is stuck past its grace period."""
        now = time.monotonic() if now is None else now
        run = self._runs.get(key)
        return run if run is not None and run.overdue(now) else None

    def abandon(self, run: TimedRun) -> bool:
        """Give up on ``run`` unless it finished meanwhile; True if abandoned."""
        with self.lock:
            if run.done:
                return False
            run.abandoned = True
            return True


def _set_async_exc(thread_id: int, exc_class: type[BaseException] | None) -> int:
    """Raise ``exc_class`` in thread ``thread_id`` at its next bytecode (None
    withdraws an exception not raised yet); returns how many threads matched."""
    import ctypes  # here, not at start-up: 0.7 MiB a consumer without timeouts never needs

    exc = ctypes.py_object(exc_class) if exc_class is not None else ctypes.py_object()
    return ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), exc)


class ThreadWatchdog:
    """One thread interrupting the timed runs of thread workers at their deadline."""

    def __init__(self, deadlines: Deadlines) -> None:
        self.deadlines = deadlines
        self._heap: list[tuple[float, int, TimedRun]] = []
        self._order = itertools.count()
        self._wakeup = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None

    def watch(self, run: TimedRun) -> None:
        with self._wakeup:
            heapq.heappush(self._heap, (run.deadline, next(self._order), run))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name='TimeoutWatchdog', daemon=True
                )
                self._thread.start()
            self._wakeup.notify()

    def _run(self) -> None:
        while True:
            with self._wakeup:
                while self._heap and self._heap[0][2].done:
                    heapq.heappop(self._heap)
                wait = self._heap[0][0] - time.monotonic() if self._heap else None
                if wait is None or wait > 0:
                    self._wakeup.wait(wait)
                    continue
                run = heapq.heappop(self._heap)[2]
            self._fire(run)

    def _fire(self, run: TimedRun) -> None:
        # Under the lock ``finish`` takes: the exception is only ever sent
        # while the task is still inside its timed run.
        with self.deadlines.lock:
            if run.done:
                return
            run.fired = True
            _set_async_exc(run.key, _InterruptedByTimeout)

    def finish(self, run: TimedRun, exc: BaseException | None) -> None:
        """End ``run`` in its own thread, withdrawing an interruption sent but
        not raised yet (see ``Deadlines.end``)."""
        self.deadlines.end(run, exc, lambda: _set_async_exc(run.key, None))
