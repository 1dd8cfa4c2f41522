"""``SqlStorage``: the huey storage contract on PostgreSQL, MySQL/MariaDB or SQLite."""

from __future__ import annotations

import logging
import math
import os
import threading
import time
import weakref
from typing import Any, Callable, Iterable, Sequence

import peewee
from huey_storage import (
    BaseStorage,
    DeadLetter,
    EmptyData,
    Lease,
    as_timestamp,
    check_heartbeat,
    check_priority,
    check_ttl,
)
from huey_storage.base import Timestamp
from huey_storage.permissions import DEFAULT_FILE_MODE, check_file_mode, create_file

from huey_storage_sql.backend import retry_transient
from huey_storage_sql.connections import guard_for
from huey_storage_sql.mysql import MySQLBackend
from huey_storage_sql.postgres import PostgresBackend, PostgresListener
from huey_storage_sql.schema import (
    DatabaseLike,
    backend_class,
    check_table_prefix,
    default_table_prefix,
    resolve_database,
    run_schema_statements,
    tables_exist,
)

__all__ = ['SqlStorage']

logger = logging.getLogger(__name__)

#: Seconds between sweeps of expired keys (locks, counters) by one handle.
PURGE_INTERVAL = 60.0

#: Counters are rows of the kv table under the storage name plus this suffix,
#: a character no storage name may contain, so they never meet data keys.
COUNTER_NAME_SUFFIX = '\x1fcounters'


class TablesMissing(peewee.OperationalError):
    """The storage tables do not exist and ``create_tables`` is False."""


#: Every storage of this process, to renew their locks in a forked child.
_storages: weakref.WeakSet[SqlStorage] = weakref.WeakSet()


class SqlStorage(BaseStorage):
    """Huey storage in SQL tables, namespaced by ``name``.

    ``database`` is a peewee ``Database`` (PostgreSQL, MySQL/MariaDB, SQLite)
    or a URL (``postgresql://user@host:5432/db``, ``mysql://user@host/db``,
    ``sqlite:///relative.db``, ``sqlite:////absolute.db``).

    Options:

    * ``create_tables`` (True): create missing tables on first use; with
      False, run ``create_schema(database)`` ahead of time.
    * ``listen`` (True): on PostgreSQL, wait for messages with LISTEN/NOTIFY,
      making ``lease()``/``dequeue()`` block up to ``read_timeout``.
    * ``read_timeout`` (1.0): longest wait of a blocking read, in seconds.
    * ``table_prefix`` ('huey_'; 'huey_sql_' on SQLite, whose ``huey_*`` tables
      are huey-storage-sqlite's): tables are ``<prefix>queue``,
      ``<prefix>schedule``, ``<prefix>kv`` and ``<prefix>dead_letter``.
    * ``skip_locked`` (None = ask the server): MySQL/MariaDB only; force
      ``FOR UPDATE SKIP LOCKED`` (True) or plain ``FOR UPDATE`` (False).
    * ``connect_params``: extra driver arguments when ``database`` is a URL.
    * ``expire_time`` (None): seconds a task result lives after being stored
      (as ``RedisExpireStorage``); None keeps results until read.
    * ``mode`` (``0o600``): SQLite only, permissions of the database file when
      this storage creates it; None leaves them to the umask.

    On MySQL/MariaDB, the storage's connections run with ``STRICT_ALL_TABLES``
    added to their ``sql_mode`` (a value that does not fit fails instead of
    being truncated), and a ``name`` or key too long for its column is
    refused at the call.
    """

    priority = True

    def __init__(
        self,
        name: str = 'huey',
        database: DatabaseLike | None = None,
        create_tables: bool = True,
        listen: bool = True,
        *,
        read_timeout: float = 1.0,
        table_prefix: str | None = None,
        skip_locked: bool | None = None,
        connect_params: dict[str, Any] | None = None,
        expire_time: float | None = None,
        mode: int | None = DEFAULT_FILE_MODE,
        **kwargs: Any,
    ) -> None:
        super().__init__(name, **kwargs)
        if not isinstance(name, str) or not name or '\x1f' in name:
            raise ValueError(
                f'SqlStorage name={name!r}: use a non-empty string without control characters'
            )
        if database is None:
            raise TypeError(
                'SqlStorage needs database=: a peewee Database or a URL such as '
                "'postgresql://postgres@127.0.0.1:5432/test'"
            )
        if not read_timeout or read_timeout <= 0:
            raise ValueError(f'read_timeout={read_timeout!r}: use a number of seconds > 0')
        self.database = resolve_database(database, connect_params)
        if table_prefix is None:
            table_prefix = default_table_prefix(self.database)
        self.table_prefix = check_table_prefix(table_prefix)
        self.create_tables = create_tables
        self.read_timeout = float(read_timeout)
        backend = backend_class(self.database)
        self.expire_time = check_ttl(expire_time, 'SqlStorage expire_time')
        self.mode = check_file_mode(mode, 'SqlStorage')
        if backend is MySQLBackend:
            MySQLBackend.check_name(name)
            self._backend = MySQLBackend(self.database, name, table_prefix, skip_locked)
            self._counters = MySQLBackend(
                self.database, name + COUNTER_NAME_SUFFIX, table_prefix, skip_locked
            )
        else:
            self._backend = backend(self.database, name, table_prefix)
            self._counters = backend(self.database, name + COUNTER_NAME_SUFFIX, table_prefix)
        self._backend.result_ttl = self.expire_time
        self._check_key = self._backend.check_key
        self.listen = bool(listen) and backend is PostgresBackend
        self.blocking = self.listen
        self._guard = guard_for(self.database, backend.setup_connection)
        self._prepared = False
        self._prepare_lock = threading.Lock()
        self._listener: PostgresListener | None = None
        self._listener_lock = threading.Lock()
        self._purge_after = 0.0
        _storages.add(self)

    # -- plumbing -----------------------------------------------------------

    def _ensure(self) -> None:
        """Connect the calling thread (afresh after fork); create tables once."""
        if not self._prepared and isinstance(self.database, peewee.SqliteDatabase):
            filename = self.database.database
            if filename and filename != ':memory:' and not filename.startswith('file:'):
                create_file(filename, self.mode)
        self._guard.connection()
        if not self._prepared:
            with self._prepare_lock:
                if not self._prepared:
                    if self.create_tables:
                        retry_transient(
                            self.database, run_schema_statements, self.database, self.table_prefix
                        )
                    elif not tables_exist(self.database, self.table_prefix):
                        raise TablesMissing(
                            f'SqlStorage {self.name!r}: the tables {self.table_prefix}queue, ... '
                            f'do not exist in {self.database.database!r}; create them with '
                            f'huey_storage_sql.create_schema(database, '
                            f'table_prefix={self.table_prefix!r}) or pass create_tables=True'
                        )
                    self._backend.prepare()
                    self._counters.prepare()
                    self._prepared = True

    def initialize_schema(self) -> None:
        """Create the missing tables and indexes now (``create_schema`` for this storage)."""
        self._guard.connection()
        retry_transient(self.database, run_schema_statements, self.database, self.table_prefix)

    def drop_tables(self) -> None:
        """Drop this storage's tables, with every storage name's rows in them."""
        self._guard.connection()
        for table in ('queue', 'schedule', 'kv', 'dead_letter', 'lease_owner'):
            self.database.execute_sql(f'DROP TABLE IF EXISTS {self.table_prefix}{table}')
        self._prepared = False

    def _run(self, operation: Callable[..., Any], *args: Any) -> Any:
        self._ensure()
        return retry_transient(self.database, operation, *args)

    def _read(self, operation: Callable[..., Any], *args: Any) -> Any:
        """Run a queue read; when blocking, wait for a notification while empty."""
        if not self.blocking:
            return self._run(operation, *args)
        return self._until_notified(
            self._backend.channel,
            lambda: self._run(operation, *args),
            lambda result: result is not None,
            time.monotonic() + self.read_timeout,
        )

    def _until_notified(
        self,
        channel: str,
        attempt: Callable[[], Any],
        done: Callable[[Any], bool],
        deadline: float | None,
        max_wait: float = math.inf,
    ) -> Any:
        """Call ``attempt()`` until ``done(result)`` or the monotonic ``deadline``
        (None: never), sleeping between calls until a NOTIFY on ``channel`` (at
        most ``max_wait`` seconds). Returns the last result."""
        while True:
            self._ensure()
            listener = self._listening()
            seen = listener.generation(channel)  # before the attempt: no wake-up is missed
            result = attempt()
            if done(result):
                return result
            wait = max_wait
            if deadline is not None:
                wait = min(wait, deadline - time.monotonic())
                if wait <= 0:
                    return result
            try:
                listener.wait(channel, seen, wait)
            except Exception as exc:  # lost the listening connection: a new one next time
                logger.warning('LISTEN connection failed (%s); reconnecting', exc)
                self._drop_listener(listener)
                time.sleep(min(wait, 0.05))

    def _listening(self) -> PostgresListener:
        listener = self._listener
        if listener is not None and listener.pid == os.getpid():
            return listener
        with self._listener_lock:
            listener = self._listener
            if listener is None or listener.pid != os.getpid():
                listener = PostgresListener(
                    self.database, [self._backend.channel, self._backend.data_channel], self._guard
                )
                self._listener = listener
            return listener

    def _drop_listener(self, listener: PostgresListener) -> None:
        with self._listener_lock:
            if self._listener is listener:
                self._listener = None
        listener.close()

    def _purge_expired(self) -> None:
        now = time.time()
        if now >= self._purge_after:
            self._purge_after = now + PURGE_INTERVAL
            self._run(self._backend.purge_expired, now)
            self._run(self._counters.purge_expired, now)

    @staticmethod
    def _dead_letter_id(id: Any) -> int | None:
        try:
            id_ = int(id)
        except (TypeError, ValueError):
            return None
        return id_ if 0 < id_ < 2**63 else None

    # -- queue --------------------------------------------------------------

    def enqueue(self, data: bytes, priority: int | None = None) -> None:
        self._run(self._backend.enqueue, data, check_priority(priority))

    def enqueue_many(self, items: Iterable[tuple[bytes, int | None]]) -> None:
        items = [(data, check_priority(priority)) for data, priority in items]
        self._run(self._backend.enqueue_many, items)

    def dequeue(self) -> bytes | None:
        return self._read(self._backend.dequeue)

    def queue_size(self) -> int:
        return self._run(self._backend.queue_size)

    def enqueued_items(self, limit: int | None = None) -> list[bytes]:
        return self._run(self._backend.enqueued_items, limit)

    def flush_queue(self) -> None:
        self._run(self._backend.flush_queue)

    # -- leases -------------------------------------------------------------

    def lease(self, timeout: float) -> Lease | None:
        return self._read(self._backend.lease, timeout)

    def ack(self, receipt: str, result: tuple[str, bytes] | None = None) -> bool:
        if result is not None:
            self._check_key(result[0])
        acked = self._run(self._backend.ack, receipt, result)
        if result is not None and self.expire_time is not None:
            self._purge_expired()
        return acked

    def extend_leases(self, receipts: Sequence[str], timeout: float) -> int:
        receipts = list(receipts)
        if not receipts:
            return 0
        return self._run(self._backend.extend_leases, receipts, timeout)

    def release(self, receipt: str) -> bool:
        return self._run(self._backend.release, receipt)

    def requeue_expired_leases(self, now: float | None = None) -> int:
        now = time.time() if now is None else now
        return self._run(self._backend.requeue_expired_leases, now) + self._run(
            self._backend.requeue_orphans, now
        )

    @property
    def lease_owner(self) -> str | None:
        return self._backend.lease_owner

    @lease_owner.setter
    def lease_owner(self, owner: str | None) -> None:
        self._backend.lease_owner = owner

    def heartbeat(self, owner: str, ttl: float) -> None:
        owner, ttl = check_heartbeat(owner, ttl)
        self._run(self._backend.heartbeat, owner, time.time() + ttl)

    def leased_count(self) -> int:
        return self._run(self._backend.leased_count)

    # -- schedule -----------------------------------------------------------

    def add_to_schedule(self, data: bytes, ts: Timestamp, priority: int | None = None) -> None:
        priority = check_priority(priority)
        self._run(self._backend.add_to_schedule, data, as_timestamp(ts), priority)

    def read_schedule(self, ts: Timestamp) -> list[bytes]:
        return self._run(self._backend.read_schedule, as_timestamp(ts))

    def enqueue_due(self, ts: Timestamp) -> int:
        return self._run(self._backend.enqueue_due, as_timestamp(ts))

    def schedule_size(self) -> int:
        return self._run(self._backend.schedule_size)

    def scheduled_items(self, limit: int | None = None) -> list[bytes]:
        return self._run(self._backend.scheduled_items, limit)

    def flush_schedule(self) -> None:
        self._run(self._backend.flush_schedule)

    # -- key/value data -------------------------------------------------------

    def put_data(self, key: str, value: bytes, is_result: bool = False) -> None:
        self._check_key(key)
        self._run(self._backend.put_data, key, value, bool(is_result))
        if is_result and self.expire_time is not None:
            self._purge_expired()

    def peek_data(self, key: str):
        return self._run(self._backend.peek_data, key)

    def peek_data_many(self, keys: Sequence[str]) -> list:
        keys = list(keys)
        return self._run(self._backend.peek_data_many, keys) if keys else []

    def pop_data(self, key: str):
        return self._run(self._backend.pop_data, key)

    def wait_data(self, key: str, timeout: float | None = None, pop: bool = True):
        """Wait until ``key`` holds a value, then pop (or peek) and return it;
        ``EmptyData`` after ``timeout`` seconds (None: forever).

        With LISTEN on, wakes on the notification ``put_data`` and ``ack``
        send; values stored another way are still seen within a second.
        """
        if not self.listen:
            return super().wait_data(key, timeout, pop)
        read = self._backend.pop_data if pop else self._backend.peek_data
        deadline = None if timeout is None else time.monotonic() + timeout
        return self._until_notified(
            self._backend.data_channel,
            lambda: self._run(read, key),
            lambda value: value is not EmptyData,
            deadline,
            max_wait=1.0,
        )

    def has_data_for_key(self, key: str) -> bool:
        return self._run(self._backend.has_data_for_key, key)

    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        ttl = check_ttl(ttl)
        self._check_key(key)
        stored = self._run(self._backend.put_if_empty, key, value, ttl)
        if ttl is not None:
            self._purge_expired()
        return stored

    def delete_data(self, key: str) -> bool:
        return self._run(self._backend.delete_data, key)

    def delete_data_if(self, key: str, value: bytes) -> bool:
        return self._run(self._backend.delete_data_if, key, value)

    # -- counters ------------------------------------------------------------

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        ttl = check_ttl(ttl)
        self._check_key(key)
        value = self._run(self._counters.incr, key, int(amount), ttl)
        if ttl is not None:
            self._purge_expired()
        return value

    def peek_counters(self, keys: Sequence[str]) -> list[int]:
        # counters are rows of their own name in the kv table, values in decimal
        keys = list(keys)
        if not keys:
            return []
        values = self._run(self._counters.peek_data_many, keys)
        return [0 if value is EmptyData else int(value) for value in values]

    def delete_counter(self, key: str) -> None:
        self._run(self._counters.delete_data, key)

    def flush_counters(self) -> None:
        self._run(self._counters.flush_data)

    # -- results ------------------------------------------------------------

    def result_store_size(self) -> int:
        return self._run(self._backend.result_store_size)

    def result_items(self) -> dict[str, bytes]:
        return self._run(self._backend.result_items)

    def result_keys(self) -> list[str]:
        return self._run(self._backend.result_keys)

    def flush_data(self) -> None:
        self._run(self._backend.flush_data)

    # -- dead letters ---------------------------------------------------------

    def add_dead_letter(self, data: bytes, reason: str) -> str:
        return self._run(self._backend.add_dead_letter, data, reason)

    def dead_letter(self, receipt: str, reason: str) -> str | None:
        return self._run(self._backend.dead_letter, receipt, reason)

    def dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        return self._run(self._backend.dead_letters, limit)

    def requeue_dead_letter(self, id: str, priority: int | None = None) -> bool:
        id_, priority = self._dead_letter_id(id), check_priority(priority)
        return id_ is not None and self._run(self._backend.requeue_dead_letter, id_, priority)

    def delete_dead_letter(self, id: str) -> bool:
        id_ = self._dead_letter_id(id)
        return id_ is not None and self._run(self._backend.delete_dead_letter, id_)

    def flush_dead_letters(self) -> int:
        return self._run(self._backend.flush_dead_letters)

    # -- lifecycle --------------------------------------------------------

    def close(self) -> None:
        """Close the LISTEN connection and the calling thread's connection.

        Safe to call more than once; the storage reconnects if used again.
        """
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.close()
        self._guard.close_current()

    def __repr__(self) -> str:
        return f'<SqlStorage {self.name!r} on {type(self.database).__name__}>'


def _renew_locks_in_child() -> None:
    """After fork: locks held by threads that do not exist in the child are renewed."""
    for storage in list(_storages):
        storage._prepare_lock = threading.Lock()
        storage._listener_lock = threading.Lock()


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_renew_locks_in_child)
