"""``SqliteStorage``: the huey storage contract in one SQLite file.

Concurrency model: every thread of every process has its own connection;
the file is in WAL mode, so readers never wait for the writer. Each write is
either one statement (SQLite makes it atomic and takes the write lock before
reading, so no two workers can lease one message) or a ``BEGIN IMMEDIATE``
transaction (the write lock is taken up front, so a read-modify-write never
fails half-way on a lock upgrade). Lock waits are SQLite's ``busy_timeout``
plus a bounded retry with backoff (see ``connection.py``).
"""

from __future__ import annotations

import logging
import os
import re
import sqlite3
import time
from typing import Callable, Iterable, Sequence, TypeVar

from huey_storage.base import (
    BaseStorage,
    DeadLetter,
    EmptyData,
    EmptyDataType,
    Lease,
    Timestamp,
    as_timestamp,
    check_heartbeat,
    check_priority,
    check_ttl,
)
from huey_storage.permissions import DEFAULT_FILE_MODE, check_file_mode

from huey_storage_sqlite.connection import ConnectionPool
from huey_storage_sqlite.schema import create_schema
from huey_storage_sqlite.writes import GroupCommit

__all__ = ['SqliteStorage']

logger = logging.getLogger(__name__)

T = TypeVar('T')

#: RETURNING (one-statement lease/dequeue/pop) needs SQLite 3.35; 3.35.5 fixed its early bugs.
HAS_RETURNING = sqlite3.sqlite_version_info >= (3, 35, 5)
#: Upserts (INSERT ... ON CONFLICT DO UPDATE) need SQLite 3.24.
MIN_SQLITE_VERSION = (3, 24, 0)

_JOURNAL_MODES = ('wal', 'delete', 'truncate', 'persist', 'memory', 'off')
_OPTIONS = (
    'name',
    'filename',
    'cache_mb',
    'fsync',
    'journal_mode',
    'timeout',
    'strict_fifo',
    'create_tables',
    'pragmas',
    'mode',
    'expire_time',
)
_PRAGMA_NAME = re.compile(r'[A-Za-z_]+\Z')
_PRAGMA_WORD = re.compile(r'[A-Za-z0-9_]+\Z')
_CHUNK = 400  # bound parameters per statement, well under old SQLite's 999 limit
_SWEEP_INTERVAL = 60.0  # seconds between deletions of expired keys

_QUEUE_ORDER = 'ORDER BY priority DESC, returned_at DESC, id'
# Waiting and leased rows are told apart by lease_deadline (NULL while
# waiting, as receipt), the column the queue index is keyed on.
_WAITING = 'name = ? AND lease_deadline IS NULL'
_LEASED = 'name = ? AND lease_deadline IS NOT NULL'
_NEXT_WAITING = f'SELECT id FROM huey_queue WHERE {_WAITING} {_QUEUE_ORDER} LIMIT 1'
_LIVE = '(expires_at IS NULL OR expires_at > ?)'

_ENQUEUE = 'INSERT INTO huey_queue (name, priority, data) VALUES (?, ?, ?)'
_LEASE = (
    "UPDATE huey_queue SET receipt = id || '.' || lower(hex(randomblob(8))) || ?, "
    f'lease_deadline = ? WHERE id = ({_NEXT_WAITING}) RETURNING receipt, data, deliveries'
)
_LEASE_SELECT = (
    f'SELECT id, data, deliveries FROM huey_queue WHERE {_WAITING} {_QUEUE_ORDER} LIMIT 1'
)
_LEASE_UPDATE = 'UPDATE huey_queue SET receipt = ?, lease_deadline = ? WHERE id = ?'
# Batched leases: up to ? waiting rows (the RETURNING order is SQLite's, so
# the queue order columns come back too), and how many of ? rows are waiting.
_LEASE_MANY = (
    "UPDATE huey_queue SET receipt = id || '.' || lower(hex(randomblob(8))) || ?, "
    'lease_deadline = ? WHERE id IN ('
    f'SELECT id FROM huey_queue WHERE {_WAITING} {_QUEUE_ORDER} LIMIT ?) '
    'RETURNING priority, returned_at, id, receipt, data, deliveries'
)
_LEASE_MANY_SELECT = (
    f'SELECT id, data, deliveries FROM huey_queue WHERE {_WAITING} {_QUEUE_ORDER} LIMIT ?'
)
_WAITING_UP_TO = f'SELECT COUNT(*) FROM (SELECT 1 FROM huey_queue WHERE {_WAITING} LIMIT ?)'
_GIVE_BACK = (
    'UPDATE huey_queue SET receipt = NULL, lease_deadline = NULL, returned_at = ? '
    'WHERE id = ? AND name = ? AND receipt = ?'
)
_DEQUEUE = f'DELETE FROM huey_queue WHERE id = ({_NEXT_WAITING}) RETURNING data'
_DELETE_BY_ID = 'DELETE FROM huey_queue WHERE id = ?'
_ACK = 'DELETE FROM huey_queue WHERE id = ? AND name = ? AND receipt = ?'
_RELEASE = (
    'UPDATE huey_queue SET receipt = NULL, lease_deadline = NULL, returned_at = ?, '
    'deliveries = deliveries + 1 WHERE id = ? AND name = ? AND receipt = ?'
)
# A lease is lapsed when its deadline passed or its owner (after the '/' of
# its receipt) has no live heartbeat. Parameters: name, now, name, now.
_LAPSED = (
    f'{_LEASED} AND (lease_deadline < ? OR ('
    "instr(receipt, '/') > 0 AND substr(receipt, instr(receipt, '/') + 1) NOT IN ("
    'SELECT owner FROM huey_lease_owners WHERE name = ? AND deadline >= ?)))'
)
_ANY_LAPSED = f'SELECT 1 FROM huey_queue WHERE {_LAPSED} LIMIT 1'
_REQUEUE_LAPSED = (
    'UPDATE huey_queue SET receipt = NULL, lease_deadline = NULL, '
    f'deliveries = deliveries + 1, returned_at = ? WHERE {_LAPSED}'
)
_HEARTBEAT = 'INSERT OR REPLACE INTO huey_lease_owners (name, owner, deadline) VALUES (?, ?, ?)'
_DROP_LAPSED_OWNERS = 'DELETE FROM huey_lease_owners WHERE name = ? AND deadline < ?'
_PUT_DATA = (
    'INSERT OR REPLACE INTO huey_kv (name, key, is_result, expires_at, value) '
    'VALUES (?, ?, ?, ?, ?)'
)
_PEEK = 'SELECT value FROM huey_kv WHERE name = ? AND key = ? AND ' + _LIVE
_POP = 'DELETE FROM huey_kv WHERE name = ? AND key = ? RETURNING value, expires_at'
_PUT_IF_EMPTY = (
    'INSERT INTO huey_kv (name, key, is_result, expires_at, value) '
    'VALUES (?, ?, 0, ?, ?) ON CONFLICT (name, key) DO UPDATE SET '
    'value = excluded.value, is_result = 0, expires_at = excluded.expires_at '
    'WHERE huey_kv.expires_at IS NOT NULL AND huey_kv.expires_at <= ?'
)
_ANY_DUE = 'SELECT 1 FROM huey_schedule WHERE name = ? AND ts <= ? LIMIT 1'
_DELETE_DUE = 'DELETE FROM huey_schedule WHERE name = ? AND ts <= ?'


def _priority(priority: int | None) -> int:
    return check_priority(priority)


def _expiry(ttl: float | None, now: float) -> float | None:
    """The expiry timestamp of a key stored now with ``ttl`` seconds to live."""
    ttl = check_ttl(ttl)
    return None if ttl is None else now + ttl


def _check_pragmas(pragmas: dict | None) -> dict:
    """Extra PRAGMAs for every connection, checked (they are spliced into SQL)."""
    checked = {}
    for key, value in (pragmas or {}).items():
        if not isinstance(key, str) or not _PRAGMA_NAME.match(key):
            raise ValueError(f'SqliteStorage(pragmas={{{key!r}: ...}}): not a PRAGMA name')
        if key.lower() == 'journal_mode':
            raise ValueError(
                'SqliteStorage(pragmas={"journal_mode": ...}): use journal_mode= instead'
            )
        if isinstance(value, bool) or not (
            isinstance(value, (int, float))
            or (isinstance(value, str) and _PRAGMA_WORD.match(value))
        ):
            raise ValueError(
                f'SqliteStorage(pragmas={{{key!r}: {value!r}}}): give a number or a word'
            )
        checked[key] = value
    return checked


def _lease_timeout(timeout: float) -> float:
    """``timeout``, refused if NaN: SQLite stores a NaN deadline as NULL, the
    mark of a waiting row, so the message could be leased twice."""
    if timeout != timeout:
        raise ValueError('lease timeout: NaN is not a number of seconds')
    return timeout


def _receipt_id(receipt: str) -> int | None:
    """The queue row id a receipt (``'<id>.<token>'``) names, or None if malformed."""
    head, dot, _ = str(receipt).partition('.')
    if not dot:
        return None
    try:
        return int(head)
    except ValueError:
        return None


def _dead_letter_id(id: str) -> int | None:
    try:
        return int(id)
    except (TypeError, ValueError):
        return None


def _chunks(items: Sequence[T]) -> Iterable[Sequence[T]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


class SqliteStorage(BaseStorage):
    """Storage in one SQLite file, safe for many threads and processes.

    * ``filename``: the database file, created if missing (a relative path is
      resolved against the current directory now, not at each connect).
    * ``cache_mb``: page cache per connection, in MiB.
    * ``fsync``: False keeps ``synchronous=NORMAL`` (in WAL mode, durable
      against a process crash but the last commits may be lost on power
      loss); True uses ``synchronous=FULL`` (durable against power loss).
    * ``journal_mode``: ``'wal'`` (default, needed for readers and writers not
      to block each other) or another SQLite journal mode.
    * ``timeout``: seconds to wait for a lock before retrying, then failing.
    * ``strict_fifo``: create the queue table with ``AUTOINCREMENT``, so
      message ids, which order the queue within a priority, are never reused.
    * ``create_tables``: create missing tables on first use; with False,
      call ``initialize_schema()`` first.
    * ``pragmas``: extra ``{name: value}`` PRAGMAs run on every connection
      (``mmap_size``...), after the storage's own.
    * ``mode``: permissions of the file when this storage creates it
      (default ``0o600``, owner only: whoever can write it runs code in the
      consumer); None leaves them to the umask. An existing file is unchanged.
    * ``expire_time``: seconds a task result lives after being stored (as
      ``RedisExpireStorage``); None (default) keeps results until read.
    """

    blocking = False
    priority = True

    def __init__(
        self,
        name: str = 'huey',
        filename: str | os.PathLike = 'huey.db',
        cache_mb: float = 8,
        fsync: bool = False,
        journal_mode: str = 'wal',
        timeout: float = 5.0,
        strict_fifo: bool = False,
        create_tables: bool = True,
        pragmas: dict | None = None,
        mode: int | None = DEFAULT_FILE_MODE,
        expire_time: float | None = None,
        **kwargs,
    ) -> None:
        if kwargs:
            plural = 's' if len(kwargs) > 1 else ''
            raise TypeError(
                f'SqliteStorage got unexpected option{plural}: '
                f'{", ".join(sorted(kwargs))} (accepted: {", ".join(_OPTIONS)})'
            )
        super().__init__(name)
        if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
            needed = '.'.join(map(str, MIN_SQLITE_VERSION))
            raise RuntimeError(
                f'SqliteStorage needs SQLite >= {needed}, this Python links '
                f'{sqlite3.sqlite_version}; upgrade Python or its SQLite library'
            )
        if not isinstance(name, str) or not name:
            raise ValueError(f'SqliteStorage(name={name!r}): name must be a non-empty string')
        filename = os.fspath(filename)
        if filename in ('', ':memory:') or str(filename).startswith('file:'):
            raise ValueError(
                f'SqliteStorage(filename={filename!r}): give the path of a file, '
                'shared by every thread and process; use '
                'huey_storage.MemoryStorage for an in-memory storage'
            )
        journal_mode = str(journal_mode).lower()
        if journal_mode not in _JOURNAL_MODES:
            raise ValueError(
                f'SqliteStorage(journal_mode={journal_mode!r}): use one of '
                f'{", ".join(_JOURNAL_MODES)}'
            )
        if isinstance(cache_mb, bool) or not isinstance(cache_mb, (int, float)) or cache_mb < 0:
            raise ValueError(f'SqliteStorage(cache_mb={cache_mb!r}): give a number of MiB >= 0')
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout < 0:
            raise ValueError(f'SqliteStorage(timeout={timeout!r}): give a number of seconds >= 0')
        self.filename = os.path.abspath(os.path.expanduser(filename))
        self.cache_mb = cache_mb
        self.fsync = bool(fsync)
        self.journal_mode = journal_mode
        self.timeout = float(timeout)
        self.strict_fifo = bool(strict_fifo)
        self.create_tables = bool(create_tables)
        self.pragmas = _check_pragmas(pragmas)
        self.mode = check_file_mode(mode, 'SqliteStorage')
        self.expire_time = check_ttl(expire_time, 'SqliteStorage expire_time')
        self._returning = HAS_RETURNING
        self._next_sweep = 0.0
        pragmas = [
            f'PRAGMA synchronous = {"FULL" if self.fsync else "NORMAL"}',
            f'PRAGMA cache_size = {-int(cache_mb * 1024)}',
            'PRAGMA temp_store = MEMORY',
            *(f'PRAGMA {key} = {value}' for key, value in self.pragmas.items()),
        ]
        self._pool = ConnectionPool(
            self.filename, self.timeout, pragmas, journal_mode, self._prepare, self.mode
        )
        self._writes = GroupCommit(self._pool)

    def _prepare(self, conn: sqlite3.Connection) -> None:
        if self.create_tables and create_schema(conn, self.strict_fifo):
            logger.debug('created the huey schema in %s', self.filename)

    def create_schema(self) -> None:
        """Create the missing tables and indexes now (with ``create_tables``
        they are otherwise created on first use)."""
        if create_schema(self._pool.get(), self.strict_fifo):
            logger.debug('created the huey schema in %s', self.filename)

    #: huey's name for ``create_schema``.
    initialize_schema = create_schema

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use), for inspection."""
        return self._pool.get()

    @property
    def _timeout(self) -> float:
        return self.timeout

    # -- running statements -------------------------------------------------

    def _run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``operation(conn)`` on this thread's connection, retrying if busy."""
        return self._pool.run(operation)

    def _run_write(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``operation(conn)``, one statement, as a write: committed alone
        or with the writes other threads are waiting to make (``writes.py``)."""
        return self._writes.run(operation, atomic=False)

    def _write(self, sql: str, params: Sequence = ()) -> int:
        """Run one statement as a write; the number of rows changed."""
        return self._run_write(lambda conn: conn.execute(sql, params).rowcount)

    def _write_returning(self, sql: str, params: Sequence = ()) -> list:
        """Run one ``... RETURNING`` statement as a write; its rows."""
        return self._run_write(lambda conn: conn.execute(sql, params).fetchall())

    def _fetchall(self, sql: str, params: Sequence = ()) -> list:
        return self._run(lambda conn: conn.execute(sql, params).fetchall())

    def _scalar(self, sql: str, params: Sequence = ()):
        return self._run(lambda conn: conn.execute(sql, params).fetchall()[0][0])

    def _transaction(self, body: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``body(conn)`` all or nothing: in a ``BEGIN IMMEDIATE``
        transaction of its own, or in one with other threads' waiting writes."""
        return self._writes.run(body, atomic=True)

    # -- queue ------------------------------------------------------------

    def enqueue(self, data: bytes, priority: int | None = None) -> None:
        self._write(_ENQUEUE, (self.name, _priority(priority), data))

    def enqueue_many(self, items: Iterable[tuple[bytes, int | None]]) -> None:
        rows = [(self.name, _priority(priority), data) for data, priority in items]
        if rows:
            self._transaction(lambda conn: conn.executemany(_ENQUEUE, rows))

    def dequeue(self) -> bytes | None:
        if self._returning:
            rows = self._write_returning(_DEQUEUE, (self.name,))
            return rows[0][0] if rows else None

        def take(conn: sqlite3.Connection) -> bytes | None:
            row = conn.execute(_LEASE_SELECT, (self.name,)).fetchone()
            if row is None:
                return None
            conn.execute(_DELETE_BY_ID, (row[0],))
            return row[1]

        return self._transaction(take)

    def queue_size(self) -> int:
        return self._scalar(f'SELECT COUNT(*) FROM huey_queue WHERE {_WAITING}', (self.name,))

    def enqueued_items(self, limit: int | None = None) -> list[bytes]:
        limit = -1 if limit is None else max(limit, 0)
        rows = self._fetchall(
            f'SELECT data FROM huey_queue WHERE {_WAITING} {_QUEUE_ORDER} LIMIT ?',
            (self.name, limit),
        )
        return [row[0] for row in rows]

    def flush_queue(self) -> None:
        def flush(conn: sqlite3.Connection) -> None:
            conn.execute('DELETE FROM huey_queue WHERE name = ?', (self.name,))
            conn.execute('DELETE FROM huey_lease_owners WHERE name = ?', (self.name,))

        self._transaction(flush)

    # -- leases -----------------------------------------------------------

    def lease(self, timeout: float) -> Lease | None:
        deadline = time.time() + _lease_timeout(timeout)
        if self._returning:
            rows = self._write_returning(_LEASE, (self._owner_suffix(), deadline, self.name))
            if not rows:
                return None
            receipt, data, deliveries = rows[0]
            return Lease(receipt, data, deliveries)

        def take(conn: sqlite3.Connection) -> Lease | None:
            row = conn.execute(_LEASE_SELECT, (self.name,)).fetchone()
            if row is None:
                return None
            receipt = self._new_receipt(row[0])
            conn.execute(_LEASE_UPDATE, (receipt, deadline, row[0]))
            return Lease(receipt, row[1], row[2])

        return self._transaction(take)

    def _new_receipt(self, row_id: int) -> str:
        """A receipt for row ``row_id`` (as ``_LEASE`` builds them in SQL)."""
        return f'{row_id}.{os.urandom(8).hex()}{self._owner_suffix()}'

    def _owner_suffix(self) -> str:
        """What a receipt ends with: '/<owner>' for a lease with an owner."""
        return '' if self.lease_owner is None else '/' + self.lease_owner

    def ack(self, receipt: str, result: tuple[str, bytes] | None = None) -> bool:
        row_id = _receipt_id(receipt)
        if result is None:
            if row_id is None:
                return False
            return self._write(_ACK, (row_id, self.name, receipt)) == 1
        key, value = result
        expires_at = self._result_expiry()

        def store_and_ack(conn: sqlite3.Connection) -> bool:
            conn.execute(_PUT_DATA, (self.name, key, 1, expires_at, value))
            if row_id is None:
                return False
            return conn.execute(_ACK, (row_id, self.name, receipt)).rowcount == 1

        return self._transaction(store_and_ack)

    def ack_and_lease(
        self, receipt: str, result: tuple[str, bytes] | None, timeout: float, key: str
    ):
        """Acknowledge, store the result and lease the next message in one
        ``BEGIN IMMEDIATE`` transaction: one turn of the write lock per task."""
        row_id = _receipt_id(receipt)
        expires_at = None if result is None else self._result_expiry()
        now = time.time()
        deadline = now + _lease_timeout(timeout)

        def body(conn: sqlite3.Connection):
            if result is not None:
                conn.execute(_PUT_DATA, (self.name, result[0], 1, expires_at, result[1]))
            acked = (
                row_id is not None
                and conn.execute(_ACK, (row_id, self.name, receipt)).rowcount == 1
            )
            if self._returning:
                row = conn.execute(_LEASE, (self._owner_suffix(), deadline, self.name)).fetchone()
                lease = None if row is None else Lease(*row)
            else:
                row = conn.execute(_LEASE_SELECT, (self.name,)).fetchone()
                lease = None
                if row is not None:
                    lease = Lease(self._new_receipt(row[0]), row[1], row[2])
                    conn.execute(_LEASE_UPDATE, (lease.receipt, deadline, row[0]))
            if lease is None:
                return acked, None, EmptyData
            found = conn.execute(_PEEK, (self.name, key, now)).fetchone()
            return acked, lease, EmptyData if found is None else found[0]

        return self._transaction(body)

    def lease_many(
        self, count: int, timeout: float, key: str, share: int = 1
    ) -> tuple[list[Lease], bytes | EmptyDataType]:
        """Up to ``count`` leases and the value of ``key`` in one transaction."""
        deadline = time.time() + _lease_timeout(timeout)
        return self._transaction(
            lambda conn: self._take_many(conn, count, deadline, key, share, time.time())
        )

    def ack_many(
        self,
        acks: Sequence[tuple[str, tuple[str, bytes] | None]],
        count: int = 0,
        timeout: float = 30.0,
        key: str | None = None,
        share: int = 1,
    ) -> tuple[int, list[Lease], bytes | EmptyDataType]:
        """Every acknowledgement with its result, then up to ``count`` leases,
        in one transaction: one turn of the write lock for the whole batch."""
        acks = list(acks)
        expires_at = self._result_expiry() if any(result for _, result in acks) else None
        now = time.time()
        deadline = now + _lease_timeout(timeout)
        results = [(self.name, r[0], 1, expires_at, r[1]) for _, r in acks if r is not None]
        held = [
            (row_id, self.name, receipt)
            for receipt, _ in acks
            for row_id in (_receipt_id(receipt),)
            if row_id is not None
        ]

        def body(conn: sqlite3.Connection):
            if results:
                conn.executemany(_PUT_DATA, results)
            acked = conn.executemany(_ACK, held).rowcount if held else 0
            if count <= 0:
                return acked, [], EmptyData
            return (acked, *self._take_many(conn, count, deadline, key, share, now))

        return self._transaction(body)

    def _take_many(
        self,
        conn: sqlite3.Connection,
        count: int,
        deadline: float,
        key: str | None,
        share: int,
        now: float,
    ) -> tuple[list[Lease], bytes | EmptyDataType]:
        """Lease up to ``count`` waiting messages in queue order (at most a
        ``share`` of those waiting, rounded up) inside ``conn``'s transaction,
        and read ``key`` when something was leased."""
        if share > 1:
            waiting = conn.execute(_WAITING_UP_TO, (self.name, count * share)).fetchone()[0]
            count = min(count, max(1, -(-waiting // share)))
        if self._returning:
            rows = conn.execute(
                _LEASE_MANY, (self._owner_suffix(), deadline, self.name, count)
            ).fetchall()
            rows.sort(key=lambda row: (-row[0], -(row[1] or 0.0), row[2]))
            leases = [Lease(receipt, data, deliveries) for *_, receipt, data, deliveries in rows]
        else:
            leases = []
            for row_id, data, deliveries in conn.execute(
                _LEASE_MANY_SELECT, (self.name, count)
            ).fetchall():
                leases.append(Lease(self._new_receipt(row_id), data, deliveries))
                conn.execute(_LEASE_UPDATE, (leases[-1].receipt, deadline, row_id))
        if not leases or key is None:
            return leases, EmptyData
        found = conn.execute(_PEEK, (self.name, key, now)).fetchone()
        return leases, EmptyData if found is None else found[0]

    def give_back(self, receipts: Sequence[str]) -> int:
        """Back to the queue head in the order given, delivery counts unchanged."""
        now = time.time()
        rows = [
            # the first given gets the latest returned_at: it is taken first
            (now + (len(receipts) - index) * 1e-6, row_id, self.name, receipt)
            for index, receipt in enumerate(receipts)
            for row_id in (_receipt_id(receipt),)
            if row_id is not None
        ]
        if not rows:
            return 0
        return self._transaction(lambda conn: conn.executemany(_GIVE_BACK, rows).rowcount)

    def extend_leases(self, receipts: Sequence[str], timeout: float) -> int:
        _lease_timeout(timeout)
        pairs = [
            (row_id, receipt)
            for receipt in receipts
            for row_id in (_receipt_id(receipt),)
            if row_id is not None
        ]
        extended = 0
        for chunk in _chunks(pairs):
            now = time.time()
            marks = ', '.join('?' * len(chunk))
            sql = (
                'UPDATE huey_queue SET lease_deadline = ? WHERE name = ? '
                f'AND id IN ({marks}) AND receipt IN ({marks}) AND lease_deadline >= ?'
            )
            params = [now + timeout, self.name]
            params += [row_id for row_id, _ in chunk]
            params += [receipt for _, receipt in chunk]
            params.append(now)
            extended += self._write(sql, params)
        return extended

    def release(self, receipt: str) -> bool:
        row_id = _receipt_id(receipt)
        if row_id is None:
            return False
        return self._write(_RELEASE, (time.time(), row_id, self.name, receipt)) == 1

    def requeue_expired_leases(self, now: float | None = None) -> int:
        if now is None:
            now = time.time()
        params = (self.name, now, self.name, now)
        if not self._fetchall(_ANY_LAPSED, params):
            return 0  # the common case, answered without taking the write lock

        def requeue(conn: sqlite3.Connection) -> int:
            # returned_at is always the real time (``now`` may be in the
            # future), so a later release() still goes ahead of these.
            count = conn.execute(_REQUEUE_LAPSED, (time.time(), *params)).rowcount
            conn.execute(_DROP_LAPSED_OWNERS, (self.name, now))
            return count

        return self._transaction(requeue)

    def heartbeat(self, owner: str, ttl: float) -> None:
        owner, ttl = check_heartbeat(owner, ttl)
        self._write(_HEARTBEAT, (self.name, owner, time.time() + ttl))

    def leased_count(self) -> int:
        return self._scalar(f'SELECT COUNT(*) FROM huey_queue WHERE {_LEASED}', (self.name,))

    # -- schedule ---------------------------------------------------------

    def add_to_schedule(self, data: bytes, ts: Timestamp, priority: int | None = None) -> None:
        self._write(
            'INSERT INTO huey_schedule (name, ts, priority, data) VALUES (?, ?, ?, ?)',
            (self.name, as_timestamp(ts), _priority(priority), data),
        )

    def read_schedule(self, ts: Timestamp) -> list[bytes]:
        params = (self.name, as_timestamp(ts))
        if not self._fetchall(_ANY_DUE, params):
            return []

        def take(conn: sqlite3.Connection) -> list[bytes]:
            rows = conn.execute(
                'SELECT data FROM huey_schedule WHERE name = ? AND ts <= ? ORDER BY ts, id', params
            ).fetchall()
            conn.execute(_DELETE_DUE, params)
            return [row[0] for row in rows]

        return self._transaction(take)

    def enqueue_due(self, ts: Timestamp) -> int:
        params = (self.name, as_timestamp(ts))
        if not self._fetchall(_ANY_DUE, params):
            return 0

        def move(conn: sqlite3.Connection) -> int:
            moved = conn.execute(
                'INSERT INTO huey_queue (name, priority, data) '
                'SELECT name, priority, data FROM huey_schedule '
                'WHERE name = ? AND ts <= ? ORDER BY ts, id',
                params,
            ).rowcount
            conn.execute(_DELETE_DUE, params)
            return moved

        return self._transaction(move)

    def schedule_size(self) -> int:
        return self._scalar('SELECT COUNT(*) FROM huey_schedule WHERE name = ?', (self.name,))

    def scheduled_items(self, limit: int | None = None) -> list[bytes]:
        limit = -1 if limit is None else max(limit, 0)
        rows = self._fetchall(
            'SELECT data FROM huey_schedule WHERE name = ? ORDER BY ts, id LIMIT ?',
            (self.name, limit),
        )
        return [row[0] for row in rows]

    def flush_schedule(self) -> None:
        self._write('DELETE FROM huey_schedule WHERE name = ?', (self.name,))

    # -- key/value data ---------------------------------------------------

    def put_data(self, key: str, value: bytes, is_result: bool = False) -> None:
        expires_at = self._result_expiry() if is_result else None
        self._write(_PUT_DATA, (self.name, key, 1 if is_result else 0, expires_at, value))

    def _result_expiry(self) -> float | None:
        """When a result stored now expires (None without ``expire_time``);
        expired rows are swept at most once a minute."""
        if self.expire_time is None:
            return None
        now = time.time()
        self._sweep_expired(now)
        return now + self.expire_time

    def peek_data(self, key: str) -> bytes | EmptyDataType:
        rows = self._fetchall(_PEEK, (self.name, key, time.time()))
        return rows[0][0] if rows else EmptyData

    def peek_data_many(self, keys: Sequence[str]) -> list[bytes | EmptyDataType]:
        keys = list(keys)
        found: dict[str, bytes] = {}
        now = time.time()
        for chunk in _chunks(keys):
            marks = ', '.join('?' * len(chunk))
            sql = f'SELECT key, value FROM huey_kv WHERE name = ? AND key IN ({marks}) AND {_LIVE}'
            found.update(self._fetchall(sql, [self.name, *chunk, now]))
        return [found.get(key, EmptyData) for key in keys]

    def pop_data(self, key: str) -> bytes | EmptyDataType:
        # Read first: polling for a result that is not there yet (the usual
        # case) then never takes the write lock.
        if self.peek_data(key) is EmptyData:
            return EmptyData
        if self._returning:
            rows = self._write_returning(_POP, (self.name, key))
            if not rows:
                return EmptyData
            value, expires_at = rows[0]
            return value if expires_at is None or expires_at > time.time() else EmptyData

        def take(conn: sqlite3.Connection) -> bytes | EmptyDataType:
            row = conn.execute(_PEEK, (self.name, key, time.time())).fetchone()
            conn.execute('DELETE FROM huey_kv WHERE name = ? AND key = ?', (self.name, key))
            return EmptyData if row is None else row[0]

        return self._transaction(take)

    def has_data_for_key(self, key: str) -> bool:
        return bool(
            self._fetchall(
                'SELECT 1 FROM huey_kv WHERE name = ? AND key = ? AND ' + _LIVE,
                (self.name, key, time.time()),
            )
        )

    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        now = time.time()
        expires_at = _expiry(ttl, now)
        stored = self._write(_PUT_IF_EMPTY, (self.name, key, expires_at, value, now)) == 1
        if ttl is not None:
            self._sweep_expired(now)
        return stored

    def delete_data(self, key: str) -> bool:
        return (
            self._write(
                'DELETE FROM huey_kv WHERE name = ? AND key = ? AND ' + _LIVE,
                (self.name, key, time.time()),
            )
            == 1
        )

    def delete_data_if(self, key: str, value: bytes) -> bool:
        return (
            self._write(
                'DELETE FROM huey_kv WHERE name = ? AND key = ? AND value = ? AND ' + _LIVE,
                (self.name, key, value, time.time()),
            )
            == 1
        )

    def flush_data(self) -> None:
        self._write('DELETE FROM huey_kv WHERE name = ?', (self.name,))

    # -- counters -----------------------------------------------------------

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        now = time.time()
        expires_at = _expiry(ttl, now)
        amount = int(amount)
        total = self._transaction(
            lambda conn: self._add_to_counter(conn, key, amount, expires_at, now)
        )
        if ttl is not None:
            self._sweep_expired(now)
        return total

    def incr_many(self, increments: Iterable[tuple[str, int, float | None]]) -> None:
        now = time.time()
        rows = [(key, int(amount), _expiry(ttl, now)) for key, amount, ttl in increments]
        if not rows:
            return

        def add_all(conn: sqlite3.Connection) -> None:
            for key, amount, expires_at in rows:
                self._add_to_counter(conn, key, amount, expires_at, now)

        self._transaction(add_all)
        if any(expires_at is not None for _, _, expires_at in rows):
            self._sweep_expired(now)

    def _add_to_counter(
        self, conn: sqlite3.Connection, key: str, amount: int, expires_at: float | None, now: float
    ) -> int:
        """Add ``amount`` to counter ``key`` (an expired one restarts, with
        ``expires_at``) within the caller's transaction; the new value."""
        row = conn.execute(
            'SELECT value FROM huey_counters WHERE name = ? AND key = ? AND ' + _LIVE,
            (self.name, key, now),
        ).fetchone()
        if row is None:
            conn.execute(
                'INSERT OR REPLACE INTO huey_counters (name, key, value, expires_at) '
                'VALUES (?, ?, ?, ?)',
                (self.name, key, amount, expires_at),
            )
            return amount
        conn.execute(
            'UPDATE huey_counters SET value = ? WHERE name = ? AND key = ?',
            (row[0] + amount, self.name, key),
        )
        return row[0] + amount

    def peek_counters(self, keys: Sequence[str]) -> list[int]:
        keys = list(keys)
        found: dict[str, int] = {}
        now = time.time()
        for chunk in _chunks(keys):
            marks = ', '.join('?' * len(chunk))
            sql = (
                f'SELECT key, value FROM huey_counters WHERE name = ? AND key IN ({marks}) '
                f'AND {_LIVE}'
            )
            found.update(self._fetchall(sql, [self.name, *chunk, now]))
        return [found.get(key, 0) for key in keys]

    def delete_counter(self, key: str) -> None:
        self._write('DELETE FROM huey_counters WHERE name = ? AND key = ?', (self.name, key))

    def flush_counters(self) -> None:
        self._write('DELETE FROM huey_counters WHERE name = ?', (self.name,))

    def _sweep_expired(self, now: float) -> None:
        """Delete expired keys (of every name) at most once a minute per storage."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + _SWEEP_INTERVAL
        swept = self._write('DELETE FROM huey_kv WHERE expires_at <= ?', (now,))
        swept += self._write('DELETE FROM huey_counters WHERE expires_at <= ?', (now,))
        if swept:
            logger.debug('%s: deleted %d expired keys', self.filename, swept)

    # -- results ----------------------------------------------------------

    def result_store_size(self) -> int:
        return self._scalar(
            'SELECT COUNT(*) FROM huey_kv WHERE name = ? AND ' + _LIVE,
            (self.name, time.time()),
        )

    def result_items(self) -> dict[str, bytes]:
        return dict(
            self._fetchall(
                'SELECT key, value FROM huey_kv WHERE name = ? AND ' + _LIVE,
                (self.name, time.time()),
            )
        )

    def result_keys(self) -> list[str]:
        return [
            row[0]
            for row in self._fetchall(
                'SELECT key FROM huey_kv WHERE name = ? AND ' + _LIVE, (self.name, time.time())
            )
        ]

    # -- dead letters -----------------------------------------------------

    def add_dead_letter(self, data: bytes, reason: str) -> str:
        return str(
            self._run_write(
                lambda conn: (
                    conn.execute(
                        'INSERT INTO huey_dead_letters (name, reason, failed_at, data) '
                        'VALUES (?, ?, ?, ?)',
                        (self.name, reason, time.time(), data),
                    ).lastrowid
                )
            )
        )

    def dead_letter(self, receipt: str, reason: str) -> str | None:
        row_id = _receipt_id(receipt)
        if row_id is None:
            return None

        def move(conn: sqlite3.Connection) -> str | None:
            cursor = conn.execute(
                'INSERT INTO huey_dead_letters (name, reason, failed_at, data) '
                'SELECT name, ?, ?, data FROM huey_queue '
                'WHERE id = ? AND name = ? AND receipt = ?',
                (reason, time.time(), row_id, self.name, receipt),
            )
            if cursor.rowcount != 1:
                return None
            conn.execute(_DELETE_BY_ID, (row_id,))
            return str(cursor.lastrowid)

        return self._transaction(move)

    def dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        limit = -1 if limit is None else max(limit, 0)
        rows = self._fetchall(
            'SELECT id, data, reason, failed_at FROM huey_dead_letters '
            'WHERE name = ? ORDER BY id LIMIT ?',
            (self.name, limit),
        )
        return [
            DeadLetter(str(row_id), data, reason, failed_at)
            for row_id, data, reason, failed_at in rows
        ]

    def requeue_dead_letter(self, id: str, priority: int | None = None) -> bool:
        priority = _priority(priority)
        row_id = _dead_letter_id(id)
        if row_id is None:
            return False

        def move(conn: sqlite3.Connection) -> bool:
            moved = conn.execute(
                'INSERT INTO huey_queue (name, priority, data) '
                'SELECT name, ?, data FROM huey_dead_letters '
                'WHERE id = ? AND name = ?',
                (priority, row_id, self.name),
            ).rowcount
            if moved:
                conn.execute('DELETE FROM huey_dead_letters WHERE id = ?', (row_id,))
            return moved == 1

        return self._transaction(move)

    def delete_dead_letter(self, id: str) -> bool:
        row_id = _dead_letter_id(id)
        if row_id is None:
            return False
        return (
            self._write(
                'DELETE FROM huey_dead_letters WHERE id = ? AND name = ?', (row_id, self.name)
            )
            == 1
        )

    def flush_dead_letters(self) -> int:
        return self._write('DELETE FROM huey_dead_letters WHERE name = ?', (self.name,))

    # -- lifecycle --------------------------------------------------------

    def flush_all(self) -> None:
        def delete_everything(conn: sqlite3.Connection) -> None:
            for table in (
                'huey_queue',
                'huey_schedule',
                'huey_kv',
                'huey_counters',
                'huey_dead_letters',
            ):
                conn.execute(f'DELETE FROM {table} WHERE name = ?', (self.name,))

        self._transaction(delete_everything)

    def close(self) -> None:
        self._pool.close()

    def __getstate__(self) -> dict:
        """Pickle the options only (for multiprocessing 'spawn'); connections reopen."""
        return {
            'name': self.name,
            'filename': self.filename,
            'cache_mb': self.cache_mb,
            'fsync': self.fsync,
            'journal_mode': self.journal_mode,
            'timeout': self.timeout,
            'strict_fifo': self.strict_fifo,
            'create_tables': self.create_tables,
            'pragmas': self.pragmas,
        }

    def __setstate__(self, state: dict) -> None:
        self.__init__(**state)

    def __repr__(self) -> str:
        return f'<SqliteStorage {self.name!r} {self.filename!r}>'
