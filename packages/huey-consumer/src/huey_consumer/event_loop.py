"""The asyncio worker type (``-k asyncio``): one event loop per consumer
process runs the ``async def`` tasks of all its workers at once.

Storages are synchronous, so each of the N workers is a thread that leases,
acknowledges and heartbeats exactly as a thread worker does (same ``Worker``
loop, pool, lease keeper and signals). When its task is ``async def``, the
worker hands the coroutine to the consumer's event loop
(``huey_api.coroutines.use_loop``) and waits for it: up to N coroutines run
concurrently on that one loop, so they can share loop-bound clients
(connection pools, HTTP sessions), and a task that blocks the loop delays
the others, as in any asyncio program. A sync task runs in its worker's
thread, never on the loop.

A prompt stop (SIGTERM by default) releases every delivery in flight to the
queue, then cancels the coroutines still running: a task awaiting something
gets ``asyncio.CancelledError`` there, runs its ``finally`` blocks, and the
message comes back to the queue, as with the other worker types.

Greenlet workers (``-k greenlet``) run async tasks on one loop too
(``in_greenlet_loop``): asyncio allows one running loop per OS thread, which
all greenlets share, so the loop runs in a greenlet of its own (its selector
is gevent's once monkey-patched), only while coroutines are in flight, and
each worker greenlet waits for its coroutine cooperatively.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from typing import Any, Callable

from huey_api.coroutines import use_loop

from .constants import WORKER_ASYNCIO
from .environments import ThreadEnvironment

__all__ = ['CANCEL_TIMEOUT', 'AsyncioEnvironment', 'in_greenlet_loop']

logger = logging.getLogger('huey.consumer.event_loop')

#: Seconds the coroutines cancelled by a prompt stop get to finish their cleanup.
CANCEL_TIMEOUT = 5.0


class AsyncioEnvironment(ThreadEnvironment):
    """Worker threads whose async tasks share one event loop (its own thread)."""

    worker_type = WORKER_ASYNCIO

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._closing = False

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        """The event loop, started in its thread on first use."""
        with self._lock:
            if self.loop is None:
                self.loop = asyncio.new_event_loop()
                self._thread = threading.Thread(
                    target=self.loop.run_forever, name='EventLoop', daemon=True
                )
                self._thread.start()
            return self.loop

    def create_process(self, runnable: Callable[[], None], name: str) -> Any:
        def run() -> None:
            use_loop(self._running_loop(), self._wait)
            try:
                runnable()
            except asyncio.CancelledError:
                logger.info('%s: its task was cancelled by the prompt stop', name)

        return super().create_process(run, name)

    def _wait(self, future: concurrent.futures.Future) -> None:
        """A worker thread's wait for its coroutine; the coroutines that
        ``close()`` cancels end their worker (see ``run_coroutine``)."""
        concurrent.futures.wait([future])
        if future.cancelled() and self._closing:
            raise asyncio.CancelledError('cancelled by the prompt stop')

    def close(self) -> None:
        """Cancel the coroutines still running (their deliveries were released
        or finished), give them ``CANCEL_TIMEOUT`` seconds, stop the loop."""
        with self._lock:
            self._closing = True
            loop, thread, self.loop = self.loop, self._thread, None
        if loop is None:
            return
        try:
            asyncio.run_coroutine_threadsafe(_cancel_all(), loop).result(CANCEL_TIMEOUT + 1)
        except Exception:
            logger.exception('event loop: cancelling the tasks still running failed')
        loop.call_soon_threadsafe(loop.stop)
        thread.join(CANCEL_TIMEOUT)
        if not thread.is_alive():
            loop.close()


async def _cancel_all() -> None:
    current = asyncio.current_task()
    running = [task for task in asyncio.all_tasks() if task is not current]
    if not running:
        return
    logger.warning('event loop: cancelling %d async tasks still running', len(running))
    for task in running:
        task.cancel()
    await asyncio.wait(running, timeout=CANCEL_TIMEOUT)


class _GreenletLoop:
    """The event loop of a gevent process's worker greenlets.

    It runs (in a greenlet) only while coroutines are in flight, so that
    between async tasks a sync task may still call ``asyncio.run()``, which
    refuses to start while any loop of the thread is running.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.in_flight = 0
        self.driver: Any = None

    def wait(self, future: Any) -> None:
        """Run the loop if it is not running; wait cooperatively for ``future``."""
        import gevent
        from gevent.event import Event

        done = Event()
        self.in_flight += 1
        future.add_done_callback(lambda _: self._finished(done))
        if self.driver is None:
            self.driver = gevent.spawn(self._drive)
            self.driver.name = 'EventLoop'
        done.wait()

    def _finished(self, done: Any) -> None:
        self.in_flight -= 1
        if not self.in_flight:
            self.loop.stop()
        done.set()

    def _drive(self) -> None:
        try:
            while self.in_flight:  # a submission may land while it stops
                self.loop.run_forever()
        finally:
            self.driver = None


_greenlet_loop: _GreenletLoop | None = None


def in_greenlet_loop(runnable: Callable[[], None]) -> Callable[[], None]:
    """``runnable`` for a worker greenlet whose async tasks run on the
    process's greenlet event loop."""

    def run() -> None:
        global _greenlet_loop
        if _greenlet_loop is None:
            _greenlet_loop = _GreenletLoop()
        use_loop(_greenlet_loop.loop, _greenlet_loop.wait)
        runnable()

    return run
