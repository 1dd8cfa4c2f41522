"""Shared by huey-legacy's tests: the Redis db, waiting with deadlines, and the
real ``huey_consumer.py`` as a subprocess."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

REDIS_DB = 8  # no other package's tests use this db
CONNECTION = {'host': '127.0.0.1', 'port': 6379, 'db': REDIS_DB}


def wait_for(condition, timeout: float = 10.0, what: str = 'condition'):
    """Poll ``condition()`` until it returns something truthy, or fail."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f'{what} not met within {timeout}s')


def read_text(path: Path) -> str:
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
            lambda: 'consumer started' in read_text(watched) or self.process.poll() is not None,
            what='consumer start',
        )
        assert self.process.poll() is None, self.output()

    def output(self) -> str:
        return read_text(self.log)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        return self.process.returncode


def schedule_queued(huey, count: int) -> None:
    """Be the worker that takes ``count`` queued tasks: one not yet due goes on
    the schedule (scheduled calls are queued first, as in huey 3)."""
    for _ in range(count):
        huey.execute_delivery(huey.reserve())
