"""Seed 003 (the 0.x API) as written, against Redis db 8 and the real consumer."""

from __future__ import annotations

import datetime
import textwrap

import pytest
from legacy_support import CONNECTION, schedule_queued, wait_for

pytestmark = pytest.mark.redis

CONFIG = f"""
from huey.backends.redis_backend import RedisBlockingQueue, RedisDataStore
from huey.bin.config import BaseConfiguration
from huey.queue import Invoker

queue = RedisBlockingQueue('test-queue', **{CONNECTION!r})
result_store = RedisDataStore('results', **{CONNECTION!r})

# Create an invoker instance, which points at the queue and result store
# which are used by the application's Configuration object
invoker = Invoker(queue, result_store=result_store)


class Configuration(BaseConfiguration):
    QUEUE = queue
    RESULT_STORE = result_store
    PERIODIC = True
    THREADS = 2
"""

COMMANDS = """
import time

from config import invoker
from huey.decorators import crontab, periodic_command, queue_command


@queue_command(invoker)
def count_some_beans(num):
    # do some counting!
    return 'Counted %s beans' % num


@queue_command(invoker)
def slow_beans(num, seconds):
    time.sleep(seconds)
    return 'Counted %s beans' % num


@periodic_command(invoker, crontab(minute='*/5'))
def every_five_minutes():
    # this function gets executed every 5 minutes by the consumer
    print("It's been five minutes")
    return 'five'
"""

MAIN = """
from config import Configuration  # noqa: F401
from commands import count_some_beans, every_five_minutes, slow_beans  # noqa: F401
"""


@pytest.fixture
def app(redis_db, app_dir):
    return app_dir({'config': CONFIG, 'commands': COMMANDS, 'main': MAIN})


def test_queue_command_with_a_result_store_runs_on_the_consumer(app, run_consumer):
    from huey.queue import AsyncData
    from main import count_some_beans

    consumer = run_consumer('main.Configuration', app)
    res = count_some_beans(1000000)
    assert isinstance(res, AsyncData)
    assert res.get(blocking=True, timeout=10) == 'Counted 1000000 beans'
    assert 'consumer started: 2 thread workers' in consumer.output()
    assert 'periodic tasks enabled' in consumer.output()


def test_async_data_get_returns_none_then_times_out_then_blocks(app, run_consumer):
    from huey.exceptions import DataStoreTimeout
    from main import count_some_beans

    res = count_some_beans(10000000)  # no consumer yet: data is not ready
    assert res.get() is None
    with pytest.raises(DataStoreTimeout):
        res.get(blocking=True, timeout=0.3)
    run_consumer('main.Configuration', app)
    assert res.get(blocking=True) == 'Counted 10000000 beans'


def test_without_a_result_store_calls_return_none(redis_db, app_dir):
    app_dir(
        {
            'noresults': textwrap.dedent(f"""
                from huey.backends.redis_backend import RedisBlockingQueue
                from huey.decorators import queue_command
                from huey.queue import Invoker

                queue = RedisBlockingQueue('no-results', **{CONNECTION!r})
                invoker = Invoker(queue)

                @queue_command(invoker)
                def count_some_beans(num):
                    return 'Counted %s beans' % num
            """)
        }
    )
    from noresults import count_some_beans, queue

    assert count_some_beans(1000000) is None
    assert len(queue) == 1


def test_schedule_runs_the_command_at_its_eta(app, run_consumer):
    from main import count_some_beans

    in_an_hour = datetime.datetime.now() + datetime.timedelta(seconds=3600)
    later = count_some_beans.schedule(args=(100000,), eta=in_an_hour)
    soon = count_some_beans.schedule(
        args=(5,), eta=datetime.datetime.now() + datetime.timedelta(seconds=1)
    )
    run_consumer('main.Configuration', app)
    assert soon.get(blocking=True, timeout=10) == 'Counted 5 beans'
    assert later.get() is None
    huey = count_some_beans.huey
    assert [task.id for task in huey.scheduled()] == [later.task_id]


def test_schedule_convert_utc_false_takes_a_utc_eta(app):
    from main import count_some_beans

    utc_now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    count_some_beans.schedule(
        args=(1,), eta=utc_now + datetime.timedelta(hours=1), convert_utc=False
    )
    schedule_queued(count_some_beans.huey, 1)
    (task,) = count_some_beans.huey.scheduled()
    expected = (utc_now + datetime.timedelta(hours=1)).replace(tzinfo=datetime.timezone.utc)
    assert abs(task.eta_ts - expected.timestamp()) < 1


def test_periodic_command_runs_inline_and_is_enqueued_by_the_minute(app):
    from main import every_five_minutes

    assert every_five_minutes() == 'five'  # a call executes normally
    huey = every_five_minutes.huey
    assert huey.pending_count() == 0
    assert every_five_minutes.wrapper in huey.periodic_tasks()
    assert huey.enqueue_periodic(datetime.datetime(2024, 1, 1, 3, 10))
    assert not huey.enqueue_periodic(datetime.datetime(2024, 1, 1, 3, 11))


def test_always_eager_executes_immediately(redis_db):
    from huey.backends.redis_backend import RedisBlockingQueue
    from huey.decorators import queue_command
    from huey.queue import Invoker

    invoker = Invoker(RedisBlockingQueue('eager', **CONNECTION), always_eager=True)

    @queue_command(invoker)
    def double(n):
        return n * 2

    assert double(21) == 42
    assert len(invoker.queue) == 0


SHORT_LEASE = """

class ShortLease(Configuration):
    @classmethod
    def huey_consumer_configuration(cls):
        huey = super().huey_consumer_configuration()
        huey.lease_timeout = 1  # a killed consumer's message comes back after 1 s
        return huey
"""


def test_a_killed_consumer_loses_no_command(redis_db, app_dir, run_consumer):
    app = app_dir({'config': CONFIG, 'commands': COMMANDS, 'main': MAIN + SHORT_LEASE})
    from main import slow_beans

    consumer = run_consumer('main.ShortLease', app)
    res = slow_beans(7, 3)
    wait_for(lambda: 'executing commands.slow_beans' in consumer.output(), what='task started')
    consumer.process.kill()
    consumer.process.wait()
    run_consumer('main.ShortLease', app)
    assert res.get(blocking=True, timeout=20) == 'Counted 7 beans'


def test_configuration_defaults_match_the_seed():
    import logging

    from huey.bin.config import BaseConfiguration

    assert BaseConfiguration.RESULT_STORE is None and BaseConfiguration.TASK_STORE is None
    assert BaseConfiguration.PERIODIC is False and BaseConfiguration.THREADS == 1
    assert BaseConfiguration.LOGFILE is None and BaseConfiguration.LOGLEVEL == logging.INFO
    assert (BaseConfiguration.BACKOFF, BaseConfiguration.INITIAL_DELAY) == (1.15, 0.1)
    assert BaseConfiguration.MAX_DELAY == 10 and BaseConfiguration.UTC is True


def test_configuration_settings_reach_the_consumer(redis_db, app_dir, run_consumer, tmp_path):
    logfile = tmp_path / 'huey.log'
    app = app_dir(
        {
            'settings_app': textwrap.dedent(f"""
                import logging
                from huey.backends.redis_backend import RedisQueue
                from huey.bin.config import BaseConfiguration

                class Configuration(BaseConfiguration):
                    QUEUE = RedisQueue('polled', **{CONNECTION!r})
                    THREADS = 3
                    LOGFILE = {str(logfile)!r}
                    LOGLEVEL = logging.DEBUG
                    INITIAL_DELAY = 0.05
                    MAX_DELAY = 2
            """)
        }
    )
    run_consumer('settings_app.Configuration', app, log=logfile)
    text = logfile.read_text()
    assert '3 thread workers, periodic tasks disabled' in text
    assert 'polling delay 0.05s x1.15 up to 2s' in text
    assert 'DEBUG' in text and 'Worker-1 starting' in text  # LOGLEVEL


def test_a_configuration_without_queue_fails_with_one_line(app_dir):
    import subprocess
    import sys
    from pathlib import Path

    app = app_dir(
        {
            'empty_app': (
                'from huey.bin.config import BaseConfiguration\n'
                'class Configuration(BaseConfiguration):\n    pass\n'
            )
        }
    )
    script = Path(sys.executable).with_name('huey_consumer.py')
    done = subprocess.run(
        [str(script), 'empty_app.Configuration'], cwd=app, capture_output=True, text=True
    )
    assert done.returncode == 2
    assert 'Configuration.QUEUE is None' in done.stderr


def test_periodic_true_makes_the_consumer_run_periodic_commands(app):
    import importlib
    import threading

    from huey_consumer import Consumer
    from huey_consumer.loading import load_configuration

    main = importlib.import_module('main')
    huey = load_configuration(main.Configuration)
    settings = dict(huey.consumer_settings)
    assert settings.pop('logfile') is None and settings.pop('verbose') is None  # LOGLEVEL INFO
    consumer = Consumer(huey, **settings)
    assert consumer.periodic and consumer.workers == 2
    ran = []
    huey.signal('complete')(lambda signal, task: ran.append(task.name))
    thread = threading.Thread(target=consumer.run, daemon=True)
    thread.start()
    try:
        assert consumer.ready.wait(10)
        # a scheduler tick at 03:05 UTC (UTC = True: commands match UTC time)
        five_past = datetime.datetime(2030, 1, 1, 3, 5, tzinfo=datetime.timezone.utc)
        consumer._scheduler.tick(five_past.timestamp())
        wait_for(lambda: 'commands.every_five_minutes' in ran, what='periodic command ran')
    finally:
        consumer.stop()
        thread.join(10)
