"""The tables and indexes ``SqliteStorage`` keeps in its file.

Every table has a ``name`` column, so several huey applications can share one
file. Table names start with ``huey_`` so they sit next to an application's
own tables without clashing. The schema is created on first use (``CREATE ...
IF NOT EXISTS``); ``create_schema()`` (or ``python -m huey_storage_sqlite FILE``)
creates it ahead of time.
"""
from __future__ import annotations

import sqlite3
import textwrap

__all__ = ['SCHEMA_OBJECTS', 'create_schema', 'schema_statements']

# Queue order is (priority DESC, id): higher priority first, insertion order
# within a priority. A row is waiting while ``receipt`` is NULL and leased
# otherwise; ``deliveries`` is the count the next lease reports. The two
# partial indexes keep "next waiting message" and "expired leases" O(log n).
_QUEUE_TABLE = """
CREATE TABLE IF NOT EXISTS huey_queue (
    id INTEGER PRIMARY KEY{autoincrement},
    name TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    receipt TEXT,
    lease_deadline REAL,
    deliveries INTEGER NOT NULL DEFAULT 1,
    data BLOB NOT NULL
)"""

_STATEMENTS = (
    """CREATE INDEX IF NOT EXISTS huey_queue_waiting
        ON huey_queue (name, priority DESC, id) WHERE receipt IS NULL""",
    """CREATE INDEX IF NOT EXISTS huey_queue_leased
        ON huey_queue (name, lease_deadline) WHERE receipt IS NOT NULL""",
    """CREATE TABLE IF NOT EXISTS huey_schedule (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL,
        ts REAL NOT NULL,
        priority INTEGER NOT NULL DEFAULT 0,
        data BLOB NOT NULL
    )""",
    """CREATE INDEX IF NOT EXISTS huey_schedule_due ON huey_schedule (name, ts, id)""",
    """CREATE TABLE IF NOT EXISTS huey_kv (
        name TEXT NOT NULL,
        key TEXT NOT NULL,
        is_result INTEGER NOT NULL DEFAULT 0,
        expires_at REAL,
        value BLOB NOT NULL,
        PRIMARY KEY (name, key)
    ) WITHOUT ROWID""",
    """CREATE INDEX IF NOT EXISTS huey_kv_expiry
        ON huey_kv (expires_at) WHERE expires_at IS NOT NULL""",
    """CREATE TABLE IF NOT EXISTS huey_dead_letters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        reason TEXT NOT NULL,
        failed_at REAL NOT NULL,
        data BLOB NOT NULL
    )""",
    """CREATE INDEX IF NOT EXISTS huey_dead_letters_name ON huey_dead_letters (name, id)""",
)

#: Names of every table and index the storage needs.
SCHEMA_OBJECTS = ('huey_queue', 'huey_queue_waiting', 'huey_queue_leased', 'huey_schedule',
                  'huey_schedule_due', 'huey_kv', 'huey_kv_expiry', 'huey_dead_letters',
                  'huey_dead_letters_name')


def schema_statements(strict_fifo: bool = False) -> list[str]:
    """The ``CREATE ... IF NOT EXISTS`` statements, in order.

    With ``strict_fifo`` the queue table uses ``AUTOINCREMENT``: message ids
    are never reused, even after the queue empties.
    """
    queue = _QUEUE_TABLE.format(autoincrement=' AUTOINCREMENT' if strict_fifo else '')
    return [textwrap.dedent(queue).strip()] + [textwrap.dedent('    ' + statement).strip()
                                               for statement in _STATEMENTS]


def _queue_is_strict(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT sql FROM sqlite_master WHERE type = 'table' "
                       "AND name = 'huey_queue'").fetchone()
    return row is not None and 'AUTOINCREMENT' in row[0].upper()


def create_schema(conn: sqlite3.Connection, strict_fifo: bool = False) -> bool:
    """Create the missing tables and indexes on ``conn``; True if any was missing.

    Runs in one ``BEGIN IMMEDIATE`` transaction, so processes racing to create
    the schema of a new file are serialised. ``conn`` must be in autocommit
    mode (``isolation_level=None``). Raises ``ValueError`` if ``strict_fifo``
    is asked for but the existing queue table was created without it.
    """
    placeholders = ', '.join('?' * len(SCHEMA_OBJECTS))
    present = conn.execute(f'SELECT COUNT(*) FROM sqlite_master WHERE name IN ({placeholders})',
                           SCHEMA_OBJECTS).fetchone()[0]
    created = False
    if present != len(SCHEMA_OBJECTS):
        conn.execute('BEGIN IMMEDIATE')
        try:
            for statement in schema_statements(strict_fifo):
                conn.execute(statement)
            conn.execute('COMMIT')
        except BaseException:
            if conn.in_transaction:
                conn.execute('ROLLBACK')
            raise
        created = True
    if strict_fifo and not _queue_is_strict(conn):
        raise ValueError(
            'strict_fifo=True, but the huey_queue table in this file was created without '
            'AUTOINCREMENT; drain the queue and drop the huey_queue table (it is re-created), '
            'or use strict_fifo=False (ordering by insertion id still holds)')
    return created
