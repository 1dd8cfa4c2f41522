"""Credentials stay out of errors, SQLite files are private, results can
expire, and MariaDB/MySQL refuses what does not fit instead of truncating it."""

from __future__ import annotations

import os
import stat

import peewee
import pytest
from huey_storage import EmptyData
from huey_storage_sql import SqlStorage
from huey_storage_sql.mysql import MAX_KEY_BYTES, MAX_NAME_BYTES


@pytest.mark.parametrize(
    'url',
    [
        'postgress://admin:hunter2@db.example:5432/app',
        'mysql+nope://admin:hunter2@db.example/app',
        'nosuch://:hunter2@db.example/app',
        'postgresql://admin:hunter2@db.example:notaport/app',
    ],
)
def test_a_bad_url_never_echoes_its_password(url):
    with pytest.raises(ValueError) as caught:
        SqlStorage('x', database=url)
    message = str(caught.value)
    assert 'hunter2' not in message and '***' in message
    assert 'db.example' in message  # still says which URL it was


@pytest.mark.parametrize('dsn', ['mysql://admin:hunter2@db.example/app'])
def test_postgres_storage_never_echoes_a_dsn_password(dsn):
    from huey_storage_sql import PostgresStorage

    with pytest.raises(ValueError) as caught:
        PostgresStorage('x', dsn=dsn)
    assert 'hunter2' not in str(caught.value) and 'admin:***@db.example' in str(caught.value)


@pytest.mark.postgres
def test_postgres_storage_takes_expire_time(pg_target, wait_until):
    from huey_storage_sql import PostgresStorage

    storage = PostgresStorage('exp', dsn=pg_target.url(), expire_time=0.3)
    _expiring_results(storage, wait_until)
    storage.close()


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_sqlite_file_is_created_private(tmp_path):
    path = tmp_path / 'private.db'
    storage = SqlStorage('files', database=f'sqlite:///{path}')
    storage.enqueue(b'x')
    assert _mode(path) == 0o600
    for extra in (f'{path}-wal', f'{path}-shm'):  # SQLite copies the database's mode
        if os.path.exists(extra):
            assert _mode(extra) == 0o600
    storage.close()


def test_a_sqlite_file_mode_can_be_given(tmp_path):
    path = tmp_path / 'shared.db'
    storage = SqlStorage('files', database=peewee.SqliteDatabase(str(path)), mode=0o640)
    storage.enqueue(b'x')
    assert _mode(path) == 0o640
    storage.close()


def test_an_existing_sqlite_file_keeps_its_mode(tmp_path):
    path = tmp_path / 'existing.db'
    path.touch()
    os.chmod(path, 0o644)
    storage = SqlStorage('files', database=f'sqlite:///{path}')
    storage.enqueue(b'x')
    assert _mode(path) == 0o644
    storage.close()


def test_a_bad_mode_is_refused():
    with pytest.raises(ValueError, match=r'SqlStorage\(mode=420\.0\)'):
        SqlStorage('files', database='sqlite:///x.db', mode=420.0)


def _expiring_results(storage: SqlStorage, wait_until) -> None:
    storage.put_data('kept', b'data')  # not a result: never expires
    storage.put_data('result', b'value', is_result=True)
    storage.enqueue(b'task')
    storage.ack(storage.lease(30).receipt, ('acked', b'value'))
    assert storage.peek_data('result') == b'value'
    wait_until(
        lambda: storage.peek_data_many(['result', 'acked']) == [EmptyData, EmptyData],
        message='results expiring',
    )
    assert storage.peek_data('kept') == b'data'
    assert storage.pop_data('result') is EmptyData


def test_results_expire_with_expire_time_on_sqlite(tmp_path, wait_until):
    storage = SqlStorage('exp', database=f'sqlite:///{tmp_path}/exp.db', expire_time=0.3)
    _expiring_results(storage, wait_until)
    storage.close()


@pytest.mark.postgres
def test_results_expire_with_expire_time_on_postgres(pg_target, wait_until):
    storage = SqlStorage('exp', database=pg_target.url(), expire_time=0.3)
    _expiring_results(storage, wait_until)
    storage.close()


@pytest.mark.mysql
def test_results_expire_with_expire_time_on_mysql(mysql_target, wait_until):
    storage = SqlStorage('exp', database=mysql_target.url(), expire_time=0.3)
    _expiring_results(storage, wait_until)
    storage.close()


def test_results_stay_without_expire_time(tmp_path):
    storage = SqlStorage('exp', database=f'sqlite:///{tmp_path}/exp.db')
    storage.put_data('result', b'value', is_result=True)
    row = storage.database.execute_sql(
        "SELECT expires_at FROM huey_sql_kv WHERE key = 'result'"
    ).fetchone()
    assert row == (None,)
    storage.close()


# -- MariaDB / MySQL -----------------------------------------------------------------


@pytest.mark.mysql
@pytest.mark.parametrize('how', ['url', 'database'])
def test_mysql_connections_run_in_strict_mode(mysql_target, how):
    database = mysql_target.url() if how == 'url' else mysql_target.database()
    storage = SqlStorage('strict', database=database)
    storage.enqueue(b'x')
    mode = storage.database.execute_sql('SELECT @@SESSION.sql_mode').fetchone()[0]
    assert 'STRICT_ALL_TABLES' in mode.split(',')
    storage.close()


@pytest.mark.mysql
def test_mysql_names_differing_by_trailing_spaces_are_two_queues(mysql_target):
    plain = SqlStorage('jobs', database=mysql_target.url())
    spaced = SqlStorage('jobs ', database=mysql_target.url())
    plain.enqueue(b'plain')
    spaced.enqueue(b'spaced')
    assert (plain.queue_size(), spaced.queue_size()) == (1, 1)
    assert spaced.dequeue() == b'spaced' and plain.dequeue() == b'plain'
    plain.put_data('k', b'1')
    assert spaced.peek_data('k') is EmptyData
    plain.close()
    spaced.close()


@pytest.mark.mysql
def test_mysql_a_name_too_long_fails_at_once(mysql_target):
    longest = 'n' * MAX_NAME_BYTES
    storage = SqlStorage(longest, database=mysql_target.url())
    storage.enqueue(b'x')
    assert storage.dequeue() == b'x'
    storage.close()
    with pytest.raises(ValueError, match=f'names hold at most {MAX_NAME_BYTES}'):
        SqlStorage('é' * (MAX_NAME_BYTES // 2 + 1), database=mysql_target.url())


@pytest.mark.mysql
def test_mysql_a_key_too_long_fails_at_the_call(mysql_target):
    storage = SqlStorage('keys', database=mysql_target.url())
    longest = 'k' * MAX_KEY_BYTES
    storage.put_data(longest, b'v')
    assert storage.peek_data(longest) == b'v'
    too_long = 'k' * (MAX_KEY_BYTES + 1)
    for call in (
        lambda: storage.put_data(too_long, b'v'),
        lambda: storage.put_if_empty(too_long, b'v'),
        lambda: storage.incr(too_long),
    ):
        with pytest.raises(ValueError, match=f'keys hold at most {MAX_KEY_BYTES}'):
            call()
    storage.enqueue(b'task')
    lease = storage.lease(30)
    with pytest.raises(ValueError, match='use a shorter key'):
        storage.ack(lease.receipt, (too_long, b'result'))
    assert storage.leased_count() == 1  # not acknowledged: the task is not lost
    storage.close()


@pytest.mark.mysql
def test_mysql_a_value_over_its_column_fails_instead_of_truncating(mysql_target):
    """Strict mode: a receipt wider than its column is an error, never cut short."""
    storage = SqlStorage('fit', database=mysql_target.url())
    storage.enqueue(b'x')
    with pytest.raises(peewee.DataError):
        storage.database.execute_sql(
            'UPDATE huey_queue SET receipt = %s WHERE name = %s', ('r' * 65, 'fit')
        )
    storage.close()
