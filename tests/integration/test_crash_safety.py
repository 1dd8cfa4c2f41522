"""Crash safety of at-least-once delivery with the real consumer script:
SIGKILL the consumer (or one worker process) while 500 tasks run, start again,
and check every task ran at least once; poison messages end in the dead
letters while the consumer keeps running."""
from __future__ import annotations

import os
import signal
import sqlite3

import pytest
from conftest import FAST, wait_until

TASKS = 500

RECORDER = '''
import sqlite3

RECORD_DB = {record_db!r}


@huey.task()
def record(n):
    """Durably note that task ``n`` ran (outside huey's storage)."""
    time.sleep(0.005)
    connection = sqlite3.connect(RECORD_DB, timeout=60)
    try:
        with connection:
            connection.execute('INSERT INTO runs (n, pid) VALUES (?, ?)', (n, os.getpid()))
    finally:
        connection.close()
'''


class Recorder:
    """The sqlite file where tasks record their runs."""

    def __init__(self, path) -> None:
        self.path = str(path)
        with sqlite3.connect(self.path) as connection:
            connection.execute('PRAGMA journal_mode=WAL')
            connection.execute('CREATE TABLE runs (n INTEGER, pid INTEGER)')

    def _query(self, sql: str):
        connection = sqlite3.connect(self.path, timeout=60)
        try:
            return connection.execute(sql).fetchall()
        finally:
            connection.close()

    def total(self) -> int:
        return self._query('SELECT COUNT(*) FROM runs')[0][0]

    def distinct(self) -> set[int]:
        return {row[0] for row in self._query('SELECT DISTINCT n FROM runs')}

    def duplicates(self) -> int:
        return self.total() - len(self.distinct())


@pytest.fixture(params=['sqlite', pytest.param('redis', marks=pytest.mark.redis),
                        pytest.param('postgres', marks=pytest.mark.postgres)])
def backend(request):
    """Crash safety also runs on PostgreSQL (huey-storage-sql)."""
    return request.param


@pytest.fixture
def recorder(tmp_path):
    return Recorder(tmp_path / 'runs.db')


def _app_with_recorder(make_app, recorder, **options):
    app = make_app(RECORDER.format(record_db=recorder.path), lease_timeout=2, **options)
    app.module.record.map(range(TASKS))
    assert app.huey.pending_count() == TASKS
    return app


def _all_ran(app, recorder, timeout: float = 120.0) -> None:
    wait_until(lambda: recorder.distinct() == set(range(TASKS)), timeout,
               f'all {TASKS} tasks to run', interval=0.2)
    wait_until(lambda: app.huey.pending_count() == 0 and app.huey.storage.leased_count() == 0,
               30, 'queue and leases to drain', interval=0.2)


@pytest.mark.slow
@pytest.mark.parametrize('worker_type', ['thread', 'process'])
def test_sigkilled_consumer_loses_nothing(make_app, start_consumer, recorder, worker_type,
                                          backend):
    app = _app_with_recorder(make_app, recorder)
    first = start_consumer(app, '-k', worker_type, '-w', '4', '-n', *FAST, name='first')
    wait_until(lambda: recorder.total() >= TASKS // 4, 60, 'a quarter of the tasks')
    first.kill()
    ran_before_crash = recorder.total()
    in_flight = app.huey.storage.leased_count()
    start_consumer(app, '-k', worker_type, '-w', '4', '-n', *FAST, name='second')
    _all_ran(app, recorder)
    print(f'\n[{backend}/{worker_type}] killed after {ran_before_crash} runs with '
          f'{in_flight} leases held; {recorder.duplicates()} of {TASKS} tasks ran twice')
    assert recorder.duplicates() <= in_flight


@pytest.mark.slow
def test_sigkilled_worker_process_is_replaced_and_loses_nothing(make_app, start_consumer,
                                                                recorder, backend):
    app = _app_with_recorder(make_app, recorder)
    consumer = start_consumer(app, '-k', 'process', '-w', '4', '-c', '0.5', '-n', *FAST)
    wait_until(lambda: recorder.total() >= TASKS // 4, 60, 'a quarter of the tasks')
    victim = consumer.worker_pids()[0]
    os.kill(victim, signal.SIGKILL)
    consumer.wait_for_log(f'(pid {victim}) died (killed by signal 9)')
    _all_ran(app, recorder)
    assert consumer.process.poll() is None
    assert len(consumer.worker_pids()) == 4 and victim not in consumer.worker_pids()
    print(f'\n[{backend}] one worker killed: {recorder.duplicates()} of {TASKS} tasks ran '
          'twice')
    assert recorder.duplicates() <= 1


def test_corrupt_message_is_dead_lettered_and_consumer_keeps_running(make_app,
                                                                     start_consumer):
    app = make_app()
    huey = app.huey
    consumer = start_consumer(app, '-n', *FAST)
    huey.storage.enqueue(b'\x00 definitely not a huey message')
    wait_until(lambda: huey.dead_letters(), 20, 'the dead letter')
    [dead] = huey.dead_letters()
    assert dead.data == b'\x00 definitely not a huey message'
    assert 'undecodable message' in dead.reason
    assert app.module.add(1, 2)(blocking=True, timeout=10) == 3
    assert consumer.process.poll() is None
    consumer.wait_for_log('moved to the dead letters')


def test_unknown_task_is_dead_lettered_and_consumer_keeps_running(make_app, start_consumer):
    app = make_app()
    huey = app.huey

    @huey.task(name='only.known.by.the.producer')
    def ghost():
        return 'boo'

    consumer = start_consumer(app, '-n', *FAST)
    result = ghost()
    wait_until(lambda: huey.dead_letters(), 20, 'the dead letter')
    [dead] = huey.dead_letters()
    assert 'only.known.by.the.producer' in dead.reason
    assert result.get() is None
    assert app.module.add(2, 3)(blocking=True, timeout=10) == 5
    assert consumer.process.poll() is None


@pytest.mark.slow
def test_task_killing_its_worker_is_dead_lettered_after_max_deliveries(make_app,
                                                                      start_consumer):
    app = make_app(lease_timeout=1, max_deliveries=3)
    huey = app.huey
    consumer = start_consumer(app, '-k', 'process', '-w', '2', '-c', '0.3', '-n', *FAST)
    app.module.kill_own_process()
    wait_until(lambda: huey.dead_letters(), 60, 'the dead letter', interval=0.2)
    [dead] = huey.dead_letters()
    assert 'delivered 4 times (max_deliveries=3)' in dead.reason
    consumer.wait_for_log('died (killed by signal 9)', count=3)
    assert consumer.log().count('died (killed by signal 9)') == 3
    assert app.module.add(3, 4)(blocking=True, timeout=15) == 7
    assert consumer.process.poll() is None
    assert huey.pending_count() == 0 and huey.storage.leased_count() == 0
