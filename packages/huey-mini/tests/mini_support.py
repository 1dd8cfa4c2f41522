"""Test helpers for huey-mini: a fake clock and a deadline-bound wait."""

from __future__ import annotations

import datetime as dt

import gevent
import pytest


class FakeClock:
    """A clock that moves only when told to; counts how often it was read."""

    def __init__(self, start: dt.datetime) -> None:
        self.now = start
        self.reads = 0

    def __call__(self) -> dt.datetime:
        self.reads += 1
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += dt.timedelta(**delta)

    def set(self, moment: dt.datetime) -> None:
        self.now = moment

    def wait_for_reads(self, count: int = 5, timeout: float = 5.0) -> None:
        """Let the scheduler read the clock ``count`` more times (proves it ticked)."""
        target = self.reads + count
        wait_until(lambda: self.reads >= target, timeout, f'{count} scheduler ticks')


def wait_until(predicate, timeout: float = 5.0, what: str = 'condition') -> None:
    """Yield to other greenlets until ``predicate()`` is true; fail after ``timeout``."""
    with gevent.Timeout(timeout, False):
        while not predicate():
            gevent.sleep(0.002)
        return
    pytest.fail(f'timed out after {timeout}s waiting for {what}')
