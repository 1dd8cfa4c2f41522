"""SQLite connections: one per thread and per process, and the retry on SQLITE_BUSY.

A connection is never shared between threads, and one inherited through
``os.fork()`` is never used (nor closed, which could disturb the parent's
locks) in the child: the child opens its own on first use.

The threads of one process take turns writing to a file through one Python
lock per file (``WriteLock``): SQLite allows a single writer anyway, and its
busy handler polls rather than queueing, so without the lock one thread can
starve behind its siblings on a slow disk. Between processes, SQLite's locks
and busy handler decide.

``busy_timeout`` makes SQLite itself wait for a lock, but a few situations
return ``SQLITE_BUSY`` at once (WAL recovery after a crash, switching the
journal mode while another process opens the file), so every operation is
also retried with a growing, jittered delay for a bounded time.
"""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import threading
import time
import weakref
from typing import Callable, TypeVar

from huey_storage import create_file

__all__ = ['ConnectionPool', 'WriteLock', 'is_busy']

logger = logging.getLogger(__name__)

T = TypeVar('T')

_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_MAX_ATTEMPTS = 12


class _Process:
    """The current pid, refreshed in a forked child by an at-fork hook (no syscall per call)."""

    pid = os.getpid()


class WriteLock:
    """The lock the threads of this process hold while writing to one file."""

    __slots__ = ('lock',)

    def __init__(self) -> None:
        self.lock = threading.Lock()


_write_locks: dict[str, WriteLock] = {}
_write_locks_guard = threading.Lock()
_pools: weakref.WeakSet[ConnectionPool] = weakref.WeakSet()


def _write_lock_for(filename: str) -> WriteLock:
    with _write_locks_guard:
        return _write_locks.setdefault(os.path.realpath(filename), WriteLock())


def _after_fork_in_child() -> None:
    # Another thread may have held a lock at fork() time; it never releases
    # it in the child, so the child gets fresh ones.
    global _write_locks_guard
    _Process.pid = os.getpid()
    _write_locks_guard = threading.Lock()
    for write_lock in _write_locks.values():
        write_lock.lock = threading.Lock()
    for pool in list(_pools):
        pool._lock = threading.Lock()


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_after_fork_in_child)

# Connections opened by a parent process, referenced forever in a forked child
# so that garbage collection never closes them there.
_inherited: list[sqlite3.Connection] = []


def is_busy(exc: BaseException) -> bool:
    """True if ``exc`` is SQLite's "database is locked/busy" (worth retrying)."""
    if not isinstance(exc, sqlite3.OperationalError):
        return False
    code = getattr(exc, 'sqlite_errorcode', None)  # Python >= 3.11
    if code is not None:
        return code & 0xFF in (_SQLITE_BUSY, _SQLITE_LOCKED)
    message = str(exc)
    return (
        'database is locked' in message
        or 'database is busy' in message
        or 'database table is locked' in message
    )


class ConnectionPool:
    """Hands each thread of each process its own configured connection.

    ``pragmas`` run on every new connection; ``prepare(conn)`` runs once per
    process on its first connection (schema creation). A missing file is
    created with permissions ``mode`` (None: SQLite's default, by the umask).
    """

    def __init__(
        self,
        filename: str,
        timeout: float,
        pragmas: list[str],
        journal_mode: str,
        prepare: Callable[[sqlite3.Connection], object],
        mode: int | None = None,
    ) -> None:
        self.filename = filename
        self.mode = mode
        self.timeout = timeout
        self._pragmas = pragmas
        self._journal_mode = journal_mode
        self._prepare = prepare
        self.writer = _write_lock_for(filename)
        self._prepared_pid: int | None = None
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[tuple[threading.Thread, int, sqlite3.Connection]] = []
        self._generation = 0
        _pools.add(self)

    def get(self) -> sqlite3.Connection:
        """This thread's connection, opened on first use (and again after fork/close)."""
        local = self._local
        try:
            if local.pid == _Process.pid and local.generation == self._generation:
                return local.conn
        except AttributeError:
            pass
        return self._open_for_this_thread()

    def _open_for_this_thread(self) -> sqlite3.Connection:
        pid = _Process.pid
        generation = self._generation
        conn = self.retry(self._connect)
        if self._prepared_pid != pid:
            try:
                self.retry(lambda: self._prepare(conn))
            except BaseException:
                conn.close()
                raise
            self._prepared_pid = pid
        thread = threading.current_thread()
        with self._lock:
            keep = []
            for owner, owner_pid, other in self._open:
                if owner_pid != pid:
                    _inherited.append(other)
                elif not owner.is_alive():
                    other.close()
                else:
                    keep.append((owner, owner_pid, other))
            keep.append((thread, pid, conn))
            self._open = keep
        local = self._local
        local.conn, local.pid, local.generation = conn, pid, generation
        return conn

    def _connect(self) -> sqlite3.Connection:
        create_file(self.filename, self.mode)  # before SQLite creates it with the umask's bits
        conn = sqlite3.connect(
            self.filename,
            timeout=self.timeout,
            isolation_level=None,
            check_same_thread=False,
            cached_statements=256,
        )
        try:
            mode = conn.execute(f'PRAGMA journal_mode = {self._journal_mode}').fetchone()[0]
            if mode.lower() != self._journal_mode:
                logger.warning(
                    '%s: asked for journal_mode=%s, SQLite uses %s',
                    self.filename,
                    self._journal_mode,
                    mode,
                )
            for pragma in self._pragmas:
                conn.execute(pragma)
        except BaseException:
            conn.close()
            raise
        return conn

    def close(self) -> None:
        """Close every connection this process opened; later calls reopen lazily."""
        pid = _Process.pid
        with self._lock:
            self._generation += 1
            self._prepared_pid = None  # check the schema again if reopened
            open_connections, self._open = self._open, []
        for _, owner_pid, conn in open_connections:
            if owner_pid == pid:
                conn.close()
            else:
                _inherited.append(conn)

    def run(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        """``operation(conn)`` on this thread's connection, retried while SQLite is busy."""
        try:
            return operation(self.get())
        except sqlite3.OperationalError as exc:
            if not is_busy(exc):
                raise
            return self.retry(lambda: operation(self.get()), exc)

    def retry(self, operation: Callable[[], T], first_error: BaseException | None = None) -> T:
        """Run ``operation()``, retrying on SQLITE_BUSY with backoff for a bounded time.

        ``first_error`` is the busy error of an attempt already made. The retry
        window, counted from the first busy error, is ``timeout`` seconds (at
        least one) on top of SQLite's own busy wait in each attempt; after it
        the last error is raised.
        """
        attempt = 0 if first_error is None else 1
        window = max(self.timeout, 1.0)
        deadline = None if first_error is None else time.monotonic() + window
        delay = 0.002
        error = first_error
        while True:
            if error is not None:
                if deadline is None:
                    deadline = time.monotonic() + window
                if attempt >= _MAX_ATTEMPTS or time.monotonic() >= deadline:
                    logger.warning(
                        '%s still locked after %d attempts: %s', self.filename, attempt, error
                    )
                    raise error
                time.sleep(delay * (0.5 + random.random()))
                delay = min(delay * 2, 0.2)
            attempt += 1
            try:
                return operation()
            except sqlite3.OperationalError as exc:
                if not is_busy(exc):
                    raise
                error = exc
