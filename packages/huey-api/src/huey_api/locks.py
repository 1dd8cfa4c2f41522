"""Locks and rate limits kept in the storage, shared by every process."""

from __future__ import annotations

import functools
import inspect
import os
import time
from contextvars import ContextVar
from typing import Callable

from huey_api.constants import LOCK_KEY, RATE_LIMIT_KEY
from huey_api.exceptions import RateLimitExceeded, TaskLockedException

__all__ = ['RateLimit', 'TaskLock', 'lock_key']


def lock_key(huey, name: str) -> str:
    """The data key holding lock ``name`` (huey's layout, so tools agree)."""
    return LOCK_KEY.format(huey=huey.name, name=name)


class TaskLock:
    """A named lock: ``with huey.lock_task('name'):`` or ``@huey.lock_task('name')``.

    Acquired with ``storage.put_if_empty`` (atomic across processes);
    ``TaskLockedException`` when another holder has it. ``ttl`` (seconds)
    lets a lock expire if its holder crashed; by default it stays until
    released or ``huey.flush_locks()``.

    The stored value is a random token of this acquisition, kept per thread
    and per asyncio task (a context variable: one ``TaskLock`` decorates a
    task that many workers, or many coroutines on one loop, run), and
    ``release`` deletes the lock only if it still holds that token
    (``storage.delete_data_if``): a holder whose lock expired and was taken by
    another never releases the other's. ``clear`` deletes whoever holds it.
    """

    def __init__(self, huey, name: str, ttl: float | None = None) -> None:
        self.huey = huey
        self.name = name
        self.ttl = ttl
        self.key = lock_key(huey, name)
        self._token: ContextVar[bytes | None] = ContextVar(f'lock {name}', default=None)

    def acquire(self) -> bool:
        token = os.urandom(16).hex().encode()
        if not self.huey.storage.put_if_empty(self.key, token, self.ttl):
            return False
        self._token.set(token)
        return True

    def release(self) -> bool:
        """Release this holder's lock; False if it does not hold it (any more)."""
        token = self._token.get()
        if token is None:
            return False
        self._token.set(None)
        return self.huey.storage.delete_data_if(self.key, token)

    def is_locked(self) -> bool:
        return self.huey.storage.has_data_for_key(self.key)

    def clear(self) -> bool:
        """Delete the lock whoever holds it (an operator's reset)."""
        return self.huey.storage.delete_data(self.key)

    def __enter__(self) -> TaskLock:
        if not self.acquire():
            raise TaskLockedException(
                f'unable to acquire lock {self.name!r}: another task holds it'
            )
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.release()

    def __call__(self, func: Callable) -> Callable:
        return _decorate(self, func)


class RateLimit:
    """At most ``limit`` entries per ``per`` seconds, counted in the storage.

    A fixed window: the counter key is ``constants.RATE_LIMIT_KEY``,
    incremented with ``storage.incr`` (atomic across processes) and expiring
    after two windows. Over the limit ``RateLimitExceeded`` is raised with
    the seconds until the window resets; a task refused this way is retried
    then (``retry=True``, without using a retry) or only if it has retries
    left. Usable as a context manager or a decorator, like ``TaskLock``.
    """

    def __init__(self, huey, name: str, limit: int, per: float, retry: bool = True) -> None:
        if limit < 0 or per <= 0:
            raise ValueError(
                f'rate_limit({name!r}, limit={limit!r}, per={per!r}): limit '
                'must be >= 0 and per > 0 seconds'
            )
        self.huey = huey
        self.name = name
        self.limit = limit
        self.per = per
        self.retry = retry

    def _window_key(self, now: float) -> str:
        return RATE_LIMIT_KEY.format(
            huey=self.huey.name, name=self.name, window=int(now // self.per)
        )

    def acquire(self) -> None:
        """Count one entry; ``RateLimitExceeded`` when over the limit."""
        now = time.time()
        count = self.huey.storage.incr(self._window_key(now), 1, ttl=self.per * 2)
        if count > self.limit:
            reset_in = (int(now // self.per) + 1) * self.per - now
            raise RateLimitExceeded(self.name, reset_in, retry=self.retry)

    def current_usage(self) -> int:
        """Entries counted in the current window."""
        return self.huey.storage.incr(self._window_key(time.time()), 0, ttl=self.per * 2)

    def reset(self) -> None:
        """Start the current window again from zero."""
        self.huey.storage.delete_counter(self._window_key(time.time()))

    def __enter__(self) -> RateLimit:
        self.acquire()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        pass

    def __call__(self, func: Callable) -> Callable:
        return _decorate(self, func)


def _decorate(context, func: Callable) -> Callable:
    """``func`` run inside ``with context:`` (awaited inside it for an
    ``async def`` function, so the lock is held while the coroutine runs)."""
    if inspect.iscoroutinefunction(func):

        @functools.wraps(func)
        async def guarded(*args, **kwargs):
            with context:
                return await func(*args, **kwargs)

    else:

        @functools.wraps(func)
        def guarded(*args, **kwargs):
            with context:
                return func(*args, **kwargs)

    return guarded
