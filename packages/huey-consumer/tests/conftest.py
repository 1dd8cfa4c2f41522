"""Fixtures for huey-consumer unit tests: in-memory Huey apps and consumers
running in a background thread, always stopped at the end of the test."""

from __future__ import annotations

import threading

import pytest
from helpers import FAST
from huey_api import MemoryHuey
from huey_consumer import Consumer


@pytest.fixture
def huey():
    app = MemoryHuey('consumer-tests')
    yield app
    app.flush()


class RunningConsumer:
    """A Consumer whose ``run()`` executes in a daemon thread."""

    def __init__(self, consumer: Consumer) -> None:
        self.consumer = consumer
        self.thread = threading.Thread(target=consumer.run, name='consumer-run', daemon=True)

    def start(self) -> RunningConsumer:
        self.thread.start()
        assert self.consumer.ready.wait(10), 'consumer did not start'
        return self

    def stop(self, graceful: bool = True, timeout: float = 10.0) -> None:
        self.consumer.stop(graceful)
        self.thread.join(timeout)
        assert not self.thread.is_alive(), f'consumer did not stop within {timeout}s'


@pytest.fixture
def start_consumer():
    """``start_consumer(huey, **options)`` -> RunningConsumer; stopped afterwards."""
    running: list[RunningConsumer] = []

    def start(app, **options) -> RunningConsumer:
        for key, value in FAST.items():
            options.setdefault(key, value)
        handle = RunningConsumer(Consumer(app, **options)).start()
        running.append(handle)
        return handle

    yield start
    for handle in running:
        if handle.thread.is_alive():
            handle.stop(graceful=False)
