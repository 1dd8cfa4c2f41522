"""PostgresStorage: huey's PostgreSQL options on top of SqlStorage."""

from __future__ import annotations

import pytest
from huey_storage_sql import PostgresStorage

pytestmark = pytest.mark.postgres


def test_options_as_huey_names_them(pg_target):
    storage = PostgresStorage('q' * 80, dsn=pg_target.url(), read_timeout=0.1, table_prefix='app')
    try:
        assert len(storage.channel.encode('utf-8')) <= 63  # a NOTIFY channel limit
        storage.enqueue(b'data')
        assert storage.dequeue() == b'data'
        assert storage.dequeue() is None  # waited on LISTEN for read_timeout
        tables = set(storage.database.get_tables())
        assert {'app_queue', 'app_schedule', 'app_kv', 'app_dead_letter'} <= tables
    finally:
        storage.close()


def test_create_tables_false_issues_no_ddl_until_asked(pg_target):
    storage = PostgresStorage('ct', dsn=pg_target.url(), table_prefix='ct', create_tables=False)
    try:
        assert storage.database.get_tables() == []
        storage.initialize_schema()
        assert len(storage.database.get_tables()) == 5
        storage.drop_tables()
        assert storage.database.get_tables() == []
    finally:
        storage.close()


@pytest.mark.parametrize('dsn', [None, 'mysql://root@127.0.0.1/test'])
def test_dsn_must_name_a_postgresql_server(dsn):
    with pytest.raises((TypeError, ValueError), match='dsn'):
        PostgresStorage('x', dsn=dsn)


def test_a_missing_driver_says_what_to_install(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, 'psycopg2', None)  # as if not installed
    with pytest.raises(ImportError, match=r'pip install huey-storage-sql\[postgres\]'):
        PostgresStorage('x', dsn='postgresql://postgres@127.0.0.1:5432/test')
