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

# Queue order is (priority DESC, returned_at DESC, id): higher priority first;
# within a priority, messages returned by release() or requeue_expired_leases()
# first (the latest return at the very head), then insertion order
# (returned_at is 0 for a message never returned). A row is waiting while
# ``receipt`` and ``lease_deadline`` are NULL and leased while both are set;
# ``deliveries`` is the count the next lease reports.
_QUEUE_TABLE = """
CREATE TABLE IF NOT EXISTS huey_queue (
    id INTEGER PRIMARY KEY{autoincrement},
    name TEXT NOT NULL,
    priority INTEGER NOT NULL DEFAULT 0,
    receipt TEXT,
    lease_deadline REAL,
    deliveries INTEGER NOT NULL DEFAULT 1,
    returned_at REAL NOT NULL DEFAULT 0,
    data BLOB NOT NULL
)"""

# One index finds both the next waiting message and the lapsed leases, in
# O(log n). Per name, the waiting rows (lease_deadline NULL, which sorts
# first) come in reverse queue order, so the next message is the last of them
# (read by a backward scan), right before the leased rows in deadline order:
# a lease moves one entry a few places, within one index page, and every
# write transaction of a task changes one index page (two partial indexes,
# one for waiting rows and one for leased rows, cost a page each).
_STATEMENTS = (
    """CREATE INDEX IF NOT EXISTS huey_queue_order
        ON huey_queue (name, lease_deadline, priority, returned_at, id DESC)""",
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
    """CREATE TABLE IF NOT EXISTS huey_counters (
        name TEXT NOT NULL,
        key TEXT NOT NULL,
        value INTEGER NOT NULL,
        expires_at REAL,
        PRIMARY KEY (name, key)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS huey_dead_letters (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        name TEXT NOT NULL,
        reason TEXT NOT NULL,
        failed_at REAL NOT NULL,
        data BLOB NOT NULL
    )""",
    """CREATE INDEX IF NOT EXISTS huey_dead_letters_name ON huey_dead_letters (name, id)""",
    # lease owners (consumers) and their heartbeat deadline; a leased row's
    # receipt is '<id>.<token>/<owner>' when its lease has an owner
    """CREATE TABLE IF NOT EXISTS huey_lease_owners (
        name TEXT NOT NULL,
        owner TEXT NOT NULL,
        deadline REAL NOT NULL,
        PRIMARY KEY (name, owner)
    ) WITHOUT ROWID""",
)

#: Names of every table and index the storage needs.
SCHEMA_OBJECTS = (
    'huey_queue',
    'huey_queue_order',
    'huey_schedule',
    'huey_schedule_due',
    'huey_kv',
    'huey_kv_expiry',
    'huey_counters',
    'huey_dead_letters',
    'huey_dead_letters_name',
    'huey_lease_owners',
)

#: Indexes of earlier versions, replaced by ``huey_queue_order`` and dropped.
_FORMER_INDEXES = ('huey_queue_waiting', 'huey_queue_leased')


def schema_statements(strict_fifo: bool = False) -> list[str]:
    """The ``CREATE ... IF NOT EXISTS`` statements, in order.

    With ``strict_fifo`` the queue table uses ``AUTOINCREMENT``: message ids
    are never reused, even after the queue empties.
    """
    queue = _QUEUE_TABLE.format(autoincrement=' AUTOINCREMENT' if strict_fifo else '')
    return [textwrap.dedent(queue).strip()] + [
        textwrap.dedent('    ' + statement).strip() for statement in _STATEMENTS
    ]


def _queue_is_strict(conn: sqlite3.Connection) -> bool:
    row = conn.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'huey_queue'"
    ).fetchone()
    return row is not None and 'AUTOINCREMENT' in row[0].upper()


_QUEUE_COLUMNS = {
    'id',
    'name',
    'priority',
    'receipt',
    'lease_deadline',
    'deliveries',
    'returned_at',
    'data',
}
_QUEUE_COLUMNS_BEFORE_RETURNED_AT = _QUEUE_COLUMNS - {'returned_at'}


def _queue_needs_upgrade(conn: sqlite3.Connection) -> bool:
    """True for a queue table made before ``returned_at`` existed (pre-release files).

    Raises ``ValueError`` for a ``huey_queue`` table of another shape (another
    program's table of the same name), which is never altered.
    """
    columns = {row[1] for row in conn.execute('PRAGMA table_info(huey_queue)')}
    if not columns or columns == _QUEUE_COLUMNS:
        return False
    if columns == _QUEUE_COLUMNS_BEFORE_RETURNED_AT:
        return True
    raise ValueError(
        f'the huey_queue table in this file has columns {sorted(columns)}, not '
        f"SqliteStorage's {sorted(_QUEUE_COLUMNS)}: it belongs to another program "
        '(e.g. huey-storage-sql); give SqliteStorage a file of its own'
    )


def _upgrade_queue(conn: sqlite3.Connection) -> None:
    conn.execute('ALTER TABLE huey_queue ADD COLUMN returned_at REAL NOT NULL DEFAULT 0')


def create_schema(conn: sqlite3.Connection, strict_fifo: bool = False) -> bool:
    """Create the missing tables and indexes on ``conn``; True if anything changed.

    Runs in one ``BEGIN IMMEDIATE`` transaction, so processes racing to create
    the schema of a new file are serialised; a queue table from before the
    ``returned_at`` column is upgraded in place, and the two queue indexes of
    earlier versions are replaced by ``huey_queue_order``. ``conn`` must be in autocommit
    mode (``isolation_level=None``). Raises ``ValueError`` if ``strict_fifo``
    is asked for but the existing queue table was created without it.
    """
    names = SCHEMA_OBJECTS + _FORMER_INDEXES
    placeholders = ', '.join('?' * len(names))
    present = {
        row[0]
        for row in conn.execute(
            f'SELECT name FROM sqlite_master WHERE name IN ({placeholders})', names
        )
    }
    created = False
    if present != set(SCHEMA_OBJECTS) or _queue_needs_upgrade(conn):
        conn.execute('BEGIN IMMEDIATE')
        try:
            if _queue_needs_upgrade(conn):  # again, now that no one else can write
                _upgrade_queue(conn)
            for index in _FORMER_INDEXES:
                conn.execute(f'DROP INDEX IF EXISTS {index}')
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
            'or use strict_fifo=False (ordering by insertion id still holds)'
        )
    return created
