"""Fixtures: a fresh MemoryHuey per test and ``run_all`` to play the consumer."""

from __future__ import annotations

import itertools
import time

import pytest
from huey import MemoryHuey

_names = itertools.count()


@pytest.fixture
def huey():
    """A MemoryHuey with its own name, flushed afterwards."""
    instance = MemoryHuey(f'test-{next(_names)}')
    yield instance
    instance.flush()


@pytest.fixture
def run_all():
    """``run_all(huey, now=None)``: move due scheduled tasks to the queue and
    execute everything queued, in this process, as a consumer would; returns
    how many deliveries ran."""

    def run(huey, now: float | None = None, limit: int = 1000) -> int:
        count = 0
        while count < limit:
            huey.enqueue_due(time.time() if now is None else now)
            delivery = huey.reserve()
            if delivery is None:
                return count
            huey.execute_delivery(delivery, now=now)
            count += 1
        raise AssertionError(f'queue still not empty after {limit} deliveries')

    return run


@pytest.fixture
def run_one():
    """``run_one(huey, now=None)``: execute exactly one queued delivery (fail
    if none), judging its eta at ``now``."""

    def run(huey, now: float | None = None):
        delivery = huey.reserve()
        assert delivery is not None, 'expected a queued task'
        huey.execute_delivery(delivery, now=now)
        return delivery

    return run
