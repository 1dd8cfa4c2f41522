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

With hiredis installed (the ``hiredis`` extra; 3.2 or newer for RESP3),
commands are also packed and replies parsed by
hiredis directly on the connection's socket, with a reader of our own:
redis-py's send and read layers cost about a third of an ``LPUSH`` again.
redis-py still makes the connection (handshake, AUTH, SELECT, TLS) and maps
error replies to its exception classes.
"""

from __future__ import annotations

import os
import socket
import threading
import weakref
from typing import Any, Sequence

import redis
from redis._parsers.base import BaseParser
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import InvalidResponse, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

try:
    import hiredis
except ImportError:  # the pure-Python path below still works
    hiredis = None

#: what hiredis returns while a reply is incomplete (RESP3 has a real False)
_MORE = object()
#: RESP3 out-of-band messages (hiredis >= 3.2): never a reply to our commands
_PUSH = getattr(hiredis, 'PushNotification', None)

__all__ = ['DirectConnections']


class DirectConnections:
    """Per-thread connections made like ``pool``'s; see the module docstring."""

    def __init__(self, pool: redis.ConnectionPool, use_hiredis: bool = True) -> None:
        self._pool = pool
        #: False: always redis-py's send and read layers
        self.use_hiredis = use_hiredis
        self._local = threading.local()
        self._open: weakref.WeakSet = weakref.WeakSet()
        self._lock = threading.Lock()

    def _state(self) -> threading.local:
        """This thread's connection (and wire), made afresh in a forked child."""
        local = self._local
        if getattr(local, 'pid', None) != os.getpid():
            local.pid = os.getpid()
            connection = self._pool.connection_class(**self._pool.connection_kwargs)
            local.connection = connection
            fits = self.use_hiredis and _wire_fits(connection)
            local.wire = _Wire(connection) if fits else None
            with self._lock:
                self._open.add(connection)
        return local

    def call(self, *args: Any) -> Any:
        """Send one command and return its raw reply (an error reply raises)."""
        local = self._state()
        wire = local.wire
        if wire is not None:
            (reply,) = self._retry(local.connection, wire.exchange, hiredis.pack_command(args), 1)
            if isinstance(reply, ResponseError):
                raise reply
            return reply
        connection = local.connection
        packed = connection.pack_command(*args)
        return self._retry(connection, self._exchange, connection, packed, 1, True)[0]

    def pipeline(self, commands: Sequence[tuple]) -> list:
        """Send ``commands`` in one write and return their raw replies; an error
        reply comes back as its exception object, in place."""
        local = self._state()
        wire = local.wire
        if wire is not None:
            pack = hiredis.pack_command
            packed = b''.join([pack(command) for command in commands])
            return self._retry(local.connection, wire.exchange, packed, len(commands))
        connection = local.connection
        packed = connection.pack_commands(commands)
        return self._retry(connection, self._exchange, connection, packed, len(commands), False)

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
    def _retry(connection, exchange, *args):
        """``exchange(*args)``; after a connection error (a stale socket, say
        after a Redis restart) once more on a new connection, under the
        connection's own redis-py ``Retry`` policy, as ``Redis.execute_command``
        would."""
        try:
            try:
                return exchange(*args)
            except RedisConnectionError:
                connection.disconnect()
            return connection.retry.call_with_retry(
                lambda: exchange(*args), lambda _error=None: connection.disconnect()
            )
        except ResponseError:  # a whole error reply: the socket is clean
            raise
        except BaseException:
            connection.disconnect()  # replies may be left unread: never reuse the socket
            raise

    def disconnect(self) -> None:
        """Close every connection made here (each reconnects on its next use)."""
        with self._lock:
            connections = list(self._open)
        for connection in connections:
            connection.disconnect()


def _wire_fits(connection) -> bool:
    """Whether hiredis may speak for ``connection``: always with RESP2, and
    with RESP3 when hiredis tells push messages from replies. (With hiredis
    installed redis-py packs strings as UTF-8 too, whatever the encoding.)"""
    return (
        hiredis is not None
        and (_PUSH is not None or getattr(connection, 'protocol', 2) in (2, '2', None))
        and hasattr(connection, '_sock')
    )


class _Wire:
    """hiredis on the socket of a redis-py connection (see the module docstring).

    redis-py connects (and reconnects after ``disconnect()``); the reader is
    renewed with each new socket, so a half-read reply never carries over.
    """

    def __init__(self, connection) -> None:
        self.connection = connection
        self.sock = None
        self.reader = None

    def exchange(self, packed: bytes, count: int) -> list:
        """Send ``packed`` and read ``count`` replies; error replies in place."""
        connection = self.connection
        # redis-py's send (connects when needed, maps socket errors)
        connection.send_packed_command((packed,), check_health=False)
        sock = connection._sock
        if sock is not self.sock:  # a new socket: start reading afresh
            self.sock = sock
            self.reader = hiredis.Reader(
                protocolError=InvalidResponse,
                replyError=BaseParser.parse_error,
                notEnoughData=_MORE,
            )
        reader = self.reader
        replies = []
        try:
            while len(replies) < count:
                reply = reader.gets()
                if reply is _MORE:
                    data = sock.recv(65536)
                    if not data:
                        raise RedisConnectionError('Connection closed by server.')
                    reader.feed(data)
                elif _PUSH is None or not isinstance(reply, _PUSH):
                    replies.append(reply)
        except socket.timeout:
            raise RedisTimeoutError('Timeout reading from socket') from None
        except OSError as exc:
            raise RedisConnectionError(f'Error while reading from Redis: {exc}') from None
        return replies
