"""One SQLite file, two storages: huey-storage-sqlite and huey-storage-sql keep apart.

Both once created ``huey_queue``/``huey_kv`` with different columns, so each
broke the other's file; now SqlStorage's SQLite tables are ``huey_sql_*``.
"""

from __future__ import annotations

import pytest
from huey_storage_sql import SqlStorage
from huey_storage_sqlite import SqliteStorage


def test_both_sqlite_storages_share_one_file(tmp_path):
    filename = tmp_path / 'shared.db'
    embedded = SqliteStorage('app', filename=str(filename))
    sql = SqlStorage('app', database=f'sqlite:///{filename}')
    try:
        embedded.enqueue(b'from-sqlite')
        sql.enqueue(b'from-sql')
        embedded.put_data('k', b'sqlite')
        sql.put_data('k', b'sql')
        assert embedded.dequeue() == b'from-sqlite'
        assert sql.dequeue() == b'from-sql'
        assert (embedded.peek_data('k'), sql.peek_data('k')) == (b'sqlite', b'sql')
        tables = set(sql.database.get_tables())
        assert {'huey_queue', 'huey_kv', 'huey_sql_queue', 'huey_sql_kv'} <= tables
    finally:
        embedded.close()
        sql.close()


def test_a_sql_storage_refuses_the_embedded_storages_tables(tmp_path):
    filename = tmp_path / 'shared.db'
    embedded = SqliteStorage('app', filename=str(filename))
    embedded.enqueue(b'x')
    sql = SqlStorage('app', database=f'sqlite:///{filename}', table_prefix='huey_')
    try:
        with pytest.raises(ValueError, match='belongs to another program'):
            sql.enqueue(b'y')
        assert embedded.dequeue() == b'x'  # untouched
    finally:
        embedded.close()
        sql.close()
