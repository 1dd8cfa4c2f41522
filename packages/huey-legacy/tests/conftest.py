"""Fixtures: Redis db 8 (huey-legacy's own), legacy apps written as modules in
a temporary directory, and the real ``huey_consumer.py`` run on them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from huey_storage.testing.services import require_service

REDIS_DB = 8  # no other package's tests use this db
CONNECTION = {'host': '127.0.0.1', 'port': 6379, 'db': REDIS_DB}


@pytest.fixture
def redis_db():
    """A client on db 8, flushed before and after the test."""
    require_service('redis')
    client = redis.Redis(**CONNECTION)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


def wait_for(condition, timeout: float = 10.0, what: str = 'condition'):
    """Poll ``condition()`` until it returns something truthy, or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f'{what} not met within {timeout}s')


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


def _read(path: Path) -> str:
    return path.read_text(errors='replace') if path.exists() else ''


class ConsumerProcess:
    """``huey_consumer.py <target>`` running in ``cwd``; output kept in a file."""

    def __init__(self, target: str, cwd: Path, *options: str, log: Path | None = None) -> None:
        script = Path(sys.executable).with_name('huey_consumer.py')
        self.log = cwd / 'consumer.log'
        env = dict(os.environ, PYTHONPATH=str(cwd), PYTHONWARNINGS='ignore')
        self.process = subprocess.Popen(
            [str(script), target, *options],
            cwd=cwd,
            env=env,
            stdout=self.log.open('wb'),
            stderr=subprocess.STDOUT,
        )
        watched = log or self.log
        wait_for(
            lambda: 'consumer started' in _read(watched) or self.process.poll() is not None,
            what='consumer start',
        )
        assert self.process.poll() is None, self.output()

    def output(self) -> str:
        return _read(self.log)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


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
