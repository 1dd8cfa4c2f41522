"""Small helpers shared by the conformance suite modules."""

from __future__ import annotations

import threading
import time
from typing import Callable

from huey_storage.base import BaseStorage

__all__ = ['drain', 'run_threads', 'wait_until']


def wait_until(
    predicate: Callable[[], bool], timeout: float = 5.0, message: str = 'condition'
) -> None:
    """Poll ``predicate`` until it is true; fail the test after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.005
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f'{message} still false after {timeout} seconds')
        time.sleep(delay)
        delay = min(delay * 2, 0.1)


def drain(storage: BaseStorage) -> list[bytes]:
    """Dequeue every waiting message, in order."""
    messages = []
    while True:
        message = storage.dequeue()
        if message is None:
            return messages
        messages.append(message)


def run_threads(targets: list[Callable[[], None]], timeout: float = 30.0) -> None:
    """Run each callable in its own thread; re-raise the first error; fail on a hang."""
    errors: list[BaseException] = []

    def guard(target: Callable[[], None]) -> None:
        try:
            target()
        except BaseException as exc:  # reported in the test's thread below
            errors.append(exc)

    threads = [threading.Thread(target=guard, args=(target,), daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0))
    if any(thread.is_alive() for thread in threads):
        raise AssertionError(f'threads still running after {timeout} seconds (deadlock?)')
    if errors:
        raise errors[0]
