"""Fixtures: Redis db 8 (huey-legacy's own), legacy apps written as modules in
a temporary directory, and the real ``huey_consumer.py`` run on them."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import redis
from huey_storage.testing.services import require_service
from legacy_support import CONNECTION, ConsumerProcess


@pytest.fixture
def redis_db():
    """A client on db 8, flushed before and after the test."""
    require_service('redis')
    client = redis.Redis(**CONNECTION)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def app_dir(tmp_path, monkeypatch):
    """``app_dir(files)``: write ``{module name: source}`` and make them importable
    here (forgotten after the test); returns the directory."""
    written: list[str] = []

    def write(files: dict[str, str]) -> Path:
        for name, source in files.items():
            (tmp_path / f'{name}.py').write_text(source)
            written.append(name)
        monkeypatch.syspath_prepend(str(tmp_path))
        return tmp_path

    yield write
    for name in written:
        sys.modules.pop(name, None)


@pytest.fixture
def run_consumer():
    """``run_consumer(target, cwd, *options)`` -> ConsumerProcess, stopped afterwards."""
    started: list[ConsumerProcess] = []

    def start(target: str, cwd: Path, *options: str, log: Path | None = None) -> ConsumerProcess:
        handle = ConsumerProcess(target, cwd, *options, log=log)
        started.append(handle)
        return handle

    yield start
    for handle in started:
        handle.stop()
