"""PostgreSQL: single-statement operations, SKIP LOCKED and LISTEN/NOTIFY.

Every hot operation is one statement, hence one round trip and atomic on its
own: leasing is ``UPDATE ... WHERE id = (SELECT ... FOR UPDATE SKIP LOCKED)
RETURNING``, so any number of consumers share a queue without waiting on each
other or getting one message twice; moves between tables are data-modifying
CTEs (``WITH moved AS (DELETE ... RETURNING) INSERT ...``).

Whatever makes a message available also sends ``pg_notify`` on a channel
named after the schema, table prefix and storage name. A reader finding the
queue empty waits on a dedicated ``LISTEN`` connection (``poll()`` on its
socket) until a notification or its read timeout, whichever comes first.
``put_data`` and ``ack`` with a result notify a second channel, on which
``wait_data`` (blocking result reads) waits the same way.
"""

from __future__ import annotations

import hashlib
import logging
import os
import select
import threading
import time
from typing import Any, Sequence

import peewee
from huey_storage import EmptyData, Lease

from huey_storage_sql.backend import QUEUE_ORDER, Backend
from huey_storage_sql.connections import ConnectionGuard, close_quietly

__all__ = ['PostgresBackend', 'PostgresListener']

logger = logging.getLogger(__name__)

#: PostgreSQL truncates identifiers (channel names included) to 63 bytes.
MAX_CHANNEL = 63

NEXT_WAITING = (
    'SELECT id FROM {queue} WHERE name = %s AND receipt IS NULL '
    + QUEUE_ORDER
    + ' LIMIT 1 FOR UPDATE SKIP LOCKED'
)
HEAD_ORDER_KEY = '(SELECT LEAST(COALESCE(MIN(order_key), 0), 0) - 1 FROM {queue} WHERE name = %s)'
DUE_IDS = (
    'SELECT id FROM {schedule} WHERE name = %s AND ts <= %s ORDER BY ts, id FOR UPDATE SKIP LOCKED'
)
UPSERT_RESULT = (
    'INSERT INTO {kv} (name, {key}, value, is_result, expires_at) '
    'VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name, {key}) DO UPDATE '
    'SET value = EXCLUDED.value, is_result = EXCLUDED.is_result, expires_at = EXCLUDED.expires_at'
)
INSERT_MESSAGE = (
    'INSERT INTO {queue} (name, priority, order_key, deliveries, data) VALUES (%s, %s, 0, 1, %s)'
)
EXPIRED = '{kv}.expires_at IS NOT NULL AND {kv}.expires_at <= %s'


class PostgresBackend(Backend):
    """PostgreSQL >= 9.5 (SKIP LOCKED, ON CONFLICT)."""

    put_data_sql = UPSERT_RESULT
    insert_ignore_sql = (
        'INSERT INTO {kv} (name, {key}, value, is_result, expires_at) '
        'VALUES (%s, %s, %s, %s, %s) ON CONFLICT (name, {key}) DO NOTHING'
    )

    def __init__(self, database: peewee.Database, name: str, table_prefix: str) -> None:
        super().__init__(database, name, table_prefix)
        self._schema: str | None = None
        self._channel: str | None = None
        self._data_channel: str | None = None

    @classmethod
    def schema_statements(cls, table_prefix: str) -> list[str]:
        p = table_prefix
        return [
            f'CREATE TABLE IF NOT EXISTS {p}queue ('
            ' id BIGSERIAL PRIMARY KEY,'
            ' name TEXT NOT NULL,'
            ' priority INTEGER NOT NULL DEFAULT 0,'
            ' order_key BIGINT NOT NULL DEFAULT 0,'
            ' data BYTEA NOT NULL,'
            ' receipt TEXT,'
            ' lease_deadline DOUBLE PRECISION,'
            ' deliveries INTEGER NOT NULL DEFAULT 1)',
            f'CREATE INDEX IF NOT EXISTS {p}queue_waiting ON {p}queue '
            '(name, priority DESC, order_key, id) WHERE receipt IS NULL',
            f'CREATE UNIQUE INDEX IF NOT EXISTS {p}queue_receipt ON {p}queue (receipt) '
            'WHERE receipt IS NOT NULL',
            f'CREATE INDEX IF NOT EXISTS {p}queue_leased ON {p}queue (name, lease_deadline) '
            'WHERE receipt IS NOT NULL',
            f'CREATE TABLE IF NOT EXISTS {p}schedule ('
            ' id BIGSERIAL PRIMARY KEY,'
            ' name TEXT NOT NULL,'
            ' ts DOUBLE PRECISION NOT NULL,'
            ' priority INTEGER,'
            ' data BYTEA NOT NULL)',
            f'CREATE INDEX IF NOT EXISTS {p}schedule_due ON {p}schedule (name, ts, id)',
            f'CREATE TABLE IF NOT EXISTS {p}kv ('
            ' name TEXT NOT NULL,'
            ' key TEXT NOT NULL,'
            ' value BYTEA NOT NULL,'
            ' is_result BOOLEAN NOT NULL DEFAULT FALSE,'
            ' expires_at DOUBLE PRECISION,'
            ' PRIMARY KEY (name, key))',
            f'CREATE INDEX IF NOT EXISTS {p}kv_expires ON {p}kv (name, expires_at) '
            'WHERE expires_at IS NOT NULL',
            f'CREATE TABLE IF NOT EXISTS {p}dead_letter ('
            ' id BIGSERIAL PRIMARY KEY,'
            ' name TEXT NOT NULL,'
            ' data BYTEA NOT NULL,'
            ' reason TEXT NOT NULL,'
            ' failed_at DOUBLE PRECISION NOT NULL)',
            f'CREATE INDEX IF NOT EXISTS {p}dead_letter_name ON {p}dead_letter (name, id)',
            f'CREATE TABLE IF NOT EXISTS {p}lease_owner ('
            ' name TEXT NOT NULL,'
            ' owner TEXT NOT NULL,'
            ' deadline DOUBLE PRECISION NOT NULL,'
            ' PRIMARY KEY (name, owner))',
        ]

    # -- notifications --------------------------------------------------------

    def _channel_name(self, suffix: str) -> str:
        if self._schema is None:
            self._schema = self.database.execute_sql('SELECT current_schema()').fetchone()[0]
        channel = f'huey:{self._schema}.{self.table_prefix}{self.name}{suffix}'
        if len(channel.encode('utf-8')) > MAX_CHANNEL:
            channel = 'huey:' + hashlib.sha1(channel.encode('utf-8')).hexdigest()
        return channel

    @property
    def channel(self) -> str:
        """The NOTIFY channel of this queue: one per schema, prefix and name."""
        if self._channel is None:
            self._channel = self._channel_name('')
        return self._channel

    @property
    def data_channel(self) -> str:
        """The NOTIFY channel of stored values (``put_data``, ``ack`` with a result)."""
        if self._data_channel is None:
            self._data_channel = self._channel_name(':data')
        return self._data_channel

    def notify(self) -> None:
        self.database.execute_sql("SELECT pg_notify(%s, '')", (self.channel,))

    def _count_and_notify(self, template: str, params: Sequence[Any], before: str = '') -> int:
        """Run a data-modifying ``template`` (RETURNING one row per change) and
        notify listeners in the same statement if it changed anything.
        ``before`` holds earlier common table expressions (``name AS (...), ``)."""
        row = self.fetchone(
            'WITH ' + before + 'changed AS (' + template + ') '
            "SELECT n, (SELECT pg_notify(%s, '') WHERE n > 0) "
            'FROM (SELECT COUNT(*) AS n FROM changed) counted',
            (*params, self.channel),
        )
        return row[0]

    # -- queue --------------------------------------------------------------

    def enqueue(self, data: bytes, priority: int | None) -> None:
        self.execute(
            INSERT_MESSAGE + "; SELECT pg_notify(%s, '')",
            (self.name, priority or 0, data, self.channel),
        )

    def dequeue(self) -> bytes | None:
        row = self.fetchone(
            'DELETE FROM {queue} WHERE id = (' + NEXT_WAITING + ') RETURNING data', (self.name,)
        )
        return None if row is None else self.to_bytes(row[0])

    # -- leases -------------------------------------------------------------

    def lease(self, timeout: float) -> Lease | None:
        receipt = self.new_receipt()
        row = self.fetchone(
            'UPDATE {queue} SET receipt = %s, lease_deadline = %s '
            'WHERE id = (' + NEXT_WAITING + ') RETURNING data, deliveries',
            (receipt, time.time() + timeout, self.name),
        )
        return None if row is None else Lease(receipt, self.to_bytes(row[0]), row[1])

    def ack(self, receipt: str, result: tuple[str, bytes] | None) -> bool:
        if result is None:
            return super().ack(receipt, None)
        key, value = result
        return (
            self.scalar(
                'WITH acked AS (DELETE FROM {queue} WHERE name = %s AND receipt = %s '
                'RETURNING 1), stored AS (' + UPSERT_RESULT + ') '
                "SELECT (SELECT COUNT(*) FROM acked), pg_notify(%s, '')",
                (
                    self.name,
                    receipt,
                    self.name,
                    key,
                    value,
                    True,
                    self.result_expiry(),
                    self.data_channel,
                ),
            )
            > 0
        )

    def release(self, receipt: str) -> bool:
        return (
            self._count_and_notify(
                'UPDATE {queue} SET receipt = NULL, lease_deadline = NULL, '
                'deliveries = deliveries + 1, order_key = ' + HEAD_ORDER_KEY + ' '
                'WHERE name = %s AND receipt = %s RETURNING 1',
                (self.name, self.name, receipt),
            )
            > 0
        )

    def requeue_expired_leases(self, now: float) -> int:
        return self._count_and_notify(
            'UPDATE {queue} SET receipt = NULL, lease_deadline = NULL, '
            'deliveries = deliveries + 1, order_key = ' + HEAD_ORDER_KEY + ' '
            'WHERE name = %s AND receipt IS NOT NULL AND lease_deadline < %s RETURNING 1',
            (self.name, self.name, now),
        )

    # -- schedule -----------------------------------------------------------

    def read_schedule(self, ts: float) -> list[bytes]:
        rows = self.fetchall(
            'DELETE FROM {schedule} WHERE id IN (' + DUE_IDS + ') RETURNING ts, id, data',
            (self.name, ts),
        )
        rows.sort(key=lambda row: (row[0], row[1]))
        return [self.to_bytes(data) for _, _, data in rows]

    def enqueue_due(self, ts: float) -> int:
        return self._count_and_notify(
            'INSERT INTO {queue} (name, priority, order_key, deliveries, data) '
            'SELECT %s, COALESCE(priority, 0), 0, 1, data FROM due ORDER BY ts, id RETURNING 1',
            (self.name, ts, self.name),
            before='due AS (DELETE FROM {schedule} WHERE id IN (' + DUE_IDS + ') '
            'RETURNING ts, id, priority, data), ',
        )

    # -- key/value data -------------------------------------------------------

    def put_data(self, key: str, value: bytes, is_result: bool) -> None:
        self.execute(
            UPSERT_RESULT + "; SELECT pg_notify(%s, '')",
            (self.name, key, value, is_result, self.expiry_of(is_result), self.data_channel),
        )

    def pop_data(self, key: str) -> bytes | type(EmptyData):
        row = self.fetchone(
            'DELETE FROM {kv} WHERE name = %s AND {key} = %s RETURNING value, expires_at',
            (self.name, key),
        )
        if row is None or (row[1] is not None and row[1] <= time.time()):
            return EmptyData
        return self.to_bytes(row[0])

    def put_if_empty(self, key: str, value: bytes, ttl: float | None) -> bool:
        now = time.time()
        return (
            self.fetchone(
                'INSERT INTO {kv} (name, {key}, value, is_result, expires_at) '
                'VALUES (%s, %s, %s, FALSE, %s) ON CONFLICT (name, {key}) DO UPDATE '
                'SET value = EXCLUDED.value, is_result = FALSE, expires_at = EXCLUDED.expires_at '
                'WHERE ' + EXPIRED + ' RETURNING 1',
                (self.name, key, value, None if ttl is None else now + ttl, now),
            )
            is not None
        )

    def incr(self, key: str, amount: int, ttl: float | None) -> int:
        now = time.time()
        value = self.scalar(
            'INSERT INTO {kv} (name, {key}, value, is_result, expires_at) '
            'VALUES (%s, %s, %s, FALSE, %s) ON CONFLICT (name, {key}) DO UPDATE SET '
            'value = CASE WHEN ' + EXPIRED + ' THEN EXCLUDED.value ELSE convert_to('
            "(convert_from({kv}.value, 'UTF8')::BIGINT + %s)::TEXT, 'UTF8') END, "
            'expires_at = CASE WHEN ' + EXPIRED + ' THEN EXCLUDED.expires_at '
            'ELSE {kv}.expires_at END RETURNING value',
            (self.name, key, b'%d' % amount, None if ttl is None else now + ttl, now, amount, now),
        )
        return int(self.to_bytes(value))

    # -- dead letters ---------------------------------------------------------

    def add_dead_letter(self, data: bytes, reason: str) -> str:
        return str(
            self.scalar(
                'INSERT INTO {dead} (name, data, reason, failed_at) '
                'VALUES (%s, %s, %s, %s) RETURNING id',
                (self.name, data, reason, time.time()),
            )
        )

    def dead_letter(self, receipt: str, reason: str) -> str | None:
        id_ = self.scalar(
            'WITH moved AS (DELETE FROM {queue} WHERE name = %s AND receipt = %s '
            'RETURNING data) INSERT INTO {dead} (name, data, reason, failed_at) '
            'SELECT %s, data, %s, %s FROM moved RETURNING id',
            (self.name, receipt, self.name, reason, time.time()),
        )
        return None if id_ is None else str(id_)

    def requeue_dead_letter(self, id_: int, priority: int | None) -> bool:
        return (
            self._count_and_notify(
                'INSERT INTO {queue} (name, priority, order_key, deliveries, data) '
                'SELECT %s, %s, 0, 1, data FROM revived RETURNING 1',
                (self.name, id_, self.name, priority or 0),
                before='revived AS (DELETE FROM {dead} WHERE name = %s AND id = %s '
                'RETURNING data), ',
            )
            > 0
        )


class PostgresListener:
    """A dedicated connection LISTENing on some channels, shared by the threads
    of one process that wait for messages or values.

    Each channel has a generation, growing each time notifications on it
    arrive. A reader notes it *before* querying, and after an empty read waits
    until it changes: a notification sent after the query can never be
    missed, one sent just before only costs one more query.
    """

    def __init__(
        self, database: peewee.PostgresqlDatabase, channels: Sequence[str], guard: ConnectionGuard
    ) -> None:
        self.pid = os.getpid()
        self._guard = guard
        self._conn = database._connect()  # a fresh connection with the database's settings
        guard.register(self._conn, calling_thread=False)
        with self._conn.cursor() as cursor:
            for channel in channels:
                cursor.execute('LISTEN "' + channel.replace('"', '""') + '"')
        self._poller = select.poll()
        self._poller.register(self._conn.fileno(), select.POLLIN)
        self._generations = dict.fromkeys(channels, 0)
        self._condition = threading.Condition()
        self._polling = False

    def generation(self, channel: str) -> int:
        return self._generations[channel]

    @property
    def polling(self) -> bool:
        """True while a thread sleeps on the socket, waiting for notifications."""
        return self._polling

    def wait(self, channel: str, seen_generation: int, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for a notification on ``channel``
        newer than ``seen_generation``; True if one came."""
        deadline = time.monotonic() + timeout
        with self._condition:
            while self._generations[channel] == seen_generation:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                if self._polling:  # another thread watches the socket for us
                    self._condition.wait(remaining)
                    continue
                self._polling = True
                self._condition.release()
                try:
                    notified = self._poll(remaining)
                finally:
                    self._condition.acquire()
                    self._polling = False
                for name in notified:
                    if name in self._generations:
                        self._generations[name] += 1
                self._condition.notify_all()
            return True

    def _poll(self, timeout: float) -> set[str]:
        """Channels notified within ``timeout`` seconds (empty if none)."""
        if not self._poller.poll(timeout * 1000):
            return set()
        self._conn.poll()
        notified = {notify.channel for notify in self._conn.notifies}
        del self._conn.notifies[:]
        return notified

    def close(self) -> None:
        if self.pid == os.getpid() and self._conn is not None:
            self._guard.forget(self._conn)
            close_quietly(self._conn)
        self._conn = None
