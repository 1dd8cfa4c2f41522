"""The 0.x Django API (``huey.djhuey``, ``HUEY_CONFIG``) on a real project in
``djsite/``: ``manage.py run_huey`` and the enqueuing process are real
subprocesses on Redis db 8; config errors are checked in process too."""

from __future__ import annotations

import importlib.util
import logging
import os
import subprocess
import sys
from pathlib import Path

import pytest
from legacy_support import CONNECTION, read_text, wait_for

# find_spec, not import: importing huey_django reads Django's (unconfigured) settings
if importlib.util.find_spec('huey_django') is None:
    pytest.skip('needs huey-legacy[django]', allow_module_level=True)

from huey_legacy.djhuey.settings import HueyConfigError, invoker_from_config  # noqa: E402

SITE = Path(__file__).with_name('djsite')
QUEUE = 'huey.backends.redis_backend.RedisQueue'


def _env(**extra: str) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(SITE), PYTHONWARNINGS='ignore', **extra)


def _run(*args: str, **extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=SITE,
        env=_env(**extra),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def run_huey(tmp_path):
    """``manage.py run_huey`` started with the given flags; stopped (SIGINT) afterwards."""
    started: list[subprocess.Popen] = []

    def start(
        *flags: str, config: str = '{}', watch: Path | None = None
    ) -> tuple[subprocess.Popen, Path]:
        log = tmp_path / 'run_huey.log'
        watched = watch or log
        process = subprocess.Popen(
            [sys.executable, 'manage.py', 'run_huey', *flags],
            cwd=SITE,
            env=_env(HUEY_LEGACY_CONFIG=config),
            stdout=log.open('wb'),
            stderr=subprocess.STDOUT,
        )
        started.append(process)
        wait_for(
            lambda: 'consumer started' in read_text(watched) or process.poll() is not None,
            timeout=30,
            what='run_huey start',
        )
        assert process.poll() is None, read_text(log)
        return process, log

    yield start
    for process in started:
        process.send_signal(subprocess.signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.redis
def test_queue_command_runs_in_run_huey_and_its_result_comes_back(redis_db, run_huey):
    consumer, log = run_huey('-w', '3')
    done = _run('-m', 'beans.count', '7')
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f'AsyncData: Counted 7 beans in process {consumer.pid}'
    text = read_text(log)
    # the queue is named after the default database; -w beats HUEY_CONFIG['THREADS']
    assert "huey 'bean-counter'" in text
    assert '3 thread workers' in text
    assert 'polling delay 0.05s x1.15 up to 0.2s' in text
    assert 'periodic tasks registered but disabled' in text
    assert 'beans.commands.every_five_minutes' in text


@pytest.mark.redis
def test_consumer_settings_come_from_huey_config(redis_db, run_huey, tmp_path):
    logfile = tmp_path / 'huey.log'
    config = {'PERIODIC': True, 'LOGFILE': str(logfile), 'LOGLEVEL': logging.DEBUG}
    run_huey(config=repr(config), watch=logfile)
    text = read_text(logfile)
    assert '2 thread workers, periodic tasks enabled' in text
    assert 'periodic tasks: beans.commands.every_five_minutes' in text
    assert ' DEBUG ' in text  # LOGLEVEL = logging.DEBUG


@pytest.mark.redis
def test_always_eager_runs_in_band(redis_db):
    done = _run('-m', 'beans.count', '4', HUEY_LEGACY_EAGER='1')
    assert done.returncode == 0, done.stderr
    pid, value = done.stdout.strip().removeprefix('eager ').split(': ')
    assert value == f'Counted 4 beans in process {pid}'
    assert redis_db.dbsize() == 0  # nothing was queued


@pytest.mark.parametrize(
    ('bad', 'message'),
    [
        ("{'QUEUES': 1}", "settings.HUEY_CONFIG['QUEUES'] is not a HUEY_CONFIG setting: use"),
        ("{'THREADS': 0}", "settings.HUEY_CONFIG['THREADS']=0: workers=0: must be"),
        ("{'QUEUE': 'huey.nope.Queue'}", "settings.HUEY_CONFIG['QUEUE']='huey.nope.Queue' cannot"),
    ],
)
def test_bad_huey_config_stops_the_project_with_one_line(bad, message):
    done = _run('manage.py', 'check', HUEY_LEGACY_CONFIG=bad)
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith('huey_legacy.djhuey.settings.HueyConfigError: ' + message), last


@pytest.mark.parametrize(
    ('config', 'message'),
    [
        ([QUEUE], r"settings.HUEY_CONFIG=\['huey.*must be a dict such as"),
        ({'THREADS': 2}, r"HUEY_CONFIG\['QUEUE'\] is missing: set it"),
        ({'QUEUE': QUEUE, 'QUEUE_CONNECTION': 'localhost'}, r"CONNECTION'\]='localhost': must"),
        (
            {'QUEUE': QUEUE, 'QUEUE_CONNECTION': {'hots': 'x'}},
            r"refused its \*_CONNECTION .*'hots'.*: pass only",
        ),
        ({'QUEUE': QUEUE, 'LOGLEVEL': 'debug'}, r"\['LOGLEVEL'\]='debug': must be a level"),
        ({'QUEUE': QUEUE, 'MAX_DELAY': -1}, r"\['MAX_DELAY'\]=-1: max_delay"),
        ({'QUEUE': QUEUE, 'ALWAYS_EAGER': 'yes'}, r"\['ALWAYS_EAGER'\]='yes': must be True or"),
    ],
)
def test_invoker_from_config_names_the_bad_key(config, message):
    with pytest.raises(HueyConfigError, match=message) as info:
        invoker_from_config(config)
    assert '\n' not in str(info.value)


@pytest.mark.redis
def test_invoker_from_config_takes_instances_and_names(redis_db):
    from huey.backends.redis_backend import RedisDataStore, RedisQueue

    queue = RedisQueue('beans-queue', **CONNECTION)
    invoker = invoker_from_config(
        {
            'QUEUE': queue,
            'RESULT_STORE': 'huey.backends.redis_backend.RedisDataStore',
            'RESULT_STORE_NAME': 'beans-results',
            'RESULT_STORE_CONNECTION': CONNECTION,
            'PERIODIC': True,
            'LOGLEVEL': logging.DEBUG,
            'ALWAYS_EAGER': True,
        },
        databases={'default': {'NAME': 'ignored'}},
    )
    assert invoker.queue is queue
    assert isinstance(invoker.result_store, RedisDataStore)
    assert invoker.result_store.name == 'beans-results'
    assert invoker.always_eager
    settings = invoker.huey.consumer_settings
    assert settings['periodic'] is True and settings['verbose'] is True
    assert settings['workers'] == 1 and settings['max_delay'] == 10
