"""Helpers shared by the huey-consumer tests."""

from __future__ import annotations

import time

import pytest
from huey_storage import MemoryStorage

#: Fast polling so in-process tests never wait long on an empty MemoryStorage.
FAST = {'initial_delay': 0.01, 'max_delay': 0.05, 'backoff': 1.5}


def wait_for(condition, timeout: float = 10.0, interval: float = 0.01, message: str = ''):
    """Poll ``condition`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f'timed out after {timeout}s waiting for {message or condition}')
        time.sleep(interval)


class FlakyStorage(MemoryStorage):
    """A memory storage whose reads fail while ``down`` (a server that is away)."""

    down = 0

    def _read(self) -> None:
        if FlakyStorage.down:
            FlakyStorage.down -= 1
            raise ConnectionError('storage unreachable')

    def lease(self, timeout):
        self._read()
        return super().lease(timeout)

    def lease_many(self, count, timeout, key, share=1):
        self._read()
        return super().lease_many(count, timeout, key, share)
