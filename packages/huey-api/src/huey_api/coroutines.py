"""``async def`` tasks: where their coroutines run, and how they time out.

A task function that is a coroutine function gets a task class with
``AsyncTaskMixin`` first in its bases (``TaskWrapper`` adds it), so calling
it from sync code enqueues as usual and the one execution path of huey-api
(revocation, locks, retries, signals, pipelines, chords, results) runs it
like any task: ``execute()`` returns the coroutine's value.

Where the coroutine runs:

* a thread (or greenlet) that ``use_loop`` handed a running event loop
  submits it there and waits: the asyncio worker type runs every async
  task of its consumer process on one loop this way, and so do greenlet
  workers (asyncio allows one running loop per OS thread, which all the
  greenlets of a thread share);
* anywhere else it runs to completion on an event loop owned by the calling
  thread (created on first use, kept for the thread's next async tasks);
* a thread whose own loop is already running (an async task run eagerly,
  ``immediate`` mode, from async code) runs it on a fresh loop in a helper
  thread, as a blocking call would.

A task ``timeout`` is enforced on the loop: the coroutine is cancelled when
it runs out and ``TaskTimeout`` raised, so the consumer's timeout handler
(a signal or an exception thrown into the thread) never interrupts a loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
from typing import Any, Callable, Coroutine

from huey_api.exceptions import TaskTimeout

__all__ = ['AsyncTaskMixin', 'async_task_base', 'run_coroutine', 'use_loop']

_local = threading.local()
_bases: dict[type, type] = {}


class AsyncTaskMixin:
    """Runs the coroutine of an ``async def`` task function to completion."""

    #: the timeout is enforced on the task's event loop (see the module docstring)
    is_async = True

    def execute(self) -> Any:
        return run_coroutine(super().execute(), self.timeout)


def async_task_base(task_base: type) -> type:
    """``task_base`` with ``AsyncTaskMixin`` in front (one class per base)."""
    base = _bases.get(task_base)
    if base is None:
        name = f'Async{task_base.__name__}'
        base = _bases[task_base] = type(name, (AsyncTaskMixin, task_base), {})
    return base


def use_loop(
    loop: asyncio.AbstractEventLoop | None,
    wait: Callable[[concurrent.futures.Future], Any] | None = None,
) -> None:
    """Run this thread's async tasks on ``loop``, running elsewhere (another
    thread, or a greenlet); ``wait(future)`` blocks until the future is done
    (default: ``future.result()``). None goes back to a loop of the
    thread's own."""
    _local.shared = loop
    _local.wait = wait


def run_coroutine(coroutine: Coroutine, timeout: float | None = None) -> Any:
    """The value of ``coroutine`` run to completion (see the module docstring).

    A coroutine that ends cancelled is a task error (``RuntimeError``). A
    ``wait`` given to ``use_loop`` may raise ``asyncio.CancelledError``
    instead (the asyncio worker type does on a prompt stop): no task error
    handler catches it, so the delivery, already released to the queue, is
    neither acknowledged nor retried here.
    """
    if timeout:
        coroutine = _bounded(coroutine, timeout)
    shared = getattr(_local, 'shared', None)
    if shared is not None:
        try:
            future = asyncio.run_coroutine_threadsafe(coroutine, shared)
        except RuntimeError:  # closed: its owner is shutting down, as on a prompt stop
            coroutine.close()
            raise asyncio.CancelledError('its event loop is closed') from None
        try:
            if _local.wait is not None:
                _local.wait(future)
            return future.result()
        except concurrent.futures.CancelledError:
            raise _cancelled() from None
        except BaseException:
            future.cancel()  # this thread was interrupted: stop the coroutine too
            raise
    if _loop_running_here():
        return _run_in_helper_thread(coroutine)
    own = getattr(_local, 'own', None)
    if own is None:
        own = _local.own = _OwnLoop()
    try:
        return own.loop.run_until_complete(coroutine)
    except asyncio.CancelledError:
        raise _cancelled() from None


class _OwnLoop:
    """A thread's own event loop, closed when the thread ends (its
    thread-local storage is dropped)."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    def __del__(self) -> None:
        self.loop.close()


def _cancelled() -> RuntimeError:
    return RuntimeError("the task's coroutine was cancelled")


async def _bounded(coroutine: Coroutine, seconds: float) -> Any:
    """Await ``coroutine`` for at most ``seconds``, then cancel it and raise
    ``TaskTimeout`` (a ``TimeoutError`` of the task's own passes through)."""
    task = asyncio.ensure_future(coroutine)
    try:
        done, _ = await asyncio.wait({task}, timeout=seconds)
    except BaseException:
        task.cancel()
        raise
    if not done:
        task.cancel()
        await asyncio.wait({task})  # let it run its cleanup before the retry
        raise TaskTimeout(f'timeout ({seconds}s)')
    return task.result()


def _loop_running_here() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _run_in_helper_thread(coroutine: Coroutine) -> Any:
    outcome: list = []

    def run() -> None:
        try:
            outcome.append((True, asyncio.run(coroutine)))
        except BaseException as exc:
            outcome.append((False, exc))

    helper = threading.Thread(target=run, name='huey-async-task')
    helper.start()
    helper.join()
    ok, value = outcome[0]
    if not ok:
        raise value
    return value
