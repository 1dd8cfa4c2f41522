"""Fixtures: a fresh MemoryHuey per test and ``run_all`` to play the consumer."""

from __future__ import annotations

import importlib
import itertools
import os
import time

import pytest
from huey import MemoryHuey

_names = itertools.count()

#: huey-api's Redis database (see docs/DESIGN.md); the integration env, which
#: runs the optional-distribution tests again, gives them its own.
REDIS_DB = int(os.environ.get('HUEY_API_TEST_REDIS_DB', '2'))
#: Set where every distribution is installed (the integration env).
_REQUIRE_ALL = os.environ.get('HUEY_TEST_REQUIRE_ALL') == '1'


def requires(module: str, reason: str | None = None):
    """Import ``module`` (an optional distribution or its client library) for a
    test, or skip the test: huey-api's own env installs none of them. The
    integration env sets ``HUEY_TEST_REQUIRE_ALL=1`` and runs these tests
    again, and there a missing module fails instead of skipping."""
    if _REQUIRE_ALL:
        return importlib.import_module(module)
    return pytest.importorskip(module, reason=reason)


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
