"""Options, URLs, table prefixes and creating the schema ahead of time."""

from __future__ import annotations

import threading
import time

import peewee
import pytest
from huey_storage import EmptyData
from huey_storage_sql import SqlStorage, create_schema
from huey_storage_sql.mysql import supports_skip_locked
from huey_storage_sql.schema import tables_exist


@pytest.fixture
def sqlite_url(tmp_path):
    return 'sqlite:///' + str(tmp_path / 'huey.db')  # four slashes: an absolute path


def test_url_opens_the_named_database(sqlite_url):
    storage = SqlStorage('from-url', database=sqlite_url)
    storage.enqueue(b'x')
    assert isinstance(storage.database, peewee.SqliteDatabase)
    assert storage.dequeue() == b'x'
    storage.close()


@pytest.mark.postgres
def test_postgres_url(pg_target):
    storage = SqlStorage('from-url', database=pg_target.url())
    assert isinstance(storage.database, peewee.PostgresqlDatabase)
    assert storage.blocking is True
    storage.enqueue(b'x')
    assert storage.dequeue() == b'x'
    storage.close()
    with pg_target.admin() as conn, conn.cursor() as cursor:  # in the test's schema
        cursor.execute("SELECT to_regclass('huey_queue') IS NOT NULL")
        assert cursor.fetchone() == (True,)


@pytest.mark.mysql
def test_mysql_url(mysql_target):
    storage = SqlStorage('from-url', database=mysql_target.url())
    assert isinstance(storage.database, peewee.MySQLDatabase)
    assert storage.blocking is False
    storage.enqueue(b'x')
    assert storage.dequeue() == b'x'
    isolation = storage.database.execute_sql('SELECT @@SESSION.tx_isolation').fetchone()[0]
    assert isolation == 'READ-COMMITTED'
    storage.close()


@pytest.mark.parametrize(
    'database, error, words',
    [
        (None, TypeError, 'needs database='),
        (42, TypeError, 'not 42'),
        ('oracle://scott@db/orcl', ValueError, "'oracle://scott@db/orcl'"),
    ],
)
def test_bad_database_is_named(database, error, words):
    with pytest.raises(error, match=words):
        SqlStorage('bad', database=database)


def test_bad_options_are_named(sqlite_url):
    with pytest.raises(TypeError, match='unexpected options: colour'):
        SqlStorage('bad', database=sqlite_url, colour='blue')
    with pytest.raises(ValueError, match="table_prefix='1-bad'"):
        SqlStorage('bad', database=sqlite_url, table_prefix='1-bad')
    with pytest.raises(ValueError, match='read_timeout=0'):
        SqlStorage('bad', database=sqlite_url, read_timeout=0)
    with pytest.raises(ValueError, match="name=''"):
        SqlStorage('', database=sqlite_url)
    with pytest.raises(TypeError, match='connect_params only applies'):
        SqlStorage('bad', database=peewee.SqliteDatabase(':memory:'), connect_params={'x': 1})


def test_unsupported_database_class():
    class OtherDatabase(peewee.Database):
        pass

    with pytest.raises(TypeError, match='OtherDatabase is not supported'):
        SqlStorage('bad', database=OtherDatabase('x'))


@pytest.mark.parametrize(
    'version, expected',
    [
        ('10.11.19-MariaDB-0+deb12u1', True),
        ('10.6.0-MariaDB', True),
        ('10.5.22-MariaDB-log', False),
        ('8.0.36', True),
        ('8.0.0-dmr', False),
        ('5.7.44-log', False),
        ('unknown', False),
    ],
)
def test_skip_locked_detection(version, expected):
    assert supports_skip_locked(version) is expected


@pytest.mark.mysql
@pytest.mark.parametrize('forced', [None, True, False])
def test_mysql_locking_clause(mysql_target, forced):
    storage = SqlStorage('lock', database=mysql_target.database(), skip_locked=forced)
    storage.queue_size()
    expected = ' FOR UPDATE' if forced is False else ' FOR UPDATE SKIP LOCKED'  # 10.11 has it
    assert storage._backend.lock_clause == expected
    storage.close()


def test_table_prefixes_keep_storages_apart(sqlite_url):
    first = SqlStorage('same', database=sqlite_url, table_prefix='one_')
    second = SqlStorage('same', database=sqlite_url, table_prefix='two_')
    first.enqueue(b'first')
    first.put_data('k', b'1')
    assert second.queue_size() == 0
    assert second.peek_data('k') is EmptyData
    assert {'one_queue', 'two_kv'} <= set(first.database.get_tables())
    first.close()
    second.close()


def _targets(request):
    """Databases for the parametrized schema tests: each maker -> new Database."""
    kind = request.param
    if kind == 'sqlite':
        tmp_path = request.getfixturevalue('tmp_path')
        return lambda: peewee.SqliteDatabase(str(tmp_path / 'schema.db'), timeout=30)
    target = request.getfixturevalue('pg_target' if kind == 'postgres' else 'mysql_target')
    return target.database


@pytest.fixture(
    params=[
        'sqlite',
        pytest.param('postgres', marks=pytest.mark.postgres),
        pytest.param('mysql', marks=pytest.mark.mysql),
    ]
)
def make_database(request):
    return _targets(request)


def test_create_tables_false_names_the_fix(make_database):
    storage = SqlStorage('late', database=make_database(), create_tables=False)
    with pytest.raises(peewee.OperationalError, match=r'create_schema\(database'):
        storage.enqueue(b'x')
    storage.initialize_schema()  # or create_schema(database) ahead of time
    storage.enqueue(b'x')
    assert storage.dequeue() == b'x'
    storage.drop_tables()
    storage.close()


def test_create_schema_ahead_of_time(make_database):
    database = make_database()
    create_schema(database, table_prefix='early_')
    create_schema(database, table_prefix='early_')  # idempotent
    assert database.is_closed()  # it opened its own connection and closed it
    assert tables_exist(database, 'early_')
    storage = SqlStorage(
        'early', database=make_database(), create_tables=False, table_prefix='early_'
    )
    storage.enqueue(b'x')
    assert storage.dequeue() == b'x'
    storage.close()


def test_concurrent_schema_creation(make_database):
    errors = []

    def create() -> None:
        try:
            storage = SqlStorage('racing', database=make_database())
            storage.enqueue(b'x')
            storage.close()
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=create) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    storage = SqlStorage('racing', database=make_database())
    assert storage.queue_size() == 4
    storage.close()


def test_expired_keys_are_swept(make_database):
    storage = SqlStorage('sweep', database=make_database())
    for index in range(5):
        assert storage.put_if_empty(f'lock-{index}', b'1', ttl=0.01) is True
    storage.put_data('kept', b'1')
    time.sleep(0.05)  # past every ttl above (a fixed past point, not a race)
    storage._purge_after = 0.0  # the next TTL write sweeps now instead of within a minute
    assert storage.incr('counter', ttl=60) == 1
    kv = storage.table_prefix + 'kv'
    rows = storage.database.execute_sql(f'SELECT COUNT(*) FROM {kv}').fetchone()[0]
    assert rows == 2  # 'kept' and 'counter'
    storage.close()


def test_a_row_whose_payload_is_not_bytes_is_leased_as_text(sqlite_url):
    # SQLite keeps whatever type was written: a stray text or integer row must
    # reach the reader (which dead-letters what it cannot decode) instead of
    # failing inside every lease, forever
    storage = SqlStorage('stray', database=sqlite_url)
    storage.enqueue(b'first')
    for payload in ("'a text payload'", '10000000000000'):
        storage.database.execute_sql(
            f'INSERT INTO {storage.table_prefix}queue (name, priority, order_key, data) '
            f"VALUES ('stray', 0, 0, {payload})"
        )
    leases = {lease.data: lease for lease in (storage.lease(30) for _ in range(3))}
    assert set(leases) == {b'first', b'a text payload', b'10000000000000'}
    text = leases[b'a text payload']
    assert text.deliveries == 1
    assert storage.dead_letter(text.receipt, 'undecodable') is not None
    assert [letter.data for letter in storage.dead_letters()] == [b'a text payload']
    storage.close()
