"""Facade classes backed by optional distributions: skipped in huey-api's own
env, run (and required) again in the integration env (see ``requires``).

Redis tests use huey-api's db (``REDIS_DB``) and flush it afterwards.
"""

from __future__ import annotations

import datetime
import time
import uuid

import pytest
from conftest import REDIS_DB, requires
from huey_storage.testing.services import require_service


@pytest.fixture
def redis_db():
    requires('huey_storage_redis')
    redis = requires('redis')
    host, port = require_service('redis')
    client = redis.Redis(host=host, port=port, db=REDIS_DB)
    client.flushdb()
    yield {'host': host, 'port': port, 'db': REDIS_DB, 'read_timeout': 0.1}
    client.flushdb()
    client.close()


# -- seed 001: RedisHuey -----------------------------------------------------------


@pytest.mark.redis
def test_index_example_on_redis_huey(redis_db, run_all):
    from huey import RedisHuey, TaskException, crontab

    huey = RedisHuey('my-app', **redis_db)

    @huey.task()
    def add_numbers(a, b):
        return a + b

    @huey.task(retries=2, retry_delay=60)
    def flaky_task(url):
        raise ConnectionError(url)

    @huey.periodic_task(crontab(minute='0', hour='3'))
    def nightly_backup():
        pass

    result = add_numbers(1, 2)
    failing = flaky_task('http://example.com')
    run_all(huey)
    assert result(blocking=True, timeout=5) == 3
    with pytest.raises(TaskException):
        failing()
    assert huey.scheduled_count() == 1
    assert [t.name for t in huey.enqueue_periodic(datetime.datetime(2024, 1, 1, 3, 0))] == [
        nightly_backup.name
    ]


@pytest.mark.redis
def test_priority_redis_huey_runs_high_priority_first(redis_db):
    from huey import PriorityRedisHuey

    huey = PriorityRedisHuey('prio', **redis_db)

    @huey.task()
    def job(n):
        return n

    job(1, priority=1)
    job(9, priority=9)
    job(5, priority=5)
    order = []
    while (delivery := huey.reserve()) is not None:
        order.append(delivery.task.args[0])
        huey.execute_delivery(delivery)
    assert order == [9, 5, 1]


@pytest.mark.redis
@pytest.mark.parametrize('name', ['RedisExpireHuey', 'PriorityRedisExpireHuey'])
def test_expire_variants_store_results(redis_db, run_all, name):
    import huey as facade

    huey = getattr(facade, name)('expire', expire_time=60, **redis_db)

    @huey.task()
    def add(a, b):
        return a + b

    result = add(2, 3)
    run_all(huey)
    assert result() == 5


@pytest.mark.redis
def test_redis_huey_blocking_result_and_dead_letters(redis_db):
    import pickle

    from huey import RedisHuey

    huey = RedisHuey('blocking', **redis_db)

    @huey.task()
    def add(a, b):
        return a + b

    huey.storage.enqueue(
        pickle.dumps(('x', 'gone.task', None, 0, 0.0, None, None, (), {}, None, None))
    )
    result = add(1, 1)
    delivery = huey.reserve()
    assert delivery.task.id == result.id
    huey.execute_delivery(delivery)
    assert result.get(blocking=True, timeout=5) == 2
    [letter] = huey.dead_letters()
    assert "'gone.task'" in letter.reason
    assert huey.purge_dead_letters() == 1


def test_guide_immediate_session_on_redis_huey_needs_no_server():
    requires('huey_storage_redis')
    from huey import RedisHuey

    huey = RedisHuey(port=1)  # nothing listens there: never contacted
    huey.immediate = True

    @huey.task()
    def add(a, b):
        return a + b

    result = add(1, 2)
    assert result() == 3
    add.revoke(revoke_once=True)
    result = add(2, 3)
    assert result() is None
    assert add(3, 4)() == 7
    result = add.schedule((4, 5), delay=60)
    assert result() is None
    [task] = huey.scheduled()
    assert repr(task) == f'{__name__}.add: {result.id} @{task.eta.replace(microsecond=0)}'


# -- seed 002: SqliteHuey ------------------------------------------------------------


def test_guide_demo_on_sqlite_huey(tmp_path, run_all):
    requires('huey_storage_sqlite')
    from huey import SqliteHuey, crontab

    huey = SqliteHuey(filename=str(tmp_path / 'demo.db'))
    assert huey.name == 'huey'

    @huey.task()
    def add(a, b):
        return a + b

    @huey.periodic_task(crontab(minute='*/3'))
    def every_three_minutes():
        print('This task runs every three minutes')

    r = add(1, 2)
    assert r() is None
    run_all(huey)
    assert r() == 3
    r = add.schedule((3, 4), delay=10)
    run_all(huey, now=time.time() + 11)
    assert r(blocking=True, timeout=5) == 7
    eta = datetime.datetime.now() + datetime.timedelta(seconds=10)
    r = add.schedule((4, 5), eta=eta)
    run_all(huey, now=time.time() + 11)
    assert r(blocking=True, timeout=5) == 9
    huey.storage.close()


# -- SqlHuey ----------------------------------------------------------------------


@pytest.mark.postgres
def test_sql_huey_on_postgres(run_all):
    requires('huey_storage_sql')
    psycopg2 = requires('psycopg2')
    host, port = require_service('postgres')
    from huey.contrib.sql_huey import SqlHuey

    schema = f'huey_t_{uuid.uuid4().hex[:10]}'
    admin = psycopg2.connect(host=host, port=port, user='postgres', dbname='test')
    admin.autocommit = True
    admin.cursor().execute(f'CREATE SCHEMA {schema}')
    try:
        huey = SqlHuey(
            'sqlapp',
            database=f'postgresql://postgres@{host}:{port}/test',
            connect_params={'options': f'-c search_path={schema}'},
            read_timeout=0.1,
        )

        @huey.task()
        def add(a, b):
            return a + b

        result = add(20, 22)
        run_all(huey)
        assert result(blocking=True, timeout=5) == 42
        huey.storage.close()
    finally:
        admin.cursor().execute(f'DROP SCHEMA {schema} CASCADE')
        admin.close()


def test_contrib_mini_and_consumer_modules_reexport():
    requires('huey_mini')
    requires('huey_consumer')
    import huey_consumer
    import huey_mini
    from huey.consumer import Consumer
    from huey.contrib.mini import MiniHuey

    assert MiniHuey is huey_mini.MiniHuey and Consumer is huey_consumer.Consumer


def test_star_import_gives_installed_classes():
    namespace = {}
    exec('from huey import *', namespace)
    assert 'MemoryHuey' in namespace and 'crontab' in namespace


def test_create_consumer_builds_huey_consumer(huey):
    requires('huey_consumer')
    from huey.consumer import Consumer

    consumer = huey.create_consumer(workers=2)
    assert isinstance(consumer, Consumer) and consumer.huey is huey


# -- every compatibility module of the facade, one test each -------------------------


def test_module_huey_consumer_gives_consumer_class():
    requires('huey_consumer', reason='huey.consumer needs huey-consumer')
    import huey_consumer
    from huey.consumer import Consumer

    assert Consumer is huey_consumer.Consumer


def test_module_huey_contrib_mini_runs_a_task():
    requires('huey_mini', reason='huey.contrib.mini needs huey-mini')
    from huey.contrib.mini import MiniHuey

    mini = MiniHuey('facade-mini')

    @mini.task()
    def double(x):
        return x * 2

    mini.start()
    try:
        assert double(21).get() == 42
    finally:
        mini.stop()


def test_module_huey_contrib_sql_huey_reexports():
    requires('huey_storage_sql', reason='huey.contrib.sql_huey needs huey-storage-sql')
    import huey_storage_sql
    from huey.contrib.sql_huey import SqlHuey, SqlStorage

    assert SqlStorage is huey_storage_sql.SqlStorage
    assert SqlHuey.storage_class is SqlStorage


def test_module_huey_storage_gives_core_and_optional_storages():
    from huey.storage import BaseStorage, BlackHoleStorage, MemoryStorage
    from huey_storage import MemoryStorage as Original

    assert MemoryStorage is Original and issubclass(BlackHoleStorage, BaseStorage)
    requires('huey_storage_redis', reason='RedisStorage needs huey-storage-redis')
    from huey.storage import RedisStorage

    assert issubclass(RedisStorage, BaseStorage)


def test_module_huey_api_exceptions_signals_constants():
    import huey
    from huey.api import Huey, MemoryHuey, ResultGroup
    from huey.constants import EmptyData
    from huey.exceptions import RetryTask, TaskException
    from huey.signals import SIGNAL_COMPLETE

    assert huey.Huey is Huey and issubclass(MemoryHuey, Huey)
    assert huey.ResultGroup is ResultGroup and huey.TaskException is TaskException
    assert issubclass(RetryTask, Exception) and isinstance(SIGNAL_COMPLETE, str)
    assert EmptyData is not None


def test_module_huey_serializer_and_utils_round_trip():
    from huey.serializer import SignedSerializer
    from huey.utils import to_datetime, to_timestamp

    serializer = SignedSerializer(b'key')
    assert serializer.deserialize(serializer.serialize({'a': 1})) == {'a': 1}
    assert to_timestamp(to_datetime(1_700_000_000.0)) == pytest.approx(1_700_000_000.0)


def test_python_dash_m_huey_bin_huey_consumer_prints_help():
    requires('huey_consumer', reason='huey.bin.huey_consumer needs huey-consumer')
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, '-m', 'huey.bin.huey_consumer', '--help'],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert 'usage' in done.stdout.lower()
