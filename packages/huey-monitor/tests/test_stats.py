"""huey.contrib.stats (``huey_monitor.stats``): signals recorded by the monitor's
recorder into huey's peewee tables on SQLite, PostgreSQL and MariaDB, and the
questions asked of them."""

from __future__ import annotations

import itertools
import logging
import os
import subprocess
import sys
import time
import uuid

import huey_monitor
import peewee
import pytest
from huey import ConfigurationError, MemoryHuey, RetryTask
from huey import signals as S
from huey.contrib.stats import (
    HueyEvent,
    HueyInflight,
    HueyStats,
    dashboard_context,
    database,
    enable_stats,
    known_tasks,
    live_counts,
    run_action,
)
from huey_storage.testing.services import require_service

_names = itertools.count()


@pytest.fixture
def huey():
    """A MemoryHuey with its own name, flushed afterwards."""
    instance = MemoryHuey(f'stats-test-{next(_names)}')
    yield instance
    instance.flush()


@pytest.fixture
def run_all():
    """``run_all(huey)``: run every queued task in this process, as a consumer would."""

    def run(huey):
        while True:
            huey.enqueue_due(time.time())
            delivery = huey.reserve()
            if delivery is None:
                return
            huey.execute_delivery(delivery)

    return run


@pytest.fixture(
    params=[
        'sqlite',
        pytest.param('postgres', marks=pytest.mark.postgres),
        pytest.param('mysql', marks=pytest.mark.mysql),
    ]
)
def stats_db(request, tmp_path):
    """A fresh stats database (SQLite file, PostgreSQL schema or MariaDB database);
    the stats models point at it for this test."""
    if request.param == 'sqlite':
        db, drop = peewee.SqliteDatabase(str(tmp_path / 'stats.db')), None
    else:
        db, drop = _server_database(request.param)
    database.initialize(db)
    yield db
    db.close()
    if drop is not None:
        drop()


def _server_database(kind):
    """A throwaway ``huey_t_<random>`` schema (PostgreSQL) or database (MariaDB)."""
    name = 'huey_t_' + uuid.uuid4().hex[:12]
    if kind == 'postgres':
        pytest.importorskip('psycopg2')
        host, port = require_service('postgres')
        server = {'host': host, 'port': port, 'user': 'postgres'}
        admin = peewee.PostgresqlDatabase('test', **server)
        admin.execute_sql(f'CREATE SCHEMA {name}')
        db = peewee.PostgresqlDatabase('test', options=f'-c search_path={name}', **server)
        drop_sql = f'DROP SCHEMA {name} CASCADE'
    else:
        pytest.importorskip('pymysql')
        host, port = require_service('mysql')
        server = {'host': host, 'port': port, 'user': 'root', 'password': ''}
        admin = peewee.MySQLDatabase('test', **server)
        admin.execute_sql(f'CREATE DATABASE {name}')
        db = peewee.MySQLDatabase(name, **server)
        drop_sql = f'DROP DATABASE {name}'

    def drop():
        admin.execute_sql(drop_sql)
        admin.close()

    return db, drop


@pytest.fixture
def make_stats(stats_db):
    """``make_stats(huey, **options)``: a connected recorder, closed after the test."""
    made = []

    def make(huey, **options):
        options.setdefault('flush_interval', 60)  # only close() or a hook writes
        stats = HueyStats(huey, stats_db, **options)
        stats.connect()
        made.append(stats)
        return stats

    yield make
    for stats in made:
        stats.close()


def signals_of(task_id):
    query = HueyEvent.select().where(HueyEvent.task_id == task_id).order_by(HueyEvent.id)
    return [event.signal for event in query]


def test_a_task_run_is_recorded_with_its_duration(huey, make_stats, run_all):
    stats = make_stats(huey)

    @huey.task()
    def add(a, b):
        time.sleep(0.01)
        return a + b

    result = add(1, 2)
    run_all(huey)
    stats.close()
    assert result() == 3
    assert signals_of(result.id) == [S.SIGNAL_ENQUEUED, S.SIGNAL_EXECUTING, S.SIGNAL_COMPLETE]
    complete = HueyEvent.get(HueyEvent.signal == S.SIGNAL_COMPLETE)
    assert complete.task == add.name and complete.queue == huey.name
    assert complete.duration >= 0.01
    assert HueyInflight.select().count() == 0
    [row] = stats.task_breakdown()
    assert row['full'] == add.name and row['task'] == 'add'
    assert (row['executed'], row['completed'], row['errors'], row['retries']) == (1, 1, 0, 0)
    assert row['avg'] >= 0.01
    assert stats.overview() == {
        'completed': 1,
        'errors': 0,
        'retries': 0,
        'error_rate': 0,
        'inflight': 0,
    }
    assert stats.throughput(5) == {'complete': [0, 0, 0, 0, 1], 'error': [0] * 5}


def test_an_error_then_retry_counts_the_attempt_once(huey, make_stats, run_all):
    stats = make_stats(huey)

    @huey.task(retries=1)
    def flaky():
        raise ValueError('kapow')

    result = flaky()
    run_all(huey)
    stats.close()
    attempts = [signal for signal in signals_of(result.id) if signal != S.SIGNAL_ENQUEUED]
    assert attempts == [
        S.SIGNAL_EXECUTING,
        S.SIGNAL_ERROR,
        S.SIGNAL_RETRYING,
        S.SIGNAL_EXECUTING,
        S.SIGNAL_ERROR,
    ]
    errors = HueyEvent.select().where(HueyEvent.signal == S.SIGNAL_ERROR)
    assert all(e.duration is not None and 'kapow' in e.error for e in errors)
    assert HueyEvent.get(HueyEvent.signal == S.SIGNAL_RETRYING).duration is None
    overview = stats.overview()
    assert (overview['errors'], overview['retries'], overview['error_rate']) == (2, 1, 1.0)
    assert stats.search_events(q='kapow')[0] == 2


def test_an_attempt_ended_by_retry_task_has_its_duration(huey, make_stats, run_all):
    # RetryTask sends no ERROR: RETRYING ends the attempt itself (as TIMEOUT does).
    stats = make_stats(huey)

    runs = []

    @huey.task()
    def again():
        runs.append(1)
        time.sleep(0.01)
        if len(runs) == 1:
            raise RetryTask()

    again()
    run_all(huey)
    stats.close()
    retrying = HueyEvent.get(HueyEvent.signal == S.SIGNAL_RETRYING)
    assert retrying.duration >= 0.01
    assert HueyInflight.select().count() == 0
    assert stats._running == {}


def test_the_monitor_and_the_stats_tables_record_side_by_side(huey, make_stats, run_all):
    # One huey, both recorders: the storage-backed monitor (CLI, dashboard)
    # and huey's tables, each with its own hooks.
    monitor = huey_monitor.enable(huey, flush_interval=60)
    try:
        stats = make_stats(huey)

        @huey.task()
        def job():
            return 1

        result = job()
        run_all(huey)
        huey.run_shutdown_hooks()  # both write what they buffered
        assert signals_of(result.id) == [S.SIGNAL_ENQUEUED, S.SIGNAL_EXECUTING, S.SIGNAL_COMPLETE]
        assert [e.signal for e in monitor.events() if e.task_id == result.id] == [
            S.SIGNAL_COMPLETE,
            S.SIGNAL_EXECUTING,
            S.SIGNAL_ENQUEUED,
        ]
        stats.close()
        assert monitor.recording  # closing the stats leaves the monitor alone
    finally:
        huey_monitor.disable(huey)


def test_a_running_task_is_inflight_until_it_ends(huey, stats_db, run_all):
    # The writer thread stores EXECUTING while the task is still running.
    stats = HueyStats(huey, stats_db, flush_interval=0.01)
    stats.connect()
    try:

        @huey.task()
        def watch_myself():
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                running = stats.inflight()
                if running:
                    return running
                time.sleep(0.01)
            raise AssertionError('never saw itself in flight')

        result = watch_myself()
        run_all(huey)
        [running] = result()
        assert running['id'] == result.id and running['task'] == 'watch_myself'
        assert running['elapsed'] >= 0
    finally:
        stats.close()
    assert stats.inflight() == []


def test_search_filters_combine_page_and_match_text_literally(huey, make_stats, run_all):
    stats = make_stats(huey)

    @huey.task()
    def percent(n):
        raise ValueError(f'failed at {n}% cpu')

    @huey.task()
    def ok():
        return 1

    percent(100)
    ok()
    run_all(huey)
    stats.close()
    total, rows = stats.search_events()
    assert total == 6 and len(rows) == 6
    assert rows == sorted(rows, key=lambda row: row['ts'], reverse=True)
    assert stats.search_events(q='100%')[0] == 1
    assert stats.search_events(q='0_')[0] == 0  # '_' is not a wildcard
    assert stats.search_events(q='PERCENT')[0] == 3  # any case
    assert stats.search_events(signal=S.SIGNAL_EXECUTING, q='ok')[0] == 1
    assert stats.search_events(task=ok.name)[0] == 3
    first, second = stats.search_events(limit=4), stats.search_events(limit=4, offset=4)
    assert (len(first[1]), len(second[1])) == (4, 2)
    assert stats.event_signals() == sorted(
        [S.SIGNAL_COMPLETE, S.SIGNAL_ENQUEUED, S.SIGNAL_ERROR, S.SIGNAL_EXECUTING]
    )
    assert stats.event_tasks() == sorted([ok.name, percent.name])


def test_queues_sharing_a_database_see_only_their_own_events(stats_db, make_stats, run_all):
    first, second = MemoryHuey('stats-first'), MemoryHuey('stats-second')
    first_stats, second_stats = make_stats(first), make_stats(second)

    @first.task()
    def job():
        return 1

    job()
    run_all(first)
    first_stats.close()
    assert first_stats.search_events()[0] == 3
    assert second_stats.search_events() == (0, [])
    assert second_stats.task_breakdown() == []


def test_old_events_are_pruned_per_queue(huey, make_stats, run_all):
    stats = make_stats(huey, max_events=4)
    other = MemoryHuey('stats-other')
    HueyEvent.insert_many(
        [
            {
                'ts': time.time(),
                'queue': other.name,
                'task_id': str(i),
                'task': 'x.y',
                'signal': 's',
            }
            for i in range(10)
        ]
    ).execute()

    @huey.task()
    def job():
        return 1

    results = [job() for _ in range(3)]
    run_all(huey)
    stats.close()  # the first write also prunes
    kept = HueyEvent.select().where(HueyEvent.queue == huey.name).order_by(HueyEvent.id)
    assert [(e.task_id, e.signal) for e in kept][-1] == (results[-1].id, S.SIGNAL_COMPLETE)
    assert kept.count() == 4
    assert HueyEvent.select().where(HueyEvent.queue == other.name).count() == 10


def test_the_shutdown_hook_writes_what_is_buffered(huey, make_stats):
    make_stats(huey)

    @huey.task()
    def job():
        return 1

    job()
    assert HueyEvent.select().count() == 0  # buffered, the writer waits 60 s
    huey.run_shutdown_hooks()
    assert signals_of(HueyEvent.get().task_id) == [S.SIGNAL_ENQUEUED]


def test_a_broken_database_is_logged_and_tasks_still_run(huey, make_stats, run_all, caplog):
    stats = make_stats(huey)
    HueyEvent.drop_table()

    @huey.task()
    def job():
        return 'done'

    result = job()
    run_all(huey)
    with caplog.at_level(logging.ERROR, logger='huey.stats'):
        stats.close()
    assert result() == 'done'
    assert any('could not write 3 events' in r.getMessage() for r in caplog.records)


def test_a_closed_recorder_records_nothing_more(huey, make_stats, run_all):
    stats = make_stats(huey)
    stats.close()

    @huey.task()
    def job():
        return 1

    job()
    run_all(huey)
    stats._flush()
    assert HueyEvent.select().count() == 0


def test_database_errors_name_the_value_and_the_fix(huey, stats_db, tmp_path):
    with pytest.raises(TypeError, match=r"got 'stats\.db': pass e\.g\. peewee\.SqliteDatabase"):
        HueyStats(huey, 'stats.db')
    with pytest.raises(TypeError, match='peewee Database'):
        HueyStats(huey, peewee.DatabaseProxy())

    class Wrapper:  # what flask-peewee style integrations hand out
        database = stats_db

    assert HueyStats(huey, Wrapper()).db is stats_db
    other = peewee.SqliteDatabase(str(tmp_path / 'other.db'))
    with pytest.raises(ConfigurationError, match='one stats database per process'):
        HueyStats(huey, other)


def test_missing_peewee_fails_with_one_line_naming_the_install():
    code = (
        'import sys\n'
        "sys.modules['peewee'] = None\n"
        'try:\n'
        '    import huey.contrib.stats\n'
        'except ImportError as exc:\n'
        '    print(exc)\n'
    )
    output = subprocess.run(
        [sys.executable, '-c', code], capture_output=True, text=True, timeout=60, check=True
    ).stdout
    assert output.strip().splitlines() == [
        "huey.contrib.stats needs peewee: pip install peewee (or pip install 'huey-monitor[stats]')"
    ]


def test_enable_stats_and_the_dashboard(huey, stats_db, run_all):
    stats = enable_stats(huey, stats_db, flush_interval=60)
    try:
        assert enable_stats(huey, stats_db) is stats

        @huey.task()
        def seen():
            return 1

        @huey.task()
        def waiting():
            return 2

        seen()
        run_all(huey)
        waiting()
        stats._flush()
        seen.unregister()  # as in a web process that does not import the task
        context = dashboard_context(huey, stats)
        assert context['live'] == live_counts(huey) == {'pending': 1, 'scheduled': 0, 'results': 1}
        assert [row['task'] for row in context['pending']] == ['waiting']
        assert [(row['task'], row['registered']) for row in context['known']] == [
            ('waiting', True),
            ('seen', False),
        ]
        assert context['known'][0]['stats']['executed'] == 0
        assert context['known'][1]['stats']['completed'] == 1

        run_action(huey, 'revoke_task', {'task': waiting.name})
        assert known_tasks(huey) == [{'full': waiting.name, 'task': 'waiting', 'revoked': True}]
        run_action(huey, 'restore_task', {'task': waiting.name})
        assert not known_tasks(huey)[0]['revoked']
        run_action(huey, 'flush_queue', {})
        assert huey.pending_count() == 0
        with pytest.raises(ValueError, match="run_action\\(op='explode'\\): unknown operation"):
            run_action(huey, 'explode', {})
    finally:
        stats.close()


@pytest.mark.skipif(not hasattr(os, 'fork'), reason='needs os.fork')
def test_a_forked_worker_records_through_its_own_writer(huey, stats_db, run_all):
    # Consumer process workers are forks: the child needs its own writer and
    # connection, and must not write the parent's buffered rows a second time.
    stats = HueyStats(huey, stats_db, flush_interval=0.01)
    stats.connect()
    try:

        @huey.task()
        def job():
            return 1

        with stats._flush_lock:  # the parent's writer cannot take its buffered row
            job()
            pid = os.fork()
            if pid == 0:
                code = 1
                try:
                    if not stats._buf and stats._writer.is_alive():
                        run_all(huey)
                        deadline = time.monotonic() + 10
                        while time.monotonic() < deadline and code:
                            done = HueyEvent.select().where(HueyEvent.signal == S.SIGNAL_COMPLETE)
                            code = 0 if done.count() == 1 else 1
                            time.sleep(0.01)
                finally:
                    os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    finally:
        stats.close()
    assert sorted(e.signal for e in HueyEvent.select()) == sorted(
        [S.SIGNAL_COMPLETE, S.SIGNAL_ENQUEUED, S.SIGNAL_EXECUTING]
    )
