"""Integration fixtures: a small application module written to a temporary
directory, real storages (SQLite file, Redis db 4, PostgreSQL schema) and the
real ``huey_consumer.py`` console script started as a subprocess."""

from __future__ import annotations

import importlib
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from huey_storage.testing.services import require_service

#: Redis database reserved for integration tests.
REDIS_DB = 4

APP_TEMPLATE = '''\
import datetime
import os
import signal
import time

from huey import crontab
{import_line}

huey = {constructor}


@huey.task()
def add(a, b):
    return a + b


@huey.task()
def fib(a, b=1):
    a, b = a + b, a
    return (a, b)


@huey.task()
def worker_pid():
    return os.getpid()


@huey.task()
def gated(marker, gate, limit=60):
    """Write ``marker`` when started, then run until ``gate`` exists."""
    with open(marker, 'a') as f:
        f.write('%d\\n' % os.getpid())
    deadline = time.time() + limit
    while not os.path.exists(gate) and time.time() < deadline:
        time.sleep(0.05)
    return 'released'


@huey.task(retries=2)
def flaky(counter):
    """Fails on the first two attempts (counted in storage), then succeeds."""
    if huey.storage.incr(counter) < 3:
        raise Exception('failing!')
    return 'OK'


@huey.task()
def kill_own_process():
    os.kill(os.getpid(), signal.SIGKILL)


@huey.periodic_task(crontab(minute='*'))
def every_minute():
    minute = datetime.datetime.now().strftime('%Y%m%d%H%M')
    huey.storage.incr('periodic-runs')
    huey.storage.incr('periodic-minute:' + minute)

{extra}
'''


def consumer_script() -> Path:
    """The ``huey_consumer.py`` script installed next to this Python."""
    script = Path(sys.executable).parent / 'huey_consumer.py'
    if not script.exists():
        pytest.fail(f'{script} not found: install huey-consumer in this environment')
    return script


class App:
    """A generated application module: import it here, run consumers on it."""

    def __init__(
        self, directory: Path, backend: str, constructor: str, import_line: str, extra: str = ''
    ) -> None:
        self.directory = directory
        self.backend = backend
        self.module_name = 'itest_app_' + uuid.uuid4().hex[:10]
        (directory / f'{self.module_name}.py').write_text(
            APP_TEMPLATE.format(import_line=import_line, constructor=constructor, extra=extra)
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
    def path(self) -> str:
        return f'{self.module_name}.huey'

    def close(self) -> None:
        if self._module is not None:
            try:
                self._module.huey.flush()
            finally:
                self._module.huey.storage.close()
            sys.modules.pop(self.module_name, None)
        if str(self.directory) in sys.path:
            sys.path.remove(str(self.directory))


class ConsumerProcess:
    """The console script running in a subprocess, logging to a file."""

    def __init__(self, app: App, args: list[str], name: str = 'consumer') -> None:
        self.app = app
        self.log_path = app.directory / f'{name}-{uuid.uuid4().hex[:6]}.log'
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join(
            filter(None, [str(app.directory), env.get('PYTHONPATH')])
        )
        self._log = open(self.log_path, 'wb')
        self.command = [str(consumer_script()), app.path, *args]
        # its own session: killpg() reaches the consumer and every worker it forked
        self.process = subprocess.Popen(
            self.command,
            cwd=app.directory,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        if not self._log.closed:
            self._log.flush()
        return self.log_path.read_text(errors='replace')

    def wait_for_log(self, text: str, timeout: float = 20.0, count: int = 1) -> str:
        """Wait until ``text`` appears ``count`` times in the log."""
        deadline = time.monotonic() + timeout
        while True:
            log = self.log()
            if log.count(text) >= count:
                return log
            if self.process.poll() is not None:
                pytest.fail(
                    f'consumer exited ({self.process.returncode}) before logging {text!r}:\n{log}'
                )
            if time.monotonic() > deadline:
                pytest.fail(f'{text!r} not logged within {timeout}s:\n{log}')
            time.sleep(0.05)

    def wait_started(self, timeout: float = 20.0) -> None:
        self.wait_for_log('consumer started', timeout)

    def send(self, signum: int) -> None:
        self.process.send_signal(signum)

    def wait(self, timeout: float = 30.0) -> int:
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            pytest.fail(f'consumer still running {timeout}s later:\n{self.log()}')

    def worker_pids(self) -> list[int]:
        """Pids of the worker processes the consumer forked (``-k process``)."""
        return child_pids(self.process.pid)

    def freeze(self) -> None:
        """SIGSTOP the consumer and its worker processes: what they hold stays put."""
        os.killpg(self.process.pid, signal.SIGSTOP)

    def thaw(self) -> None:
        os.killpg(self.process.pid, signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL the consumer and every worker process it forked (a crash)."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            pass
        if not self._log.closed:
            self._log.close()


def child_pids(pid: int) -> list[int]:
    """Direct children of ``pid`` (Linux /proc)."""
    children = []
    for entry in Path('/proc').iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / 'stat').read_text()
        except OSError:
            continue
        fields = stat.rsplit(')', 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(pid) and fields[0] != 'Z':
            children.append(int(entry.name))
    return children


def wait_until(condition, timeout: float = 20.0, message: str = '', interval: float = 0.05):
    """Poll ``condition`` until truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f'timed out after {timeout}s waiting for {message or condition}')
        time.sleep(interval)


def make_app_factory(tmp_path: Path, backend: str):
    """Return ``build(extra='', **huey_options) -> App`` for ``backend``."""
    apps: list[App] = []
    schemas: list[str] = []
    databases: list[str] = []
    if backend in ('redis', 'postgres', 'mysql'):
        require_service(backend)

    def build(extra: str = '', **options) -> App:
        opts = ''.join(f', {key}={value!r}' for key, value in options.items())
        directory = tmp_path
        if backend == 'sqlite':
            db = tmp_path / f'huey-{uuid.uuid4().hex[:6]}.db'
            constructor = f"SqliteHuey('itest', filename={str(db)!r}{opts})"
            import_line = 'from huey import SqliteHuey'
        elif backend == 'redis':
            name = 'itest-' + uuid.uuid4().hex[:8]
            constructor = f'RedisHuey({name!r}, db={REDIS_DB}{opts})'
            import_line = 'from huey import RedisHuey'
        elif backend == 'postgres':
            schema = 'huey_t_' + uuid.uuid4().hex[:12]
            _postgres_admin(f'CREATE SCHEMA {schema}')
            schemas.append(schema)
            url = f'postgresql://postgres@127.0.0.1:5432/test?options=-csearch_path%3D{schema}'
            constructor = f"SqlHuey('itest', database={url!r}{opts})"
            import_line = 'from huey import SqlHuey'
        elif backend == 'mysql':
            database = 'huey_t_' + uuid.uuid4().hex[:12]
            _mysql_admin(f'CREATE DATABASE {database}')
            databases.append(database)
            url = f'mysql://root@127.0.0.1:3306/{database}'
            constructor = f"SqlHuey('itest', database={url!r}{opts})"
            import_line = 'from huey import SqlHuey'
        else:
            raise ValueError(backend)
        app = App(directory, backend, constructor, import_line, extra)
        apps.append(app)
        return app

    build.apps = apps
    build.schemas = schemas
    build.databases = databases
    return build


def _mysql_admin(sql: str) -> None:
    import pymysql

    connection = pymysql.connect(host='127.0.0.1', port=3306, user='root', autocommit=True)
    try:
        with connection.cursor() as cursor:
            cursor.execute(sql)
    finally:
        connection.close()


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


@pytest.fixture(params=['sqlite', pytest.param('redis', marks=pytest.mark.redis)])
def backend(request):
    return request.param


def built_apps(tmp_path, backend: str):
    """Fixture body: a ``make_app_factory`` for ``backend``; afterwards every
    app it built is closed and its schema or database dropped."""
    build = make_app_factory(tmp_path, backend)
    yield build
    # each app flushes its own (uniquely named) keys: never the whole db, so
    # integration runs going on at the same time are left alone
    for app in build.apps:
        app.close()
    for schema in build.schemas:
        _postgres_admin(f'DROP SCHEMA {schema} CASCADE')
    for database in build.databases:
        _mysql_admin(f'DROP DATABASE {database}')


@pytest.fixture
def make_app(tmp_path, backend):
    yield from built_apps(tmp_path, backend)


@pytest.fixture
def start_consumer(request):
    """``start_consumer(app, *args)`` -> started ConsumerProcess; always killed afterwards,
    and its log printed (shown by pytest when the test fails)."""
    processes: list[ConsumerProcess] = []

    def start(app: App, *args: str, wait: bool = True, name: str = 'consumer') -> ConsumerProcess:
        process = ConsumerProcess(app, list(args), name)
        processes.append(process)
        if wait:
            process.wait_started()
        return process

    yield start
    for process in processes:
        process.kill()
        print(f'---- {" ".join(process.command)} (exit {process.process.returncode})')
        print(process.log())


#: Fast polling for non-blocking storages, used by every consumer in these tests.
FAST = ['-d', '0.02', '-m', '0.2']
