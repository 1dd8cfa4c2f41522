"""The SQL every database shares: one ``Backend`` per storage handle.

Statements are written once with ``{queue}``, ``{schedule}``, ``{kv}``,
``{dead}`` (table names), ``{key}`` (the quoted key column) and ``{lock}``
(the row-locking clause of the database) placeholders and ``%s`` parameters.
The generic operations run a few statements inside one transaction; the
PostgreSQL backend replaces the hot ones with single statements.

Queue order is ``priority DESC, order_key, id``: new messages get
``order_key`` 0, messages returned to the head (release, expired leases) get
one less than the smallest ``order_key`` of the queue. ``deliveries`` holds the
count the next lease reports: 1 when enqueued, +1 per expired lease.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
import uuid
from typing import Any, Callable, Iterable, Iterator, Sequence

import peewee
from huey_storage import DeadLetter, EmptyData, Lease

__all__ = ['Backend', 'retry_transient']

logger = logging.getLogger(__name__)

#: Attempts of an operation aborted by a deadlock or serialization failure.
ATTEMPTS = 10

#: Rows per multi-row INSERT or IN (...) list.
CHUNK = 500

NOT_EXPIRED = '(expires_at IS NULL OR expires_at > %s)'
QUEUE_ORDER = 'ORDER BY priority DESC, order_key, id'


def is_transient(exc: BaseException) -> bool:
    """True for errors after which the whole operation may simply run again:
    the database rolled it back (deadlock, serialization failure, lock wait)."""
    original = getattr(exc, 'orig', None) or exc  # peewee keeps the driver's error there
    if getattr(original, 'pgcode', None) in ('40P01', '40001'):
        return True
    args = getattr(original, 'args', ())
    # MySQL: 1213 deadlock (transaction rolled back), 1205 lock wait timeout
    return (
        type(original).__module__.startswith('pymysql') and bool(args) and args[0] in (1213, 1205)
    )


def retry_transient(database: peewee.Database, operation: Callable[..., Any], *args: Any) -> Any:
    """``operation(*args)``, run again (with a short random pause) while it
    fails transiently, unless an enclosing transaction was aborted with it."""
    attempt = 1
    while True:
        try:
            return operation(*args)
        except Exception as exc:
            if attempt >= ATTEMPTS or not is_transient(exc) or database.in_transaction():
                raise
            logger.debug('%s aborted (%s); retrying', operation.__name__, exc)
        time.sleep(random.uniform(0, min(0.002 * 2**attempt, 0.1)))
        attempt += 1


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _placeholders(count: int, row: str = '%s') -> str:
    return ', '.join([row] * count)


class Backend:
    """Storage operations in portable SQL for one (database, name, prefix)."""

    #: Quote character of identifiers.
    quote = '"'
    #: Parameter marker of the driver (the templates use ``%s``).
    param = '%s'
    #: Appended to the SELECTs that pick rows to take (``FOR UPDATE ...``).
    lock_clause = ''
    #: Statement storing a value, replacing any (params: name, key, value, is_result,
    #: expires_at).
    put_data_sql = ''
    #: Statement inserting a kv row unless the key exists
    #: (params: name, key, value, is_result, expires_at).
    insert_ignore_sql = ''

    def __init__(self, database: peewee.Database, name: str, table_prefix: str) -> None:
        self.database = database
        self.name = name
        self.table_prefix = table_prefix
        #: seconds a stored result lives (SqlStorage's ``expire_time``); None: until read
        self.result_ttl: float | None = None
        self._statements: dict[str, str] = {}
        #: the storage's ``lease_owner``, recorded in each receipt
        self.lease_owner: str | None = None

    # -- plumbing -----------------------------------------------------------

    @staticmethod
    def setup_connection(conn: Any) -> None:
        """Configure a connection the storage uses for the first time."""

    @staticmethod
    def check_key(key: str) -> None:
        """Refuse a key the kv table cannot hold (nothing to refuse here)."""

    def result_expiry(self) -> float | None:
        """When a result stored now expires; None when results never do."""
        return None if self.result_ttl is None else time.time() + self.result_ttl

    def expiry_of(self, is_result: bool) -> float | None:
        return self.result_expiry() if is_result else None

    @classmethod
    def schema_statements(cls, table_prefix: str) -> list[str]:
        """DDL creating the tables and indexes (idempotent)."""
        raise NotImplementedError

    def prepare(self) -> None:
        """Learn what the server supports (called once connected, before any statement)."""

    def sql(self, template: str) -> str:
        """``template`` with table names and the driver's parameter marker filled in."""
        statement = self._statements.get(template)
        if statement is None:
            prefix, q = self.table_prefix, self.quote
            statement = template.format(
                queue=prefix + 'queue',
                schedule=prefix + 'schedule',
                kv=prefix + 'kv',
                dead=prefix + 'dead_letter',
                owners=prefix + 'lease_owner',
                key=q[0] + 'key' + q[-1],
                lock=self.lock_clause,
            )
            if self.param != '%s':
                statement = statement.replace('%s', self.param)
            self._statements[template] = statement
        return statement

    def execute(self, template: str, params: Sequence[Any] = ()) -> Any:
        return self.database.execute_sql(self.sql(template), params)

    def fetchone(self, template: str, params: Sequence[Any] = ()) -> tuple | None:
        return self.execute(template, params).fetchone()

    def fetchall(self, template: str, params: Sequence[Any] = ()) -> list[tuple]:
        return list(self.execute(template, params).fetchall())

    def scalar(self, template: str, params: Sequence[Any] = ()) -> Any:
        row = self.fetchone(template, params)
        return None if row is None else row[0]

    def transaction(self) -> contextlib.AbstractContextManager:
        """One transaction, committed on success and rolled back on error."""
        return self.database.atomic()

    def notify(self) -> None:
        """Wake blocked readers after the queue grew (PostgreSQL only)."""

    @staticmethod
    def to_bytes(value: Any) -> bytes:
        """A BLOB as bytes. A value of another type (SQLite keeps whatever was
        written) comes back as its text, so the reader refuses it as a message
        it cannot decode instead of failing here, every time it is leased."""
        if type(value) is bytes:
            return value
        if isinstance(value, (bytearray, memoryview)):
            return bytes(value)
        return str(value).encode('utf-8', 'replace')

    @staticmethod
    def to_str(value: Any) -> str:
        return value if isinstance(value, str) else bytes(value).decode('utf-8')

    def new_receipt(self) -> str:
        """A fresh receipt, naming the lease's owner before a '/' when it has one."""
        owner = self.lease_owner
        return uuid.uuid4().hex if owner is None else f'{owner}/{uuid.uuid4().hex}'

    def _head_order_key(self) -> int:
        """An ``order_key`` placing a message before every other one of its priority."""
        lowest = self.scalar('SELECT MIN(order_key) FROM {queue} WHERE name = %s', (self.name,))
        return min(lowest or 0, 0) - 1

    # -- queue --------------------------------------------------------------

    def enqueue(self, data: bytes, priority: int | None) -> None:
        self.execute(
            'INSERT INTO {queue} (name, priority, order_key, deliveries, data) '
            'VALUES (%s, %s, 0, 1, %s)',
            (self.name, priority or 0, data),
        )
        self.notify()

    def enqueue_many(self, items: Iterable[tuple[bytes, int | None]]) -> None:
        rows = [(self.name, priority or 0, data) for data, priority in items]
        if not rows:
            return
        with self.transaction():
            for chunk in _chunks(rows):
                self.database.execute_sql(
                    self.sql(
                        'INSERT INTO {queue} (name, priority, order_key, deliveries, data) VALUES '
                    )
                    + _placeholders(len(chunk), self.sql('(%s, %s, 0, 1, %s)')),
                    [value for row in chunk for value in row],
                )
        self.notify()

    def dequeue(self) -> bytes | None:
        with self.transaction():
            row = self.fetchone(
                'SELECT id, data FROM {queue} WHERE name = %s AND receipt IS NULL '
                + QUEUE_ORDER
                + ' LIMIT 1{lock}',
                (self.name,),
            )
            if row is None:
                return None
            self.execute('DELETE FROM {queue} WHERE id = %s', (row[0],))
        return self.to_bytes(row[1])

    def queue_size(self) -> int:
        return self.scalar(
            'SELECT COUNT(*) FROM {queue} WHERE name = %s AND receipt IS NULL', (self.name,)
        )

    def enqueued_items(self, limit: int | None) -> list[bytes]:
        template = 'SELECT data FROM {queue} WHERE name = %s AND receipt IS NULL ' + QUEUE_ORDER
        params: tuple = (self.name,)
        if limit is not None:
            template += ' LIMIT %s'
            params += (max(int(limit), 0),)
        return [self.to_bytes(data) for (data,) in self.fetchall(template, params)]

    def flush_queue(self) -> None:
        with self.transaction():
            self.execute('DELETE FROM {queue} WHERE name = %s', (self.name,))
            self.execute('DELETE FROM {owners} WHERE name = %s', (self.name,))

    # -- leases -------------------------------------------------------------

    def lease(self, timeout: float) -> Lease | None:
        receipt = self.new_receipt()
        with self.transaction():
            row = self.fetchone(
                'SELECT id, data, deliveries FROM {queue} '
                'WHERE name = %s AND receipt IS NULL ' + QUEUE_ORDER + ' LIMIT 1{lock}',
                (self.name,),
            )
            if row is None:
                return None
            self.execute(
                'UPDATE {queue} SET receipt = %s, lease_deadline = %s WHERE id = %s',
                (receipt, time.time() + timeout, row[0]),
            )
        return Lease(receipt, self.to_bytes(row[1]), row[2])

    def ack(self, receipt: str, result: tuple[str, bytes] | None) -> bool:
        delete = 'DELETE FROM {queue} WHERE name = %s AND receipt = %s'
        if result is None:
            return self.execute(delete, (self.name, receipt)).rowcount > 0
        key, value = result
        with self.transaction():
            acked = self.execute(delete, (self.name, receipt)).rowcount > 0
            self.execute(self.put_data_sql, (self.name, key, value, True, self.result_expiry()))
        return acked

    def extend_leases(self, receipts: Sequence[str], timeout: float) -> int:
        now = time.time()
        extended = 0
        for chunk in _chunks(list(receipts)):
            extended += self.execute(
                'UPDATE {queue} SET lease_deadline = %s WHERE name = %s AND lease_deadline >= %s '
                'AND receipt IN (' + _placeholders(len(chunk)) + ')',
                (now + timeout, self.name, now, *chunk),
            ).rowcount
        return extended

    def release(self, receipt: str) -> bool:
        with self.transaction():
            released = (
                self.execute(
                    'UPDATE {queue} SET receipt = NULL, lease_deadline = NULL, order_key = %s, '
                    'deliveries = deliveries + 1 WHERE name = %s AND receipt = %s',
                    (self._head_order_key(), self.name, receipt),
                ).rowcount
                > 0
            )
        if released:
            self.notify()
        return released

    def requeue_expired_leases(self, now: float) -> int:
        with self.transaction():
            requeued = self.execute(
                'UPDATE {queue} SET receipt = NULL, lease_deadline = NULL, order_key = %s, '
                'deliveries = deliveries + 1 '
                'WHERE name = %s AND receipt IS NOT NULL AND lease_deadline < %s',
                (self._head_order_key(), self.name, now),
            ).rowcount
        if requeued:
            self.notify()
        return requeued

    def heartbeat(self, owner: str, deadline: float) -> None:
        """Record ``owner`` alive until ``deadline``: update, else insert (portable)."""
        with self.transaction():
            updated = self.execute(
                'UPDATE {owners} SET deadline = %s WHERE name = %s AND owner = %s',
                (deadline, self.name, owner),
            ).rowcount
            if not updated:
                self.execute(
                    'INSERT INTO {owners} (name, owner, deadline) VALUES (%s, %s, %s)',
                    (self.name, owner, deadline),
                )

    def requeue_orphans(self, now: float) -> int:
        """Requeue the leases of owners with no heartbeat at ``now`` (their
        records are dropped); receipts without a '/' have no owner."""
        with self.transaction():
            self.execute('DELETE FROM {owners} WHERE name = %s AND deadline < %s', (self.name, now))
            receipts = self.fetchall(
                'SELECT receipt FROM {queue} WHERE name = %s AND receipt IS NOT NULL',
                (self.name,),
            )
            owned = [self.to_str(r) for (r,) in receipts if '/' in self.to_str(r)]
            if not owned:
                return 0
            live = {
                self.to_str(owner)
                for (owner,) in self.fetchall(
                    'SELECT owner FROM {owners} WHERE name = %s', (self.name,)
                )
            }
            orphans = [r for r in owned if r.partition('/')[0] not in live]
            requeued = 0
            if orphans:
                order_key = self._head_order_key()
            for chunk in _chunks(orphans):
                requeued += self.execute(
                    'UPDATE {queue} SET receipt = NULL, lease_deadline = NULL, order_key = %s, '
                    'deliveries = deliveries + 1 WHERE name = %s AND receipt IN ('
                    + _placeholders(len(chunk))
                    + ')',
                    (order_key, self.name, *chunk),
                ).rowcount
        if requeued:
            self.notify()
        return requeued

    def leased_count(self) -> int:
        return self.scalar(
            'SELECT COUNT(*) FROM {queue} WHERE name = %s AND receipt IS NOT NULL', (self.name,)
        )

    # -- schedule -----------------------------------------------------------

    def add_to_schedule(self, data: bytes, ts: float, priority: int | None) -> None:
        self.execute(
            'INSERT INTO {schedule} (name, ts, priority, data) VALUES (%s, %s, %s, %s)',
            (self.name, ts, priority, data),
        )

    def _take_due(self, ts: float) -> list[tuple]:
        """Lock and delete the due items, inside the caller's transaction."""
        rows = self.fetchall(
            'SELECT id, priority, data FROM {schedule} '
            'WHERE name = %s AND ts <= %s ORDER BY ts, id{lock}',
            (self.name, ts),
        )
        for chunk in _chunks([row[0] for row in rows]):
            self.execute(
                'DELETE FROM {schedule} WHERE id IN (' + _placeholders(len(chunk)) + ')', chunk
            )
        return rows

    def read_schedule(self, ts: float) -> list[bytes]:
        with self.transaction():
            rows = self._take_due(ts)
        return [self.to_bytes(data) for _, _, data in rows]

    def enqueue_due(self, ts: float) -> int:
        with self.transaction():
            rows = self._take_due(ts)
            for chunk in _chunks(rows):
                self.database.execute_sql(
                    self.sql(
                        'INSERT INTO {queue} (name, priority, order_key, deliveries, data) VALUES '
                    )
                    + _placeholders(len(chunk), self.sql('(%s, %s, 0, 1, %s)')),
                    [
                        value
                        for _, priority, data in chunk
                        for value in (self.name, priority or 0, data)
                    ],
                )
        if rows:
            self.notify()
        return len(rows)

    def schedule_size(self) -> int:
        return self.scalar('SELECT COUNT(*) FROM {schedule} WHERE name = %s', (self.name,))

    def scheduled_items(self, limit: int | None) -> list[bytes]:
        template = 'SELECT data FROM {schedule} WHERE name = %s ORDER BY ts, id'
        params: tuple = (self.name,)
        if limit is not None:
            template += ' LIMIT %s'
            params += (max(int(limit), 0),)
        return [self.to_bytes(data) for (data,) in self.fetchall(template, params)]

    def flush_schedule(self) -> None:
        self.execute('DELETE FROM {schedule} WHERE name = %s', (self.name,))

    # -- key/value data -------------------------------------------------------

    def put_data(self, key: str, value: bytes, is_result: bool) -> None:
        self.execute(
            self.put_data_sql, (self.name, key, value, is_result, self.expiry_of(is_result))
        )

    def peek_data(self, key: str) -> bytes | type(EmptyData):
        row = self.fetchone(
            'SELECT value FROM {kv} WHERE name = %s AND {key} = %s AND ' + NOT_EXPIRED,
            (self.name, key, time.time()),
        )
        return EmptyData if row is None else self.to_bytes(row[0])

    def peek_data_many(self, keys: Sequence[str]) -> list:
        found: dict[str, bytes] = {}
        now = time.time()
        for chunk in _chunks(list(dict.fromkeys(keys))):
            for key, value in self.fetchall(
                'SELECT {key}, value FROM {kv} WHERE name = %s AND '
                + NOT_EXPIRED
                + ' AND {key} IN ('
                + _placeholders(len(chunk))
                + ')',
                (self.name, now, *chunk),
            ):
                found[self.to_str(key)] = self.to_bytes(value)
        return [found.get(key, EmptyData) for key in keys]

    def pop_data(self, key: str) -> bytes | type(EmptyData):
        with self.transaction():
            row = self.fetchone(
                'SELECT value, expires_at FROM {kv} WHERE name = %s AND {key} = %s{lock}',
                (self.name, key),
            )
            if row is None:
                return EmptyData
            self.execute('DELETE FROM {kv} WHERE name = %s AND {key} = %s', (self.name, key))
        value, expires_at = row
        if expires_at is not None and expires_at <= time.time():
            return EmptyData
        return self.to_bytes(value)

    def has_data_for_key(self, key: str) -> bool:
        return (
            self.fetchone(
                'SELECT 1 FROM {kv} WHERE name = %s AND {key} = %s AND ' + NOT_EXPIRED,
                (self.name, key, time.time()),
            )
            is not None
        )

    def put_if_empty(self, key: str, value: bytes, ttl: float | None) -> bool:
        # Two atomic statements, no transaction: insert unless the key exists,
        # else take over the row only if it has expired. Concurrent callers
        # serialize on the row, so exactly one of them wins.
        now = time.time()
        expires_at = None if ttl is None else now + ttl
        if (
            self.execute(
                self.insert_ignore_sql, (self.name, key, value, False, expires_at)
            ).rowcount
            > 0
        ):
            return True
        return (
            self.execute(
                'UPDATE {kv} SET value = %s, is_result = %s, expires_at = %s '
                'WHERE name = %s AND {key} = %s AND expires_at IS NOT NULL AND expires_at <= %s',
                (value, False, expires_at, self.name, key, now),
            ).rowcount
            > 0
        )

    def delete_data(self, key: str) -> bool:
        return (
            self.execute(
                'DELETE FROM {kv} WHERE name = %s AND {key} = %s AND ' + NOT_EXPIRED,
                (self.name, key, time.time()),
            ).rowcount
            > 0
        )

    def delete_data_if(self, key: str, value: bytes) -> bool:
        return (
            self.execute(
                'DELETE FROM {kv} WHERE name = %s AND {key} = %s AND value = %s AND ' + NOT_EXPIRED,
                (self.name, key, value, time.time()),
            ).rowcount
            > 0
        )

    def incr(self, key: str, amount: int, ttl: float | None) -> int:
        raise NotImplementedError

    def purge_expired(self, now: float) -> int:
        """Delete every expired key of this name; returns how many."""
        return self.execute(
            'DELETE FROM {kv} WHERE name = %s AND expires_at IS NOT NULL AND expires_at <= %s',
            (self.name, now),
        ).rowcount

    # -- results ------------------------------------------------------------

    def result_store_size(self) -> int:
        return self.scalar(
            'SELECT COUNT(*) FROM {kv} WHERE name = %s AND ' + NOT_EXPIRED,
            (self.name, time.time()),
        )

    def result_items(self) -> dict[str, bytes]:
        return {
            self.to_str(key): self.to_bytes(value)
            for key, value in self.fetchall(
                'SELECT {key}, value FROM {kv} WHERE name = %s AND ' + NOT_EXPIRED,
                (self.name, time.time()),
            )
        }

    def result_keys(self) -> list[str]:
        return [
            self.to_str(key)
            for (key,) in self.fetchall(
                'SELECT {key} FROM {kv} WHERE name = %s AND ' + NOT_EXPIRED,
                (self.name, time.time()),
            )
        ]

    def flush_data(self) -> None:
        self.execute('DELETE FROM {kv} WHERE name = %s', (self.name,))

    # -- dead letters ---------------------------------------------------------

    def add_dead_letter(self, data: bytes, reason: str) -> str:
        cursor = self.execute(
            'INSERT INTO {dead} (name, data, reason, failed_at) VALUES (%s, %s, %s, %s)',
            (self.name, data, reason, time.time()),
        )
        return str(cursor.lastrowid)

    def dead_letter(self, receipt: str, reason: str) -> str | None:
        with self.transaction():
            row = self.fetchone(
                'SELECT id, data FROM {queue} WHERE name = %s AND receipt = %s{lock}',
                (self.name, receipt),
            )
            if row is None:
                return None
            self.execute('DELETE FROM {queue} WHERE id = %s', (row[0],))
            return self.add_dead_letter(row[1], reason)

    def dead_letters(self, limit: int | None) -> list[DeadLetter]:
        template = 'SELECT id, data, reason, failed_at FROM {dead} WHERE name = %s ORDER BY id'
        params: tuple = (self.name,)
        if limit is not None:
            template += ' LIMIT %s'
            params += (max(int(limit), 0),)
        return [
            DeadLetter(str(id_), self.to_bytes(data), self.to_str(reason), failed_at)
            for id_, data, reason, failed_at in self.fetchall(template, params)
        ]

    def requeue_dead_letter(self, id_: int, priority: int | None) -> bool:
        with self.transaction():
            row = self.fetchone(
                'SELECT data FROM {dead} WHERE name = %s AND id = %s{lock}', (self.name, id_)
            )
            if row is None:
                return False
            self.execute('DELETE FROM {dead} WHERE id = %s', (id_,))
            self.execute(
                'INSERT INTO {queue} (name, priority, order_key, deliveries, data) '
                'VALUES (%s, %s, 0, 1, %s)',
                (self.name, priority or 0, row[0]),
            )
        self.notify()
        return True

    def delete_dead_letter(self, id_: int) -> bool:
        return (
            self.execute(
                'DELETE FROM {dead} WHERE name = %s AND id = %s', (self.name, id_)
            ).rowcount
            > 0
        )

    def flush_dead_letters(self) -> int:
        return self.execute('DELETE FROM {dead} WHERE name = %s', (self.name,)).rowcount
