"""Per-thread connections that survive ``os.fork()``.

peewee keeps one connection per thread. After a fork the child inherits those
connections: the very same sockets the parent keeps using. Talking on them, or
closing them the polite way (psycopg2 sends a *Terminate* message, PyMySQL a
*COM_QUIT*), would break the parent's session. Worse, CPython deallocates the
other threads' thread-local state in the child, which would close their
connections before any Python code runs.

``ConnectionGuard`` therefore keeps a strong reference to every connection a
storage opens, and in a forked child (found by an at-fork hook, or lazily by a
changed pid) points each inherited socket at ``/dev/null`` with ``dup2``: the
child's copy of the socket is closed without a word sent on it, and the
connection object, kept forever, can never write to the parent's session. The
child then opens its own connections.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from typing import Any, Callable

import peewee

__all__ = ['ConnectionGuard', 'guard_for']

logger = logging.getLogger(__name__)

_guards: weakref.WeakKeyDictionary[peewee.Database, ConnectionGuard] = weakref.WeakKeyDictionary()
_guards_lock = threading.Lock()


def guard_for(
    database: peewee.Database, setup: Callable[[Any], None] | None = None
) -> ConnectionGuard:
    """The one guard of ``database`` (shared by every storage using it);
    ``setup(conn)`` runs on each connection the guard sees for the first time."""
    with _guards_lock:
        guard = _guards.get(database)
        if guard is None:
            guard = _guards[database] = ConnectionGuard(database)
        if setup is not None:
            guard.setup = setup
        return guard


def _socket_fd(conn: Any) -> int | None:
    """File descriptor of a DB-API connection's socket, None if it has none."""
    try:
        if hasattr(conn, 'fileno'):  # psycopg2 / psycopg 3
            return conn.fileno()
        sock = getattr(conn, '_sock', None)  # PyMySQL
        return sock.fileno() if sock is not None else None
    except Exception:  # already closed: nothing to detach
        return None


def driver_closed(conn: Any) -> bool:
    """True if the driver knows ``conn`` is closed or broken."""
    closed = getattr(conn, 'closed', None)  # psycopg2: 0 open, 1 closed, 2 broken
    if isinstance(closed, (bool, int)):
        return bool(closed)
    is_open = getattr(conn, 'open', None)  # PyMySQL
    if isinstance(is_open, bool):
        return not is_open
    return False


def close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except Exception:  # closing a dead connection may complain; it is gone anyway
        pass


def _detach(conn: Any) -> None:
    """Close this process's copy of ``conn``'s socket without talking on it."""
    fd = _socket_fd(conn)
    if fd is None or fd < 0:
        return
    devnull = os.open(os.devnull, os.O_RDWR)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


class ConnectionGuard:
    """Tracks the connections opened on one peewee database, per process."""

    def __init__(self, database: peewee.Database) -> None:
        self._database = weakref.ref(database)
        self.pid = os.getpid()
        self._lock = threading.Lock()
        self._local = threading.local()
        #: (owning thread or None, connection) opened in this process
        self._open: list[tuple[threading.Thread | None, Any]] = []
        #: connections inherited through fork, detached and never closed
        self._inherited: list[Any] = []
        #: run on each connection first seen (MySQL: the strict sql_mode)
        self.setup: Callable[[Any], None] | None = None

    def connection(self) -> Any:
        """The calling thread's open connection, (re)connecting when needed."""
        if self.pid != os.getpid():
            self.after_fork()
        database = self._database()
        state = database._state
        if not state.closed:
            conn = state.conn
            if getattr(self._local, 'conn', None) is not conn:
                self._setup(conn)
                self.register(conn)
                return conn
            if not driver_closed(conn) or database.in_transaction():
                return conn
            # The connection broke (server restart, network): forget it and reconnect.
            logger.warning('database connection lost; reconnecting')
            state.reset()
            close_quietly(conn)
        database.connect(reuse_if_open=True)
        conn = database._state.conn
        self._setup(conn)
        self.register(conn)
        return conn

    def _setup(self, conn: Any) -> None:
        if self.setup is not None:
            self.setup(conn)

    def register(self, conn: Any, calling_thread: bool = True) -> None:
        """Remember ``conn``: the calling thread's connection, or (False) one
        belonging to no thread, like the LISTEN connection."""
        database = self._database()
        owner = None  # with thread_safe=False, threads share one connection
        if calling_thread and database is not None and database.thread_safe:
            owner = threading.current_thread()
        with self._lock:
            kept = []
            for other_owner, other in self._open:
                if other is conn or driver_closed(other):
                    continue
                if other_owner is not None and not other_owner.is_alive():
                    close_quietly(other)  # its thread ended: nobody can use it again
                    continue
                kept.append((other_owner, other))
            kept.append((owner, conn))
            self._open = kept
        if calling_thread:
            self._local.conn = conn

    def forget(self, conn: Any) -> None:
        with self._lock:
            self._open = [(owner, other) for owner, other in self._open if other is not conn]

    def after_fork(self) -> None:
        """In a forked child: detach every inherited connection, start afresh."""
        if self.pid == os.getpid():
            return
        self._lock = threading.Lock()  # may have been held by a thread that is gone
        inherited = [conn for _, conn in self._open]
        database = self._database()
        if database is not None:
            if database._state.conn is not None and database._state.conn not in inherited:
                inherited.append(database._state.conn)
            database._state.reset()  # forget without closing
            if database.thread_safe:
                database._lock = threading.Lock()
        for conn in inherited:
            _detach(conn)
        self._inherited.extend(inherited)
        self._open = []
        self._local = threading.local()
        self.pid = os.getpid()

    def close_current(self) -> None:
        """Close the calling thread's connection (unless a transaction is open)
        and the connections of threads that have ended."""
        if self.pid != os.getpid():
            self.after_fork()
        database = self._database()
        if database is not None and not database.is_closed() and not database.in_transaction():
            conn = database._state.conn
            database._state.reset()
            self.forget(conn)
            close_quietly(conn)
        with self._lock:
            kept = []
            for owner, conn in self._open:
                if owner is not None and not owner.is_alive():
                    close_quietly(conn)
                elif not driver_closed(conn):
                    kept.append((owner, conn))
            self._open = kept
        self._local = threading.local()


def _after_fork_in_child() -> None:
    global _guards_lock
    _guards_lock = threading.Lock()  # another thread may have held it at the fork
    for guard in list(_guards.values()):
        try:
            guard.after_fork()
        except Exception:  # never break the child over a connection cleanup
            logger.exception('detaching inherited database connections failed')


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_after_fork_in_child)
