"""A counting semaphore in Redis: at most N tasks hold it at once.

``lock_task`` lets one task in; ``lock_task_semaphore(huey, 'api', 3)`` lets
three. Each holder has a slot for ``timeout`` seconds, renewed while its task
runs, so a worker killed mid-task frees its slot after the timeout instead of
keeping it forever. Slots are taken by ``semaphore_acquire.lua`` (one atomic
step on the server clock), so concurrent workers never over-admit.
"""

from __future__ import annotations

import functools
import logging
import math
import threading
import uuid
from importlib import resources
from typing import Any, Callable

from huey_api.exceptions import ConfigurationError, TaskLockedException

__all__ = ['RedisSemaphore', 'lock_task_semaphore']

logger = logging.getLogger(__name__)

_SCRIPT = resources.files(__package__).joinpath('semaphore_acquire.lua').read_text('utf-8')


def _redis_storage() -> tuple[type, type]:
    """``RedisStorage`` and ``KeyLayout`` from huey-storage-redis, or a
    one-line ImportError naming the distribution to install."""
    try:
        from huey_storage_redis import RedisStorage
        from huey_storage_redis.keys import KeyLayout
    except ImportError:
        raise ImportError(
            'RedisSemaphore needs the huey-storage-redis distribution: '
            'pip install huey-storage-redis'
        ) from None
    return RedisStorage, KeyLayout


class RedisSemaphore:
    """At most ``value`` holders of ``name`` at once, across every process.

    ``acquire()`` returns a holder id (or None when every slot is taken),
    ``renew(id)`` extends that holder's slot by ``timeout`` seconds (default
    300), ``release(id)`` frees it. Needs the huey's storage to be a Redis
    storage, checked on first use (``ConfigurationError`` otherwise).
    """

    def __init__(self, huey, name: str, value: int = 1, timeout: float | None = None) -> None:
        if type(value) is not int or value < 1:
            raise ValueError(
                f'RedisSemaphore({name!r}, value={value!r}): value must be an int >= 1'
            )
        timeout = 300.0 if timeout is None else timeout
        if not timeout > 0:
            raise ValueError(
                f'RedisSemaphore({name!r}, timeout={timeout!r}): timeout must be > 0 seconds'
            )
        self._storage_class, key_layout = _redis_storage()
        self.huey = huey
        self.name = name
        self.value = value
        self.timeout = float(timeout)
        self._timeout_ms = max(1, math.ceil(self.timeout * 1000))
        # beside the storage's own keys (same hash tag), outside its data keys
        self.key = key_layout(huey.name).prefix + 'semaphore.' + name
        self._bound: tuple[Any, Any] | None = None  # (client, registered script)

    def _client(self):
        """The Redis client of the huey's storage (checked on each use: the
        storage changes when ``huey.immediate`` is switched)."""
        storage = self.huey.storage
        if not isinstance(storage, self._storage_class):
            raise ConfigurationError(
                f'RedisSemaphore({self.name!r}) needs a Redis storage, but huey '
                f'{self.huey.name!r} uses {type(storage).__name__}: use RedisHuey '
                '(or another huey_storage_redis storage)'
            )
        return storage.client

    def _script(self):
        client = self._client()
        if self._bound is None or self._bound[0] is not client:
            self._bound = (client, client.register_script(_SCRIPT))
        return self._bound[1]

    def acquire(self, holder: str | None = None) -> str | None:
        """Take a slot for ``holder`` (a new id if None); the id, or None if
        every slot is taken. Acquiring a held slot again renews it."""
        holder = holder or uuid.uuid4().hex
        taken = self._script()(keys=[self.key], args=[holder, self.value, self._timeout_ms, '0'])
        return holder if taken else None

    def renew(self, holder: str) -> bool:
        """Extend ``holder``'s slot by ``timeout``; False if it had already expired."""
        return bool(
            self._script()(keys=[self.key], args=[holder, self.value, self._timeout_ms, '1'])
        )

    def release(self, holder: str) -> bool:
        """Free ``holder``'s slot; False if it did not hold one."""
        return bool(self._client().zrem(self.key, holder))

    def _keep_renewing(self, holder: str, stop: threading.Event) -> None:
        while not stop.wait(self.timeout / 3):
            try:
                if not self.renew(holder):
                    logger.warning(
                        'semaphore %r: holder %s lost its slot (not renewed within %ss)',
                        self.name,
                        holder,
                        self.timeout,
                    )
                    return
            except Exception:
                logger.exception('semaphore %r: renewing holder %s failed', self.name, holder)

    def __repr__(self) -> str:
        return f'<RedisSemaphore {self.name!r}: {self.value} slots, timeout {self.timeout}s>'


def lock_task_semaphore(
    huey, lock_name: str, value: int = 1, timeout: float | None = None
) -> Callable[[Callable], Callable]:
    """Decorator: at most ``value`` calls of the function run at once.

    A call that finds every slot taken raises ``TaskLockedException`` (so a
    task with retries runs again later). The slot is renewed every
    ``timeout / 3`` seconds while the call runs and freed when it returns.
    Put it under ``@huey.task()``.
    """
    semaphore = RedisSemaphore(huey, lock_name, value, timeout)

    def decorator(func: Callable) -> Callable:
        @functools.wraps(func)
        def limited(*args, **kwargs):
            holder = semaphore.acquire()
            if holder is None:
                raise TaskLockedException(
                    f'unable to acquire semaphore {lock_name!r}: all {value} slots are taken'
                )
            stop = threading.Event()
            renewer = threading.Thread(
                target=semaphore._keep_renewing,
                args=(holder, stop),
                name=f'semaphore-renew-{lock_name}',
                daemon=True,
            )
            renewer.start()
            try:
                return func(*args, **kwargs)
            finally:
                stop.set()
                renewer.join()
                try:
                    semaphore.release(holder)
                except Exception:  # the slot expires on its own; keep the call's outcome
                    logger.exception('semaphore %r: releasing holder %s failed', lock_name, holder)

        return limited

    return decorator
