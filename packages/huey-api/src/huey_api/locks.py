"""Locks and rate limits kept in the storage, shared by every process."""

from __future__ import annotations

import functools
import time
from typing import Callable

from huey_api.exceptions import RateLimitExceeded, TaskLockedException

__all__ = ['RateLimit', 'TaskLock']


class TaskLock:
    """A named lock: ``with huey.lock_task('name'):`` or ``@huey.lock_task('name')``.

    Acquired with ``storage.put_if_empty`` (atomic across processes);
    ``TaskLockedException`` when another holder has it. ``ttl`` (seconds)
    lets a lock expire if its holder crashed; by default it stays until
    released or ``huey.flush_locks()``.
    """

    def __init__(self, huey, name: str, ttl: float | None = None) -> None:
        self.huey = huey
        self.name = name
        self.ttl = ttl
        self.key = f'lock:{name}'

    def acquire(self) -> bool:
        return self.huey.storage.put_if_empty(self.key, b'1', self.ttl)

    def release(self) -> bool:
        return self.huey.storage.delete_data(self.key)

    def is_locked(self) -> bool:
        return self.huey.storage.has_data_for_key(self.key)

    def clear(self) -> bool:
        return self.release()

    def __enter__(self) -> TaskLock:
        if not self.acquire():
            raise TaskLockedException(
                f'unable to acquire lock {self.name!r}: another task holds it'
            )
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.release()

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def locked(*args, **kwargs):
            with self:
                return func(*args, **kwargs)

        return locked


class RateLimit:
    """At most ``limit`` entries per ``per`` seconds, counted in the storage.

    A fixed window: the counter key is ``ratelimit:<name>:<window number>``,
    incremented with ``storage.incr`` (atomic) and expiring after two
    windows. Over the limit ``RateLimitExceeded`` is raised (a
    ``TaskLockedException``: the task is retried if it has retries left).
    Usable as a context manager or a decorator, like ``TaskLock``.
    """

    def __init__(self, huey, name: str, limit: int, per: float) -> None:
        if limit < 1 or per <= 0:
            raise ValueError(
                f'rate_limit({name!r}, limit={limit!r}, per={per!r}): limit '
                'must be >= 1 and per > 0 seconds'
            )
        self.huey = huey
        self.name = name
        self.limit = limit
        self.per = per

    def acquire(self) -> bool:
        window = int(time.time() // self.per)
        key = f'ratelimit:{self.name}:{window}'
        return self.huey.storage.incr(key, 1, ttl=self.per * 2) <= self.limit

    def __enter__(self) -> RateLimit:
        if not self.acquire():
            raise RateLimitExceeded(
                f'rate limit {self.name!r} exceeded: more than {self.limit} per {self.per}s'
            )
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        pass

    def __call__(self, func: Callable) -> Callable:
        @functools.wraps(func)
        def limited(*args, **kwargs):
            with self:
                return func(*args, **kwargs)

        return limited
