"""Fixtures: a fake clock, MiniHuey instances stopped after each test, a script runner.

Tests in this process use gevent without monkey-patching (tasks yield with
gevent primitives); anything that needs a patched stdlib runs in a
subprocess through ``run_script``.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from huey_mini import MiniHuey
from mini_support import FakeClock

SCRIPTS = Path(__file__).parent / 'scripts'


@pytest.fixture
def clock():
    return FakeClock(dt.datetime(2024, 5, 1, 10, 0, 0))


@pytest.fixture
def make_mini():
    """Build MiniHuey instances; every one is stopped after the test."""
    made: list[MiniHuey] = []

    def factory(*args, **kwargs) -> MiniHuey:
        mini = MiniHuey(*args, **kwargs)
        made.append(mini)
        return mini

    yield factory
    for mini in made:
        mini.stop()
        mini._greenlets.join(timeout=5)


@pytest.fixture
def run_script():
    """Run tests/scripts/<name> with this interpreter; return its JSON report."""

    def run(name: str, *args: str, timeout: float = 60) -> dict:
        proc = subprocess.run(
            [sys.executable, str(SCRIPTS / name), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert proc.returncode == 0, f'{name} failed ({proc.returncode}):\n{proc.stderr}'
        lines = [line for line in proc.stdout.splitlines() if line.startswith('{')]
        assert lines, f'{name} printed no JSON report:\n{proc.stdout}\n{proc.stderr}'
        return json.loads(lines[-1])

    return run
