"""Fixtures: a small huey application on each real storage, consumer processes.

``make_app()`` writes an application module (tasks + ``huey_monitor.enable``)
into a temp directory, so this process, consumer subprocesses and
``huey_admin`` subprocesses all import the same thing by name. Redis apps use
db 9 under a unique name and delete only their own keys; PostgreSQL and
MariaDB apps get their own schema/database, dropped afterwards; SQLite apps a
temp file.
"""

from __future__ import annotations

import importlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from huey_storage.testing.services import in_ci, require_service

REDIS_DB = 9

APP_TEMPLATE = """\
import os
import time

import huey_monitor
from huey import crontab
{import_line}

huey = {constructor}
monitor = huey_monitor.enable(huey, flush_interval=0.1, heartbeat_interval=0.5{monitor_options})


@huey.task()
def add(a, b):
    return a + b


@huey.task()
def fail(message):
    raise ValueError(message)


@huey.task()
def slow(seconds):
    time.sleep(seconds)
    return seconds


@huey.periodic_task(crontab(minute='*/15'))
def report():
    return None


if os.environ.get('MONITOR_TEST_LATE_TASK'):

    @huey.task()
    def late(value):
        return value * 2
"""

#: Fast polling for non-blocking storages.
# -n: the periodic report() would add events whenever a test starts on a quarter hour.
FAST = ['-d', '0.02', '-m', '0.2', '-n']


def wait_until(condition, timeout: float = 20.0, message: str = '', interval: float = 0.05):
    """Poll ``condition`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f'timed out after {timeout}s waiting for {message or condition}')
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(('127.0.0.1', 0))
        return probe.getsockname()[1]


def script(name: str) -> Path:
    """A console script installed next to this Python."""
    path = Path(sys.executable).parent / name
    if not path.exists():
        pytest.fail(f'{path} not found: install the distribution that provides it')
    return path


class App:
    """An application module on disk, importable here and in subprocesses."""

    def __init__(self, directory: Path, import_line: str, constructor: str, options: str) -> None:
        self.directory = directory
        self.module_name = 'monitor_app_' + uuid.uuid4().hex[:10]
        (directory / f'{self.module_name}.py').write_text(
            APP_TEMPLATE.format(
                import_line=import_line, constructor=constructor, monitor_options=options
            )
        )
        self._module = None

    @property
    def module(self):
        if self._module is None:
            if str(self.directory) not in sys.path:
                sys.path.insert(0, str(self.directory))
            importlib.invalidate_caches()
            self._module = importlib.import_module(self.module_name)
        return self._module

    @property
    def huey(self):
        return self.module.huey

    @property
    def monitor(self):
        return self.module.monitor

    @property
    def path(self) -> str:
        return f'{self.module_name}.huey'

    def env(self, **extra: str) -> dict:
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join(
            filter(None, [str(self.directory), env.get('PYTHONPATH')])
        )
        env.update(extra)
        return env

    def close(self) -> None:
        if self._module is not None:
            import huey_monitor

            huey_monitor.disable(self._module.huey)
            try:
                self._module.huey.flush()
            finally:
                self._module.huey.storage.close()
            sys.modules.pop(self.module_name, None)
        if str(self.directory) in sys.path:
            sys.path.remove(str(self.directory))


def _postgres_admin(sql: str) -> None:
    import psycopg2

    connection = psycopg2.connect(host='127.0.0.1', port=5432, user='postgres', dbname='test')
    connection.autocommit = True
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '30s'")
            cursor.execute(sql)
    finally:
        connection.close()


def _mysql_admin(sql: str) -> None:
    import pymysql

    connection = pymysql.connect(
        host='127.0.0.1', port=3306, user='root', password='', autocommit=True
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute('SET SESSION lock_wait_timeout = 30')
            cursor.execute(sql)
    finally:
        connection.close()


BACKENDS = [
    'sqlite',
    pytest.param('redis', marks=pytest.mark.redis),
    pytest.param('postgres', marks=pytest.mark.postgres),
    pytest.param('mysql', marks=pytest.mark.mysql),
]


@pytest.fixture(params=BACKENDS)
def backend(request):
    return request.param


@pytest.fixture
def make_app(tmp_path, backend):
    """``make_app(monitor_options='')`` -> App on this test's backend."""
    apps: list[App] = []
    cleanups: list[str] = []
    if backend != 'sqlite':
        require_service(backend)

    def build(monitor_options: str = '') -> App:
        suffix = uuid.uuid4().hex[:12]
        if backend == 'sqlite':
            db = tmp_path / f'huey-{suffix}.db'
            constructor = f"SqliteHuey('mon', filename={str(db)!r})"
            import_line = 'from huey import SqliteHuey'
        elif backend == 'redis':
            constructor = f"RedisHuey('mon-{suffix}', db={REDIS_DB})"
            import_line = 'from huey import RedisHuey'
        elif backend == 'postgres':
            schema = 'huey_t_' + suffix
            _postgres_admin(f'CREATE SCHEMA {schema}')
            cleanups.append(f'DROP SCHEMA {schema} CASCADE')
            url = f'postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}'
            constructor = f"SqlHuey('mon', database={url!r})"
            import_line = 'from huey import SqlHuey'
        else:
            database = 'huey_t_' + suffix
            _mysql_admin(f'CREATE DATABASE {database}')
            cleanups.append(f'DROP DATABASE {database}')
            url = f'mysql://root@127.0.0.1:3306/{database}'
            constructor = f"SqlHuey('mon', database={url!r})"
            import_line = 'from huey import SqlHuey'
        options = f', {monitor_options}' if monitor_options else ''
        app = App(tmp_path, import_line, constructor, options)
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.close()
    for sql in cleanups:
        (_postgres_admin if backend == 'postgres' else _mysql_admin)(sql)


class ConsumerProcess:
    """``huey_consumer`` running an App in a subprocess of its own session."""

    def __init__(
        self, app: App, args: list[str], env: dict | None = None, launcher: list[str] | None = None
    ) -> None:
        self.log_path = app.directory / f'consumer-{uuid.uuid4().hex[:6]}.log'
        self._log = open(self.log_path, 'wb')
        launcher = launcher or [str(script('huey_consumer'))]
        self.command = [*launcher, app.path, *FAST, *args]
        self.process = subprocess.Popen(
            self.command,
            cwd=app.directory,
            env=env or app.env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors='replace')

    def wait_started(self, timeout: float = 30.0) -> ConsumerProcess:
        wait_until(
            lambda: 'consumer started' in self.log() or self.process.poll() is not None,
            timeout,
            'the consumer to start',
        )
        assert self.process.poll() is None, f'consumer exited:\n{self.log()}'
        return self

    def stop(self, timeout: float = 30.0) -> int:
        """SIGINT (graceful stop) and wait for the exit status."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f'consumer still running {timeout}s after SIGINT:\n{self.log()}')

    def kill(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self._log.close()


@pytest.fixture
def start_consumer():
    """``start_consumer(app, *args, env=None, launcher=None)`` -> started ConsumerProcess;
    killed afterwards. ``launcher`` replaces the ``huey_consumer`` command."""
    processes: list[ConsumerProcess] = []

    def start(
        app: App, *args: str, env: dict | None = None, launcher: list[str] | None = None
    ) -> ConsumerProcess:
        process = ConsumerProcess(app, list(args), env, launcher)
        processes.append(process)
        return process.wait_started()

    yield start
    for process in processes:
        process.kill()
        print(f'---- {" ".join(process.command)} (exit {process.process.returncode})')
        print(process.log_path.read_text(errors='replace'))


class DashboardProcess:
    """``huey_admin APP serve`` in a subprocess, on a free port."""

    def __init__(self, app: App, *args: str) -> None:
        self.port = free_port()
        self.url = f'http://127.0.0.1:{self.port}'
        self.log_path = app.directory / f'dashboard-{uuid.uuid4().hex[:6]}.log'
        self._log = open(self.log_path, 'wb')
        self.process = subprocess.Popen(
            [str(script('huey_admin')), app.path, 'serve', '--port', str(self.port), *args],
            cwd=app.directory,
            env=app.env(),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def answers() -> bool:
            assert self.process.poll() is None, self.log_path.read_text()
            try:
                socket.create_connection(('127.0.0.1', self.port), timeout=1).close()
                return True
            except OSError:
                return False

        wait_until(answers, 30, 'the dashboard to listen')

    def stop(self) -> None:
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(10)
        self._log.close()


@pytest.fixture
def start_dashboard():
    """``start_dashboard(app, *args)`` -> DashboardProcess; stopped afterwards."""
    running: list[DashboardProcess] = []

    def start(app: App, *args: str) -> DashboardProcess:
        dashboard = DashboardProcess(app, *args)
        running.append(dashboard)
        return dashboard

    yield start
    for dashboard in running:
        dashboard.stop()
        print(f'---- dashboard log\n{dashboard.log_path.read_text(errors="replace")}')


def chromium_path() -> str:
    """The system Chromium (Debian's ``chromium`` package), never a downloaded one."""
    path = os.environ.get('HUEY_MONITOR_CHROMIUM', '/usr/bin/chromium')
    if not os.path.exists(path):
        message = f'{path} not found: apt-get install -y chromium (or set HUEY_MONITOR_CHROMIUM)'
        if in_ci():
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    return path


@pytest.fixture
def page():
    """A Playwright page in a headless system Chromium."""
    path = chromium_path()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=path, headless=True, args=['--no-sandbox', '--disable-gpu']
        )
        try:
            context = browser.new_context(viewport={'width': 1280, 'height': 900})
            yield context.new_page()
        finally:
            browser.close()


def take_early(huey) -> None:
    """Be the worker that takes a scheduled call before it is due: it goes on
    the schedule (calls with a delay are queued first, as in huey 3)."""
    huey.execute_delivery(huey.reserve())
