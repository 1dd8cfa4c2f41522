"""``RedisStorage``: the huey storage contract on Redis (>= 6.2), via redis-py.

Design (see README.md for the key layout):

* **Queue.** A list, head at the right end: ``enqueue`` is one ``LPUSH``,
  ``dequeue`` one ``RPOP``/``BRPOP``. Each element is an *envelope*
  ``<expired leases>:<priority>|<message>`` so a message carries its delivery
  count and priority wherever it goes. The priority variant keeps a sorted set
  instead (see ``queue_lib.lua``).
* **Leases.** ``take.lua`` pops the head and records the lease (hash
  receipt -> envelope, sorted set receipt -> deadline) in one atomic script, so
  a message is always in exactly one of queue / leases: there is no orphan to
  repair. Receipts are random UUIDs made by the client, unique even for
  identical messages; a retried ``take`` with the same receipt returns the same
  lease instead of taking a second message.
* **Blocking without polling.** A Lua script cannot block, so a blocking
  lease sends one pipeline: ``BLMOVE queue claim`` (the calling thread's own
  *claim list*) then ``claim.lua``, which leases what BLMOVE moved. Redis
  hands each new message to exactly one waiting client, and the lease comes
  back in the same round trip. A claim list is non-empty only between those
  two commands; if its client vanishes right there, ``requeue_expired_leases``
  returns the message to the queue head once the list is unused for
  ``CLAIM_GRACE`` seconds. The priority variant blocks on ``BLMOVE ready
  ready`` (a token list) and retries ``take.lua``. Each block is shorter than
  the socket timeout, so a long ``read_timeout`` is several blocks, never a
  poll.
* **Acknowledgement.** ``store.lua`` deletes the lease and stores the result in
  one script: ``ack(receipt, result=...)`` is one round trip.
* **Expired leases.** ``requeue_expired.lua`` moves leases whose deadline is
  past back to the queue head and bumps the envelope's expired count, in
  batches, each batch atomic: concurrent reapers never requeue one twice.
* **Schedule.** A sorted set by timestamp of sequence-prefixed envelopes
  (unique members, FIFO within a timestamp, priority kept); ``schedule_pop.lua``
  moves due items atomically.
* **Data** (``data.py``) and **dead letters** (``dead_letters.py``) are mixins
  sharing this class's client, keys and scripts.
"""

from __future__ import annotations

import inspect
import logging
import os
import re
import threading
import time
import uuid
from typing import Iterable, Sequence

import redis
from huey_storage.base import (
    BaseStorage,
    ConfigurationError,
    EmptyData,
    Lease,
    Timestamp,
    as_timestamp,
    check_heartbeat,
    check_priority,
)
from huey_storage.credentials import hide_password
from redis.exceptions import NoScriptError

from huey_storage_redis.data import DataMethods
from huey_storage_redis.dead_letters import DeadLetterMethods
from huey_storage_redis.direct import DirectConnections
from huey_storage_redis.envelope import make_envelope, open_envelope
from huey_storage_redis.keys import KeyLayout
from huey_storage_redis.scripts import BATCH_SIZE, load_commands, script_sha

__all__ = ['BATCH_SIZE', 'CLAIM_GRACE', 'RedisStorage']

logger = logging.getLogger(__name__)

#: shortest block sent to Redis: a timeout that rounds to 0 ms would block forever
_MIN_BLOCK = 0.01
#: seconds after its last use when a claim list counts as abandoned
CLAIM_GRACE = 60.0


def _make_client(
    connection_pool: redis.ConnectionPool | None,
    url: str | None,
    client_name: str | None,
    connection_params: dict,
) -> redis.Redis:
    # host/port/db set to None mean "the default", as in huey
    for option in ('host', 'port', 'db'):
        if option in connection_params and connection_params[option] is None:
            del connection_params[option]
    given = [
        what
        for what, value in (
            ('url', url),
            ('connection_pool', connection_pool),
            ('connection options (host, port...)', connection_params),
        )
        if value
    ]
    if len(given) > 1:
        raise ConfigurationError(
            f'RedisStorage got {" and ".join(given)}: give only one way to connect'
        )
    if connection_pool is not None:
        extra = sorted(connection_params) + [
            name
            for name, value in (('url', url), ('client_name', client_name))
            if value is not None
        ]
        if extra:
            raise TypeError(
                f'RedisStorage got connection_pool together with {", ".join(extra)}; '
                'set those options on the ConnectionPool instead'
            )
        client = redis.Redis(connection_pool=connection_pool)
    elif url is not None:
        try:
            client = redis.Redis.from_url(url, client_name=client_name, **connection_params)
        except ValueError as exc:  # name the URL, never its password
            raise ConfigurationError(
                hide_password(
                    f'RedisStorage url={url!r}: {exc}; use redis://, rediss:// or unix://'
                )
            ) from None
    else:
        client = redis.Redis(client_name=client_name, **connection_params)
    if client.connection_pool.connection_kwargs.get('decode_responses'):
        raise ValueError(
            'RedisStorage needs bytes replies: remove decode_responses=True '
            'from its connection options (messages are opaque bytes)'
        )
    return client


def _socket_timeout(pool: redis.ConnectionPool) -> float | None:
    """The socket timeout of the pool's connections (redis-py 8 defaults it to 5 s)."""
    kwargs = pool.connection_kwargs
    if 'socket_timeout' in kwargs:
        return kwargs['socket_timeout']
    for cls in pool.connection_class.__mro__:  # the default sits on a base class
        init = vars(cls).get('__init__')
        if init is not None:
            parameter = inspect.signature(init).parameters.get('socket_timeout')
            if parameter is not None:
                return parameter.default
    return None


class RedisStorage(DataMethods, DeadLetterMethods, BaseStorage):
    """Huey storage on Redis: FIFO queue, leases, schedule, data, dead letters.

    ``blocking``: ``dequeue``/``lease`` wait up to ``read_timeout`` seconds for
    a message (server-side blocking, no polling); False returns at once.
    Connect with ``url='redis://...'`` (or ``rediss://``), an existing
    ``connection_pool``, or redis.Redis keyword options (``host``, ``port``,
    ``db``, ``password``, ``ssl``...); ``client_name`` names the connections.
    Connection failures raise ``redis.ConnectionError``/``redis.TimeoutError``
    (after redis-py's retries); the storage works again once Redis is back.
    """

    blocking = True
    priority = False

    def __init__(
        self,
        name: str = 'huey',
        blocking: bool = True,
        read_timeout: float = 1,
        connection_pool: redis.ConnectionPool | None = None,
        url: str | None = None,
        client_name: str | None = None,
        notify_result: bool = False,
        notify_result_ttl: float = 60,
        clean_name: bool = True,
        **connection_params,
    ) -> None:
        if clean_name:  # as huey: 'app-v1' and 'appv1' share their keys
            name = re.sub('[^A-Za-z0-9_]', '', name)
        super().__init__(name)
        if read_timeout is None or not read_timeout >= 0:
            raise ValueError(f'read_timeout must be a number of seconds >= 0, got {read_timeout!r}')
        self.blocking = bool(blocking)
        self.read_timeout = float(read_timeout)
        self.conn = _make_client(connection_pool, url, client_name, connection_params)
        self.notify_result = bool(notify_result)
        self.notify_result_ttl = notify_result_ttl
        self.keys = KeyLayout(name)
        self.queue_key = self.keys.queue
        self.notify_prefix = self.keys.notify_prefix
        self._direct = DirectConnections(self.client.connection_pool)
        self._flag = '1' if self.priority else '0'
        self._result_ttl_ms = 0
        self._local = threading.local()  # this thread's claim list
        socket_timeout = _socket_timeout(self.client.connection_pool)
        # a blocking command must return before the socket times out
        self._max_block = (
            None if not socket_timeout else max(socket_timeout - 1.0, socket_timeout / 2)
        )

    @property
    def client(self) -> redis.Redis:
        """The redis-py client (``conn``, huey's name, can be replaced)."""
        return self.conn

    def async_access(self):
        """This storage for asyncio code on the running loop
        (``huey_storage_redis.aio``), or None if it cannot be had."""
        from huey_storage_redis.aio import async_access

        return async_access(self)

    def _priority(self, priority: int | None) -> int:
        """A checked priority; always 0 when this storage ignores priorities."""
        priority = check_priority(priority)
        return priority if self.priority else 0

    def _evalsha(self, script: str, keys: list, args: list) -> tuple:
        """The ``EVALSHA`` command running ``script`` (for ``_send``)."""
        return ('EVALSHA', script_sha(script), len(keys), *keys, *args)

    def _send(self, commands: list[tuple]) -> list:
        """Send ``commands`` in one round trip on this thread's direct connection
        and return their replies (the first error reply raises).

        A server that answers ``NOSCRIPT`` (new, restarted, flushed, failed over)
        gets every script loaded, and the commands it refused are resent: a
        refused script did not run, so resending it is safe.
        """
        replies = self._direct.pipeline(commands)
        refused = [i for i, reply in enumerate(replies) if isinstance(reply, NoScriptError)]
        if refused:
            replies += self._direct.pipeline(load_commands())
            resent = self._direct.pipeline([commands[i] for i in refused])
            for index, reply in zip(refused, resent):
                replies[index] = reply
        for reply in replies:
            if isinstance(reply, Exception):
                raise reply
        return replies[: len(commands)]

    def _run(self, script: str, keys: list, args: list):
        """Run a Lua script in one round trip (see ``_send``)."""
        return self._send([self._evalsha(script, keys, args)])[0]

    def _block_for(self, remaining: float) -> float:
        if self._max_block is not None:
            remaining = min(remaining, self._max_block)
        return max(remaining, _MIN_BLOCK)

    # -- queue ------------------------------------------------------------

    def enqueue(self, data: bytes, priority: int | None = None) -> None:
        priority = self._priority(priority)
        if self.priority:
            self._run(
                'enqueue',
                self.keys.queue_keys,
                [self._flag, priority, make_envelope(data, priority)],
            )
        else:
            self._direct.call('LPUSH', self.keys.queue, make_envelope(data, priority))

    def enqueue_many(self, items: Iterable[tuple[bytes, int | None]]) -> None:
        if self.priority:
            args: list = [self._flag]
            for data, priority in items:
                priority = self._priority(priority)
                args += [priority, make_envelope(data, priority)]
            if len(args) > 1:
                self._run('enqueue', self.keys.queue_keys, args)
            return
        envelopes = [make_envelope(data, 0) for data, _ in items]
        if envelopes:
            self._direct.call('LPUSH', self.keys.queue, *envelopes)

    def dequeue(self) -> bytes | None:
        if self.priority or not (self.blocking and self.read_timeout > 0):
            envelope = self._take('', 0.0)
            return None if envelope is None else open_envelope(envelope)[1]
        give_up = time.monotonic() + self.read_timeout
        while True:
            popped = self.client.brpop(
                [self.keys.queue], timeout=self._block_for(give_up - time.monotonic())
            )
            if popped is not None:
                return open_envelope(popped[1])[1]
            if time.monotonic() >= give_up:
                return None

    def _take(self, receipt: str, lease_timeout: float, data_key: str | None = None):
        """Take the queue head (leased under ``receipt`` unless it is ''),
        waiting for a message when blocking.

        With ``data_key`` a taken message comes back as ``[envelope, value]``.
        """
        keys = self.keys.queue_keys
        if data_key is not None:
            keys = keys + [self.keys.data(data_key)]

        def take():
            deadline = time.time() + lease_timeout if receipt else 0
            return self._run('take', keys, [self._flag, receipt, deadline])

        if not self.blocking or self.read_timeout <= 0:
            return take()
        if receipt and not self.priority:
            return self._claim(receipt, lease_timeout, data_key)
        envelope = take()
        if envelope is not None:
            return envelope
        give_up = time.monotonic() + self.read_timeout
        while True:
            remaining = give_up - time.monotonic()
            if remaining <= 0:
                return None
            # consumes nothing: returns once the token list is not empty (or the timeout)
            if (
                self.client.blmove(
                    self.keys.ready, self.keys.ready, self._block_for(remaining), 'RIGHT', 'RIGHT'
                )
                is None
            ):
                continue
            envelope = take()
            if envelope is not None:
                return envelope

    def _claim_key(self) -> str:
        """This thread's claim list (a new one in a forked child)."""
        local = self._local
        if getattr(local, 'pid', None) != os.getpid():
            local.pid = os.getpid()
            local.claim = self.keys.claim(uuid.uuid4().hex)
        return local.claim

    def _claim(self, receipt: str, lease_timeout: float, data_key: str | None):
        """Blocking lease on the FIFO queue: one pipelined round trip per block.

        The lease deadline counts from the end of the block, so it is never
        shorter than ``lease_timeout`` (at most one block longer).
        """
        claim = self._claim_key()
        keys = self.keys.queue_keys + [claim]
        if data_key is not None:
            keys.append(self.keys.data(data_key))
        give_up = time.monotonic() + self.read_timeout
        while True:
            block = self._block_for(give_up - time.monotonic())
            now = time.time()
            args = [self._flag, receipt, now + block + lease_timeout]
            _, _, taken = self._send(
                [
                    ('ZADD', self.keys.claims, now + block, claim),
                    ('BLMOVE', self.keys.queue, claim, 'RIGHT', 'LEFT', block),
                    self._evalsha('claim', keys, args),
                ]
            )
            if taken is not None or time.monotonic() >= give_up:
                return taken

    def queue_size(self) -> int:
        if self.priority:
            return self.client.zcard(self.keys.queue)
        return self.client.llen(self.keys.queue)

    def enqueued_items(self, limit: int | None = None) -> list[bytes]:
        if limit is not None and limit <= 0:
            return []
        if self.priority:
            members = self.client.zrange(self.keys.queue, 0, -1 if limit is None else limit - 1)
            return [open_envelope(member[16:])[1] for member in members]
        envelopes = self.client.lrange(self.keys.queue, 0 if limit is None else -limit, -1)
        return [open_envelope(envelope)[1] for envelope in reversed(envelopes)]

    def flush_queue(self) -> None:
        claim_lists = self.client.zrange(self.keys.claims, 0, -1)
        self.client.delete(
            self.keys.queue,
            self.keys.ready,
            self.keys.leases,
            self.keys.lease_deadlines,
            self.keys.lease_owners,
            self.keys.claims,
            *claim_lists,
        )

    # -- leases -----------------------------------------------------------

    def _new_receipt(self) -> str:
        """A fresh receipt, naming the lease's owner before a '/' when it has one."""
        owner = self.lease_owner
        return uuid.uuid4().hex if owner is None else f'{owner}/{uuid.uuid4().hex}'

    def lease(self, timeout: float) -> Lease | None:
        receipt = self._new_receipt()
        envelope = self._take(receipt, timeout)
        if envelope is None:
            return None
        expired, data = open_envelope(envelope)
        return Lease(receipt, data, expired + 1)

    def lease_with_data(self, timeout: float, key: str):
        receipt = self._new_receipt()
        taken = self._take(receipt, timeout, key)
        if taken is None:
            return None, EmptyData
        envelope, value = taken
        expired, data = open_envelope(envelope)
        return Lease(receipt, data, expired + 1), (EmptyData if value is None else value)

    def ack_and_lease(
        self, receipt: str, result: tuple[str, bytes] | None, timeout: float, key: str
    ):
        """store.lua then take.lua (never blocking), pipelined: one round trip."""
        store_keys, store_args = self._ack_call(receipt, result)
        take_keys = self.keys.queue_keys + [self.keys.data(key)]
        next_receipt = self._new_receipt()
        acked, taken = self._send(
            [
                self._evalsha('store', store_keys, store_args),
                self._evalsha('take', take_keys, [self._flag, next_receipt, time.time() + timeout]),
            ]
        )
        if result is not None and self.notify_result:
            self._notify(result[0])
        if taken is None:
            return bool(acked), None, EmptyData
        envelope, value = taken
        expired, data = open_envelope(envelope)
        return (
            bool(acked),
            Lease(next_receipt, data, expired + 1),
            EmptyData if value is None else value,
        )

    def lease_many(self, count: int, timeout: float, key: str, share: int = 1):
        """One round trip (a blocking one on an empty queue, as ``lease``);
        at most ``BATCH_SIZE`` messages."""
        count = min(count, BATCH_SIZE)
        prefix = self._new_receipt() + '.'
        return self._leases(prefix, self._lease_many(prefix, count, timeout, key, share))

    def _lease_many(self, prefix: str, count: int, timeout: float, key: str, share: int) -> list:
        """``lease_many.lua``'s reply, waiting for a first message when blocking
        (as ``_take``: on the FIFO queue by ``BLMOVE`` into this thread's claim
        list, on the priority queue by the ``ready`` token)."""
        keys = self.keys.queue_keys + [self.keys.data(key)]

        def take(extra: list, deadline: float) -> tuple:
            args = [self._flag, prefix, deadline, count, share]
            return self._evalsha('lease_many', keys + extra, args)

        if not self.blocking or self.read_timeout <= 0:
            return self._send([take([], time.time() + timeout)])[0]
        give_up = time.monotonic() + self.read_timeout
        if not self.priority:
            claim = self._claim_key()
            while True:
                block = self._block_for(give_up - time.monotonic())
                now = time.time()
                _, _, taken = self._send(
                    [
                        ('ZADD', self.keys.claims, now + block, claim),
                        ('BLMOVE', self.keys.queue, claim, 'RIGHT', 'LEFT', block),
                        take([claim], now + block + timeout),
                    ]
                )
                if taken or time.monotonic() >= give_up:
                    return taken
        while True:
            taken = self._send([take([], time.time() + timeout)])[0]
            remaining = give_up - time.monotonic()
            if taken or remaining <= 0:
                return taken
            # consumes nothing: returns once the token list is not empty (or the timeout)
            self.client.blmove(
                self.keys.ready, self.keys.ready, self._block_for(remaining), 'RIGHT', 'RIGHT'
            )

    @staticmethod
    def _leases(prefix: str, reply: list):
        """``(leases, value)`` from a ``lease_many.lua`` reply."""
        if not reply:
            return [], EmptyData
        leases = []
        for index, envelope in enumerate(reply[1:], 1):
            expired, data = open_envelope(envelope)
            leases.append(Lease(f'{prefix}{index}', data, expired + 1))
        return leases, EmptyData if reply[0] is None else reply[0]

    def ack_many(
        self,
        acks: Sequence[tuple[str, tuple[str, bytes] | None]],
        count: int = 0,
        timeout: float = 30.0,
        key: str | None = None,
        share: int = 1,
    ):
        """``store_many.lua`` (per ``BATCH_SIZE`` acknowledgements) and
        ``lease_many.lua`` (never blocking), pipelined: one round trip."""
        acks = list(acks)
        commands = []
        for start in range(0, len(acks), BATCH_SIZE):
            keys = [self.keys.leases, self.keys.lease_deadlines]
            args: list = [self._result_ttl_ms]
            for receipt, result in acks[start : start + BATCH_SIZE]:
                if result is None:
                    args += [receipt, '0']
                else:
                    keys.append(self.keys.data(result[0]))
                    args += [receipt, '1', result[1], self.keys.channel(result[0])]
            commands.append(self._evalsha('store_many', keys, args))
        stores = len(commands)
        count = min(count, BATCH_SIZE)
        take = count > 0 and key is not None
        if take:
            prefix = self._new_receipt() + '.'
            commands.append(
                self._evalsha(
                    'lease_many',
                    self.keys.queue_keys + [self.keys.data(key)],
                    [self._flag, prefix, time.time() + timeout, count, share],
                )
            )
        replies = self._send(commands) if commands else []
        if self.notify_result:
            for _, result in acks:
                if result is not None:
                    self._notify(result[0])
        acked = sum(replies[:stores])
        if not take:
            return acked, [], EmptyData
        leases, value = self._leases(prefix, replies[-1])
        return acked, leases, value

    def _ack_call(self, receipt: str, result: tuple[str, bytes] | None) -> tuple[list, list]:
        """The store.lua keys and arguments acknowledging ``receipt`` (with its result)."""
        if result is None:
            return self._store_call(receipt, None, None, False)
        return self._store_call(receipt, result[0], result[1], True)

    def ack(self, receipt: str, result: tuple[str, bytes] | None = None) -> bool:
        acked = bool(self._run('store', *self._ack_call(receipt, result)))
        if result is not None and self.notify_result:
            self._notify(result[0])
        return acked

    def extend_leases(self, receipts: Sequence[str], timeout: float) -> int:
        if not receipts:
            return 0
        now = time.time()
        return self._run(
            'extend_leases', [self.keys.lease_deadlines], [now, now + timeout, *receipts]
        )

    def release(self, receipt: str) -> bool:
        return bool(self._run('release', self.keys.queue_keys, [self._flag, '1', receipt]))

    def give_back(self, receipts: Sequence[str]) -> int:
        receipts = list(reversed(list(receipts)))  # the last given ends behind the first
        if not receipts:
            return 0
        return self._run('release', self.keys.queue_keys, [self._flag, '0', *receipts])

    def requeue_expired_leases(self, now: float | None = None) -> int:
        """Requeue expired leases, and messages stranded in abandoned claim lists."""
        now = time.time() if now is None else now
        total = 0
        if not self.priority:
            total += self._requeue_batches('requeue_claims', now - CLAIM_GRACE, [self.keys.claims])
        dead_letters = self._dead_letter_keys()[len(self.keys.queue_keys) :]
        total += self._requeue_batches('requeue_expired', now, dead_letters)
        total += self._run(
            'requeue_orphans', self.keys.queue_keys + [self.keys.lease_owners], [self._flag, now]
        )
        if total:
            logger.info('%s: requeued %d expired lease(s)', self.name, total)
        return total

    def _requeue_batches(self, script: str, cutoff: float, extra_keys: list) -> int:
        total = 0
        while True:
            requeued, examined = self._run(
                script, self.keys.queue_keys + extra_keys, [self._flag, cutoff, BATCH_SIZE]
            )
            total += requeued
            if examined < BATCH_SIZE:
                return total

    def heartbeat(self, owner: str, ttl: float) -> None:
        owner, ttl = check_heartbeat(owner, ttl)
        self.client.zadd(self.keys.lease_owners, {owner: time.time() + ttl})

    def leased_count(self) -> int:
        return self.client.hlen(self.keys.leases)

    # -- schedule ---------------------------------------------------------

    def add_to_schedule(self, data: bytes, ts: Timestamp, priority: int | None = None) -> None:
        self._run(
            'schedule_add',
            [self.keys.schedule, self.keys.schedule_seq],
            [as_timestamp(ts), make_envelope(data, self._priority(priority))],
        )

    def _schedule_pop(self, ts: Timestamp, mode: str) -> list:
        ts = as_timestamp(ts)
        batches = []
        while True:
            batch = self._run(
                'schedule_pop',
                self.keys.queue_keys + [self.keys.schedule],
                [self._flag, ts, mode, BATCH_SIZE],
            )
            batches.append(batch)
            if (len(batch) if mode == 'read' else batch) < BATCH_SIZE:
                return batches

    def read_schedule(self, ts: Timestamp) -> list[bytes]:
        return [
            open_envelope(member[16:])[1]
            for batch in self._schedule_pop(ts, 'read')
            for member in batch
        ]

    def enqueue_due(self, ts: Timestamp) -> int:
        return sum(self._schedule_pop(ts, 'enqueue'))

    def schedule_size(self) -> int:
        return self.client.zcard(self.keys.schedule)

    def scheduled_items(self, limit: int | None = None) -> list[bytes]:
        if limit is not None and limit <= 0:
            return []
        members = self.client.zrange(self.keys.schedule, 0, -1 if limit is None else limit - 1)
        return [open_envelope(member[16:])[1] for member in members]

    def flush_schedule(self) -> None:
        self.client.delete(self.keys.schedule)

    # -- lifecycle --------------------------------------------------------

    def flush_all(self) -> None:
        """Delete every key of this storage (counters included), by SCAN."""
        self._unlink_matching(self.keys.pattern())

    def close(self) -> None:
        """Disconnect the connections this storage opened (not a pool it was given)."""
        self._direct.disconnect()
        self.client.close()
