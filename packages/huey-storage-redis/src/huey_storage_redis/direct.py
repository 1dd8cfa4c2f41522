"""``DirectConnections``: one Redis connection per thread for the hot path.

redis-py's ``Redis.execute_command`` takes a pooled connection for every
command: a lock, metrics, and a ``can_read`` poll (a syscall) to check the
connection is clean, then the retry wrapper. That is about a third of an
``LPUSH`` on a local server. The storage's per-task commands (enqueue, lease,
acknowledge) go instead through a connection that belongs to the calling
thread, made with the pool's own class and options (host, db, password, TLS,
client name...), so nothing is shared and nothing needs checking.

A connection is replaced in a forked child (the parent's socket is never
used by two processes) and dropped with its thread. After a connection
error (a stale socket after a Redis restart, say) the command is sent again
on a new connection, under the connection's own redis-py ``Retry`` policy.
"""

from __future__ import annotations

import os
import threading
import weakref
from typing import Any, Sequence

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

__all__ = ['DirectConnections']


class DirectConnections:
    """Per-thread connections made like ``pool``'s; see the module docstring."""

    def __init__(self, pool: redis.ConnectionPool) -> None:
        self._pool = pool
        self._local = threading.local()
        self._open: weakref.WeakSet = weakref.WeakSet()
        self._lock = threading.Lock()

    def _connection(self):
        local = self._local
        if getattr(local, 'pid', None) != os.getpid():
            local.pid = os.getpid()
            local.connection = self._pool.connection_class(**self._pool.connection_kwargs)
            with self._lock:
                self._open.add(local.connection)
        return local.connection

    def call(self, *args: Any) -> Any:
        """Send one command and return its raw reply (an error reply raises)."""
        connection = self._connection()
        packed = connection.pack_command(*args)
        return self._retry(connection, lambda: self._exchange(connection, packed, 1, True)[0])

    def pipeline(self, commands: Sequence[tuple]) -> list:
        """Send ``commands`` in one write and return their raw replies; an error
        reply comes back as its exception object, in place."""
        connection = self._connection()
        packed = connection.pack_commands(commands)
        return self._retry(
            connection, lambda: self._exchange(connection, packed, len(commands), False)
        )

    @staticmethod
    def _exchange(connection, packed, count: int, raise_errors: bool) -> list:
        connection.send_packed_command(packed, check_health=False)
        replies = []
        for _ in range(count):
            try:
                replies.append(connection.read_response())
            except ResponseError as error:
                if raise_errors:
                    raise
                replies.append(error)
        return replies

    @staticmethod
    def _retry(connection, exchange):
        """``exchange()``; after a connection error (a stale socket, say after a
        Redis restart) once more on a new connection, under the connection's
        own redis-py ``Retry`` policy, as ``Redis.execute_command`` would."""

        def drop(_error=None) -> None:
            connection.disconnect()

        try:
            try:
                return exchange()
            except RedisConnectionError:
                drop()
            return connection.retry.call_with_retry(exchange, drop)
        except ResponseError:  # a whole error reply: the socket is clean
            raise
        except BaseException:
            drop()  # replies may be left unread: never reuse the socket
            raise

    def disconnect(self) -> None:
        """Close every connection made here (each reconnects on its next use)."""
        with self._lock:
            connections = list(self._open)
        for connection in connections:
            connection.disconnect()
