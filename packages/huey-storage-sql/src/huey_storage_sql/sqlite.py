"""SQLite through peewee: every write transaction takes the database lock at
once (``BEGIN IMMEDIATE``), so the generic read-then-write steps are atomic
across threads and processes. Meant for tests and small deployments; the
huey-storage-sqlite distribution is the dedicated SQLite storage."""

from __future__ import annotations

import contextlib
import time

from huey_storage_sql.backend import Backend

__all__ = ['SqliteBackend']


class SqliteBackend(Backend):
    """SQLite >= 3.24 (upsert)."""

    param = '?'
    #: the columns of the queue table (another program's table is refused)
    queue_columns = frozenset(
        {'id', 'name', 'priority', 'order_key', 'data', 'receipt', 'lease_deadline', 'deliveries'}
    )
    put_data_sql = (
        'INSERT INTO {kv} (name, {key}, value, is_result, expires_at) '
        'VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name, {key}) DO UPDATE '
        'SET value = excluded.value, is_result = excluded.is_result, '
        'expires_at = excluded.expires_at'
    )
    insert_ignore_sql = (
        'INSERT OR IGNORE INTO {kv} (name, {key}, value, is_result, expires_at) '
        'VALUES (%s, %s, %s, %s, %s)'
    )

    def transaction(self) -> contextlib.AbstractContextManager:
        return self.database.atomic('IMMEDIATE')

    @classmethod
    def schema_statements(cls, table_prefix: str) -> list[str]:
        p = table_prefix
        return [
            f'CREATE TABLE IF NOT EXISTS {p}queue ('
            ' id INTEGER PRIMARY KEY AUTOINCREMENT,'
            ' name TEXT NOT NULL,'
            ' priority INTEGER NOT NULL DEFAULT 0,'
            ' order_key INTEGER NOT NULL DEFAULT 0,'
            ' data BLOB NOT NULL,'
            ' receipt TEXT,'
            ' lease_deadline REAL,'
            ' deliveries INTEGER NOT NULL DEFAULT 1)',
            f'CREATE INDEX IF NOT EXISTS {p}queue_waiting ON {p}queue '
            '(name, priority DESC, order_key, id) WHERE receipt IS NULL',
            f'CREATE UNIQUE INDEX IF NOT EXISTS {p}queue_receipt ON {p}queue (receipt) '
            'WHERE receipt IS NOT NULL',
            f'CREATE INDEX IF NOT EXISTS {p}queue_leased ON {p}queue (name, lease_deadline) '
            'WHERE receipt IS NOT NULL',
            f'CREATE TABLE IF NOT EXISTS {p}schedule ('
            ' id INTEGER PRIMARY KEY AUTOINCREMENT,'
            ' name TEXT NOT NULL,'
            ' ts REAL NOT NULL,'
            ' priority INTEGER,'
            ' data BLOB NOT NULL)',
            f'CREATE INDEX IF NOT EXISTS {p}schedule_due ON {p}schedule (name, ts, id)',
            f'CREATE TABLE IF NOT EXISTS {p}kv ('
            ' name TEXT NOT NULL,'
            ' "key" TEXT NOT NULL,'
            ' value BLOB NOT NULL,'
            ' is_result INTEGER NOT NULL DEFAULT 0,'
            ' expires_at REAL,'
            ' PRIMARY KEY (name, "key"))',
            f'CREATE INDEX IF NOT EXISTS {p}kv_expires ON {p}kv (name, expires_at) '
            'WHERE expires_at IS NOT NULL',
            f'CREATE TABLE IF NOT EXISTS {p}dead_letter ('
            ' id INTEGER PRIMARY KEY AUTOINCREMENT,'
            ' name TEXT NOT NULL,'
            ' data BLOB NOT NULL,'
            ' reason TEXT NOT NULL,'
            ' failed_at REAL NOT NULL)',
            f'CREATE TABLE IF NOT EXISTS {p}lease_owner ('
            ' name TEXT NOT NULL,'
            ' owner TEXT NOT NULL,'
            ' deadline REAL NOT NULL,'
            ' PRIMARY KEY (name, owner))',
        ]

    def incr(self, key: str, amount: int, ttl: float | None) -> int:
        now = time.time()
        with self.transaction():  # holds the database write lock: read-modify-write is safe
            row = self.fetchone(
                'SELECT value, expires_at FROM {kv} WHERE name = %s AND {key} = %s',
                (self.name, key),
            )
            if row is None or (row[1] is not None and row[1] <= now):
                value = amount
                self.execute(
                    'INSERT OR REPLACE INTO {kv} (name, {key}, value, is_result, '
                    'expires_at) VALUES (%s, %s, %s, 0, %s)',
                    (self.name, key, b'%d' % value, None if ttl is None else now + ttl),
                )
            else:
                value = int(self.to_bytes(row[0])) + amount
                self.execute(
                    'UPDATE {kv} SET value = %s WHERE name = %s AND {key} = %s',
                    (b'%d' % value, self.name, key),
                )
        return value
