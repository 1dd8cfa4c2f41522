"""Fixtures: real Redis (db 7, this run's keys deleted after each test), the run's throwaway
PostgreSQL database (pytest-django creates ``test_huey_dj_<run>`` and drops it),
and ``manage.py`` subprocesses sharing both."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from huey_storage.testing.services import require_service

TESTS = Path(__file__).parent


def wait_for(condition, timeout: float = 20.0, interval: float = 0.05, what: str = 'condition'):
    """Poll ``condition()`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f'timed out after {timeout}s waiting for {what}')
        time.sleep(interval)


@pytest.fixture(scope='session', autouse=True)
def services():
    require_service('postgres')
    require_service('redis')


@pytest.fixture(autouse=True)
def clean_redis():
    """Delete this run's keys from db 7 (the db huey-django's tests own) after
    each test. Not FLUSHDB: the Django 4.2 and 5.2 tox envs may run at the same
    time on the same db, each with its own run id in every key."""
    import redis

    yield
    client = redis.Redis(host='127.0.0.1', port=6379, db=settings.REDIS_DB)
    keys = list(client.scan_iter(match=f'*{settings.RUN}*', count=1000))
    if keys:
        client.delete(*keys)


@pytest.fixture
def huey():
    """The project's application (Redis), live mode, restored afterwards."""
    from huey_django import HUEY

    immediate = HUEY.immediate
    HUEY.immediate = False
    yield HUEY
    HUEY.immediate = immediate


class Project:
    """``manage.py`` of the test project, run as subprocesses with ``env``."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.running: list[subprocess.Popen] = []

    def command(self, *args: str, timeout: float = 60, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, 'manage.py', *args],
            cwd=TESTS,
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, *args: str, **env: str) -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, 'manage.py', *args],
            cwd=TESTS,
            env={**self.env, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        process.lines = []  # type: ignore[attr-defined]
        reader = threading.Thread(target=self._collect, args=(process,), daemon=True)
        reader.start()
        process.reader = reader  # type: ignore[attr-defined]
        self.running.append(process)
        return process

    @staticmethod
    def _collect(process: subprocess.Popen) -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            process.lines.append(line)  # type: ignore[attr-defined]

    def wait_output(self, process: subprocess.Popen, text: str, timeout: float = 30) -> str:
        """Wait until ``process`` printed a line containing ``text``; return that line."""

        def printed():
            for line in list(process.lines):  # type: ignore[attr-defined]
                if text in line:
                    return line
            if process.poll() is not None:
                process.reader.join(5)  # type: ignore[attr-defined]
                pytest.fail(f'{process.args} exited early:\n' + ''.join(process.lines))
            return None

        return wait_for(printed, timeout=timeout, what=f'{text!r} in the output')

    def stop(self, process: subprocess.Popen, timeout: float = 20) -> str:
        """SIGINT (graceful stop) and return everything it printed."""
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.reader.join(5)  # type: ignore[attr-defined]
        return ''.join(process.lines)  # type: ignore[attr-defined]


@pytest.fixture
def project(request):
    """Run ``manage.py`` against this run's test database; every process started
    is stopped after the test."""
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [str(TESTS), env.get('PYTHONPATH')]))
    env['DJANGO_SETTINGS_MODULE'] = 'djproject.settings'
    if 'django_db_setup' in request.fixturenames:
        from django.db import connection

        env['HUEY_DJANGO_DB_NAME'] = connection.settings_dict['NAME']
    runner = Project(env)
    yield runner
    for process in runner.running:
        runner.stop(process, timeout=10)
