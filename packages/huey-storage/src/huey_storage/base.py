"""The storage contract: what every huey storage backend implements.

A storage holds five things for one named huey application:

* the **queue** of messages waiting to run (optionally prioritised),
* the **leases** of messages handed to a worker but not yet acknowledged,
* the **schedule** of messages that become due at a timestamp,
* **data**: a key/value store holding results, revocations and locks,
* **counters**: integers (``incr``, read back with ``peek_counters``) in a
  namespace of their own,
* **dead letters**: messages that could not be run, with the reason.

Messages and values are opaque ``bytes``; keys are ``str``. Timestamps are
seconds since the epoch (``time.time()``) on the client, so several processes
and machines agree on them as far as their clocks agree (keep them in sync
with NTP; lease deadlines and schedules are only as exact as that). Every
method must be safe to call from several threads at once and from several
processes sharing the same backing store, and a storage must
keep working in the child after ``os.fork()`` (re-opening connections there).

Delivery comes in two flavours. ``dequeue()`` is at-most-once: the message is
gone from the storage once returned. ``lease()`` is at-least-once: the message
stays stored, invisible to other readers, until ``ack()`` deletes it or the
lease deadline passes and ``requeue_expired_leases()`` hands it out again.
A consumer also names itself as the owner of its leases and heartbeats
(``lease_owner``, ``heartbeat()``): the leases of an owner that stopped
beating are handed out again at once, without waiting for their deadline.
"""

from __future__ import annotations

import abc
import datetime
import math
import re
import time
from dataclasses import dataclass
from typing import Callable, Iterable, Sequence, TypeVar, Union

__all__ = [
    'BaseStorage',
    'ConfigurationError',
    'DeadLetter',
    'EmptyData',
    'EmptyDataType',
    'Lease',
    'Timestamp',
    'as_timestamp',
    'check_heartbeat',
    'check_priority',
    'check_ttl',
    'wait_until',
]

T = TypeVar('T')

#: a receipt names its owner, and must fit in 64 characters with a 33-character token
_OWNER = re.compile(r'[A-Za-z0-9_.:-]{1,31}')

#: A schedule time: epoch seconds, or a ``datetime`` (naive means local time).
Timestamp = Union[float, int, datetime.datetime]


class ConfigurationError(Exception):
    """A storage was given options that contradict each other.

    ``Huey(...)`` re-raises it as huey's own ``ConfigurationError``.
    """


class EmptyDataType:
    """Type of the ``EmptyData`` sentinel: "no value stored" (unlike ``None``)."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return 'EmptyData'

    def __bool__(self) -> bool:
        return False

    def __reduce__(self):
        return (EmptyDataType, ())


#: Returned by data reads when the key holds nothing. Compare with ``is``.
EmptyData = EmptyDataType()


def as_timestamp(ts: Timestamp) -> float:
    """``ts`` as epoch seconds: storages take ``time.time()`` floats and, as
    huey's own storages do, ``datetime`` objects (naive ones are local time)."""
    if isinstance(ts, datetime.datetime):
        return ts.timestamp()
    if isinstance(ts, bool) or not isinstance(ts, (int, float)):
        raise TypeError(f'timestamp {ts!r}: give epoch seconds (time.time()) or a datetime')
    return float(ts)


def check_priority(priority: object) -> int:
    """The priority a storage keeps for ``priority``: an ``int`` (``None`` is 0).

    A finite float is truncated toward zero (``1.5`` -> 1), as huey does;
    anything else raises ``TypeError``, NaN and infinities ``ValueError``, and
    so does a value that does not fit in 64 bits. Every storage validates
    through this, so they all accept and refuse the same values.
    """
    if priority is None:
        return 0
    if isinstance(priority, bool) or not isinstance(priority, (int, float)):
        raise TypeError(f'priority={priority!r}: give an int (higher runs first) or None')
    if isinstance(priority, float):
        if not math.isfinite(priority):
            raise ValueError(f'priority={priority!r}: give a finite number')
        priority = int(priority)
    if not -(2**63) <= priority < 2**63:
        raise ValueError(f'priority={priority}: must fit in 64 bits')
    return priority


def check_ttl(ttl: object, what: str = 'ttl') -> float | None:
    """``ttl`` checked: ``None`` (never expires) or a positive number of seconds."""
    if ttl is None:
        return None
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)):
        raise TypeError(f'{what}={ttl!r}: give a positive number of seconds, or None')
    if not ttl > 0 or not math.isfinite(ttl):
        raise ValueError(f'{what}={ttl!r}: give a positive number of seconds, or None')
    return float(ttl)


def check_heartbeat(owner: object, ttl: object) -> tuple[str, float]:
    """``(owner, ttl)`` of a ``heartbeat`` call checked: a lease owner name
    (1 to 31 letters, digits or ``._:-``) and 0 or more seconds."""
    if not isinstance(owner, str) or not _OWNER.fullmatch(owner):
        raise ValueError(
            f'lease owner {owner!r}: must be 1 to 31 letters, digits or ._:- characters'
        )
    if isinstance(ttl, bool) or not isinstance(ttl, (int, float)) or not 0 <= ttl < math.inf:
        raise ValueError(f'heartbeat ttl={ttl!r}: give 0 or more seconds')
    return owner, float(ttl)


def wait_until(
    probe: Callable[[], T], timeout: float | None, max_delay: float = 0.1
) -> T | EmptyDataType:
    """Call ``probe()`` until it returns something other than ``EmptyData``.

    Polls with a delay doubling from 1 ms up to ``max_delay``; returns the
    probe's value, or ``EmptyData`` once ``timeout`` seconds passed (``None``
    waits forever). The fallback for storages that cannot be notified.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    delay = 0.001
    while True:
        value = probe()
        if value is not EmptyData:
            return value
        if deadline is not None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return EmptyData
            delay = min(delay, remaining)
        time.sleep(delay)
        delay = min(delay * 2, max_delay)


@dataclass(frozen=True)
class Lease:
    """A message handed to one worker until acknowledged or expired.

    ``receipt`` is an opaque token naming this lease; ``deliveries`` is 1 the
    first time a message is leased and grows by one each time a lease of it
    ended without an acknowledgement: expired (a likely crash while running
    it) or released (an interrupted shutdown).
    """

    receipt: str
    data: bytes
    deliveries: int = 1


@dataclass(frozen=True)
class DeadLetter:
    """A message set aside because it could not be run, and why."""

    id: str
    data: bytes
    reason: str
    failed_at: float


class BaseStorage(abc.ABC):
    """Abstract storage. Subclasses implement every abstract method.

    ``name`` namespaces everything the storage keeps, so several applications
    can share one server or file without seeing each other's messages.
    """

    #: True when ``dequeue()``/``lease()`` wait (up to a read timeout) for a
    #: message to arrive, so a consumer need not sleep between empty reads.
    blocking: bool = False
    #: True when handles opened in several processes (a consumer's worker
    #: processes) see the same messages; False for an in-process store.
    shared_between_processes: bool = True
    #: True when ``enqueue(priority=...)`` is honoured; otherwise it is still
    #: checked (``check_priority``) but ignored, and the queue is strictly FIFO.
    priority: bool = False
    #: True when ``pop_data`` (and ``wait_data(pop=True)``) delete what they
    #: return. False only where values expire on their own and may be read
    #: again until then (``RedisExpireStorage``, as in huey).
    destructive_reads: bool = True

    def __init__(self, name: str = 'huey', **kwargs) -> None:
        if kwargs:
            unexpected = ', '.join(sorted(kwargs))
            raise TypeError(f'{type(self).__name__} got unexpected options: {unexpected}')
        self.name = name

    # -- queue ------------------------------------------------------------

    @abc.abstractmethod
    def enqueue(self, data: bytes, priority: int | None = None) -> None:
        """Append ``data`` to the queue; durable once this returns.

        With ``priority`` support, higher numbers are dequeued first and equal
        priorities (``None`` counts as 0) stay FIFO. Every storage checks
        ``priority`` with ``check_priority`` (so a bad one raises alike).
        """

    def enqueue_many(self, items: Iterable[tuple[bytes, int | None]]) -> None:
        """Enqueue several ``(data, priority)`` pairs, in order.

        Backends should override this to use one round trip.
        """
        for data, priority in items:
            self.enqueue(data, priority)

    @abc.abstractmethod
    def dequeue(self) -> bytes | None:
        """Remove and return the next message, or ``None`` if the queue is empty.

        At-most-once: the message is gone from the storage once returned. A
        blocking storage may wait up to its read timeout before returning None.
        """

    @abc.abstractmethod
    def queue_size(self) -> int:
        """Number of messages waiting in the queue (leased ones excluded)."""

    @abc.abstractmethod
    def enqueued_items(self, limit: int | None = None) -> list[bytes]:
        """Waiting messages in dequeue order, without removing them."""

    @abc.abstractmethod
    def flush_queue(self) -> None:
        """Delete every waiting and every leased message (and heartbeats)."""

    # -- leases (at-least-once delivery) -------------------------------------

    @abc.abstractmethod
    def lease(self, timeout: float) -> Lease | None:
        """Take the next message under a lease of ``timeout`` seconds.

        Same order and blocking behaviour as ``dequeue()``; returns ``None`` if
        the queue is empty. Taking the message off the queue and recording its
        lease is one atomic step: a crash can never leave the message in
        neither place. The message stays stored until ``ack()``.
        """

    def lease_with_data(
        self, timeout: float, key: str
    ) -> tuple[Lease | None, bytes | EmptyDataType]:
        """``lease(timeout)`` and, when it got a message, ``peek_data(key)``.

        Returns ``(lease, value)``; ``value`` is ``EmptyData`` when there was
        no message or no value. Lets a consumer read a small flag along with
        each message; backends should override it to use one round trip.
        """
        lease = self.lease(timeout)
        return lease, (EmptyData if lease is None else self.peek_data(key))

    @abc.abstractmethod
    def ack(self, receipt: str, result: tuple[str, bytes] | None = None) -> bool:
        """Delete the leased message for good; True if the lease was held.

        When ``result`` is a ``(key, value)`` pair it is stored exactly as
        ``put_data(key, value, is_result=True)`` would, in the same atomic
        step (one round trip), so a result and its acknowledgement are never
        split by a crash. The result is stored even if the lease was lost.
        """

    def ack_and_lease(
        self,
        receipt: str,
        result: tuple[str, bytes] | None,
        timeout: float,
        key: str,
    ) -> tuple[bool, Lease | None, bytes | EmptyDataType]:
        """``ack(receipt, result)``, then take the next message if one is waiting.

        Returns ``(acked, lease, value)`` where ``lease``/``value`` are as from
        ``lease_with_data(timeout, key)`` but never waited for: ``(None,
        EmptyData)`` when the queue is empty. A worker finishing a task uses it
        to acknowledge and get its next message in one round trip. This default
        only acknowledges (``lease`` is always None); backends that can do both
        in one round trip override it.
        """
        return self.ack(receipt, result), None, EmptyData

    def lease_many(
        self, count: int, timeout: float, key: str, share: int = 1
    ) -> tuple[list[Lease], bytes | EmptyDataType]:
        """Lease up to ``count`` messages in queue order, each under its own
        receipt, as ``count`` calls of ``lease_with_data`` would.

        Waits (as ``lease``) only for the first message; the others are taken
        only if already waiting, so a lone message is never held back. With
        ``share`` > 1 (the caller's idle peers, say), at most that fraction of
        the waiting messages is taken (rounded up): a short queue is split
        between workers instead of going to the first.
        Returns ``(leases, value)``: ``value`` is ``peek_data(key)`` read with
        the leases (``EmptyData`` when there are none). A consumer prefetching
        work uses it. This default leases one message (``lease_with_data``);
        backends that can take several in one round trip override it.
        """
        lease, value = self.lease_with_data(timeout, key)
        return ([] if lease is None else [lease]), value

    def ack_many(
        self,
        acks: Sequence[tuple[str, tuple[str, bytes] | None]],
        count: int = 0,
        timeout: float = 30.0,
        key: str | None = None,
        share: int = 1,
    ) -> tuple[int, list[Lease], bytes | EmptyDataType]:
        """``ack(receipt, result)`` for each pair of ``acks`` in order, then (with
        ``count`` > 0) lease up to ``count`` waiting messages without waiting.

        Returns ``(acked, leases, value)``: how many leases were held, and
        leases/value as from ``lease_many(count, timeout, key, share)`` but never
        waited for (``value`` is ``EmptyData`` without ``key``). Each result is
        stored with its acknowledgement, as ``ack`` does. This default
        acknowledges one by one and takes at most one message, through
        ``ack_and_lease``; backends override it to do it all in one round trip.
        """
        acks = list(acks)
        if not acks or count <= 0 or key is None:
            return sum(self.ack(receipt, result) for receipt, result in acks), [], EmptyData
        acked = sum(self.ack(receipt, result) for receipt, result in acks[:-1])
        receipt, result = acks[-1]
        held, lease, value = self.ack_and_lease(receipt, result, timeout, key)
        return acked + held, ([] if lease is None else [lease]), value

    @abc.abstractmethod
    def extend_leases(self, receipts: Sequence[str], timeout: float) -> int:
        """Push the deadline of each held lease to now + ``timeout`` seconds.

        Unknown or already expired receipts are skipped. Returns how many
        leases were extended. This is the heartbeat of long-running tasks.
        """

    @abc.abstractmethod
    def release(self, receipt: str) -> bool:
        """Return a leased message to the head of the queue at once.

        Used when work is interrupted on purpose (shutdown). The lease counts
        as a delivery, as an expired one does, so a task that hangs through
        every restart still reaches its ``max_deliveries``. True if the lease
        was held. With priorities, "head"
        means the head of the message's own priority level.
        """

    def give_back(self, receipts: Sequence[str]) -> int:
        """Return leased messages that never started (a consumer's prefetched
        ones) to the queue head, in the order given, each as if never leased:
        its delivery count is unchanged. Returns how many leases were held.

        This default ``release``s each one, which counts a delivery: it is
        only reached where ``lease_many`` is the default too, which never
        leaves a worker a message it has not started. Backends with native
        batched leases override it.
        """
        return sum(self.release(receipt) for receipt in reversed(list(receipts)))

    @abc.abstractmethod
    def requeue_expired_leases(self, now: float | None = None) -> int:
        """Return every lease whose deadline is before ``now``, or whose owner's
        heartbeat lapsed before ``now`` (see ``heartbeat``), to the queue head.

        ``now`` defaults to ``time.time()``. Each returned message's delivery
        count grows by one. Atomic per message, safe with concurrent callers:
        a message is requeued once. Requeued messages go ahead of every waiting
        message (of their priority level); among themselves their order is
        unspecified. Until a lease is requeued it is still held: ``ack`` and
        ``release`` on it succeed. Returns how many were requeued.
        """

    @abc.abstractmethod
    def leased_count(self) -> int:
        """Number of messages currently leased (not yet acknowledged)."""

    # -- lease owners: a crashed consumer's leases come back in seconds ------

    #: The consumer this handle takes leases for, set by the consumer before
    #: its first lease (``check_heartbeat`` says what a name may be). Every lease
    #: taken through the handle records it; None: leases have no owner and
    #: only come back when their deadline passes.
    lease_owner: str | None = None

    def heartbeat(self, owner: str, ttl: float) -> None:  # noqa: B027 - optional hook
        """Record that consumer ``owner`` is alive for ``ttl`` more seconds (0:
        it stopped). Once that has passed, or for an owner never recorded,
        ``requeue_expired_leases`` reclaims the owner's leases whatever their
        own deadline: a killed consumer's tasks run again in seconds, while a
        live consumer's slow tasks keep theirs as long as it beats. Expired
        records are dropped by ``requeue_expired_leases``.

        Backends override this; the default records nothing and leaves
        ``lease_owner`` unused, so leases only expire.
        """

    # -- schedule ---------------------------------------------------------

    @abc.abstractmethod
    def add_to_schedule(self, data: bytes, ts: Timestamp, priority: int | None = None) -> None:
        """Store ``data`` until timestamp ``ts``; ``priority`` is kept for the
        moment it is moved to the queue by ``enqueue_due()``.

        Every ``ts`` of the schedule methods is epoch seconds or a ``datetime``
        (see ``as_timestamp``).
        """

    @abc.abstractmethod
    def read_schedule(self, ts: Timestamp) -> list[bytes]:
        """Remove and return every item due at or before ``ts``, oldest first."""

    @abc.abstractmethod
    def enqueue_due(self, ts: Timestamp) -> int:
        """Move every item due at or before ``ts`` to the queue, oldest first.

        Atomic per item and safe with concurrent callers (several consumers'
        schedulers): each item lands in the queue exactly once, with the
        priority given to ``add_to_schedule``. Returns how many moved.
        """

    @abc.abstractmethod
    def schedule_size(self) -> int:
        """Number of items in the schedule."""

    @abc.abstractmethod
    def scheduled_items(self, limit: int | None = None) -> list[bytes]:
        """Scheduled items, soonest first, without removing them."""

    @abc.abstractmethod
    def flush_schedule(self) -> None:
        """Delete every scheduled item."""

    # -- key/value data ---------------------------------------------------

    @abc.abstractmethod
    def put_data(self, key: str, value: bytes, is_result: bool = False) -> None:
        """Store ``value`` at ``key``, replacing any value (and any TTL).

        ``is_result`` marks a task result: a storage may expire results
        (``RedisExpireStorage``) or wake ``wait_result`` callers on them.
        """

    @abc.abstractmethod
    def peek_data(self, key: str) -> bytes | EmptyDataType:
        """The value at ``key``, or ``EmptyData``; the value stays stored."""

    def peek_data_many(self, keys: Sequence[str]) -> list[bytes | EmptyDataType]:
        """``peek_data`` for several keys, in order. Override for one round trip."""
        return [self.peek_data(key) for key in keys]

    @abc.abstractmethod
    def pop_data(self, key: str) -> bytes | EmptyDataType:
        """Atomically remove and return the value at ``key``, or ``EmptyData``.

        Two concurrent pops of one key never both get the value. A storage
        with ``destructive_reads = False`` returns the value and keeps it.
        """

    def wait_data(
        self, key: str, timeout: float | None = None, pop: bool = True
    ) -> bytes | EmptyDataType:
        """Wait until ``key`` holds a value, then pop (or peek) and return it.

        Returns ``EmptyData`` if ``timeout`` seconds pass first (``None``
        waits forever). This default polls with a growing delay; backends that
        can be notified should override it.
        """
        read = self.pop_data if pop else self.peek_data
        return wait_until(lambda: read(key), timeout)

    def wait_result(self, key: str, timeout: float | None = None) -> bool:
        """Wait until ``key`` holds a value, leaving it stored; True if it does.

        huey's name for ``wait_data(key, timeout, pop=False)``.
        """
        return self.wait_data(key, timeout, pop=False) is not EmptyData

    def peek_many(self, keys: Sequence[str]) -> dict[str, bytes]:
        """``{key: value}`` for the ``keys`` holding a value (huey's API;
        one round trip where ``peek_data_many`` is one)."""
        keys = list(keys)
        values = self.peek_data_many(keys)
        return {key: value for key, value in zip(keys, values) if value is not EmptyData}

    @abc.abstractmethod
    def has_data_for_key(self, key: str) -> bool:
        """True if ``key`` holds a value."""

    @abc.abstractmethod
    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        """Atomically store ``value`` only if ``key`` holds nothing.

        Returns True if stored. With ``ttl`` the key disappears after ``ttl``
        seconds (locks that outlive a crashed holder); a ``ttl`` that is not
        positive raises ``ValueError``.
        """

    @abc.abstractmethod
    def delete_data(self, key: str) -> bool:
        """Delete ``key``; True if it held a value."""

    def delete_data_if(self, key: str, value: bytes) -> bool:
        """Delete ``key`` only if it holds exactly ``value``; True if deleted.

        Releases a lock only for its owner (the value is the owner's token).
        This default reads then deletes: a storage overrides it to do both
        atomically.
        """
        if self.peek_data(key) != value:
            return False
        return self.delete_data(key)

    # -- counters ---------------------------------------------------------

    @abc.abstractmethod
    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        """Atomically add ``amount`` to the integer counter ``key``; the new value.

        A missing counter counts as 0. Counters live apart from data keys (as
        in huey): ``incr('k')`` neither reads nor writes the data key ``k``.
        With ``ttl``, a counter created by this call disappears after ``ttl``
        seconds (a ``ttl`` that is not positive raises ``ValueError``).
        """

    def incr_many(self, increments: Iterable[tuple[str, int, float | None]]) -> None:
        """Add each ``(key, amount, ttl)`` of ``increments`` as ``incr`` would,
        in one go where the backend allows (SQLite: one transaction).

        Why: a writer of many counters at once (huey-monitor's flush) would
        otherwise take a storage's write lock once per counter, from workers
        that need it. The new values are not returned. Every ``ttl`` is
        checked before anything is added. This default calls ``incr`` for
        each.
        """
        increments = list(increments)
        for _, _, ttl in increments:
            check_ttl(ttl)
        for key, amount, ttl in increments:
            self.incr(key, amount, ttl=ttl)

    @abc.abstractmethod
    def peek_counters(self, keys: Sequence[str]) -> list[int]:
        """The current value of each counter in ``keys``, in order, read in one go.

        A missing (or expired) counter reads as 0 and is not created; reading
        never changes a counter or its TTL, and never looks at data keys (a
        data key ``k`` does not make counter ``k`` non-zero). An empty ``keys``
        returns ``[]``. One round trip where the backend allows it (Redis
        ``MGET``, one ``SELECT``), so a reader of many counters (dashboards,
        metrics) costs the same as a reader of one; it is not on the hot path.
        """

    @abc.abstractmethod
    def delete_counter(self, key: str) -> None:
        """Delete the counter ``key`` (nothing happens if it is missing)."""

    @abc.abstractmethod
    def flush_counters(self) -> None:
        """Delete every counter."""

    # -- results ----------------------------------------------------------

    @abc.abstractmethod
    def result_store_size(self) -> int:
        """Number of data keys (results, revocations, locks...; not counters)."""

    @abc.abstractmethod
    def result_items(self) -> dict[str, bytes]:
        """Every data key and its value, ``{key: value}`` (as huey lists them)."""

    def result_keys(self) -> list[str]:
        """Every data key ``result_items`` lists, in no particular order.
        Override where the names cost less to read than the values."""
        return list(self.result_items())

    def flush_results(self) -> None:
        """Delete every data key (counters stay): ``flush_data()``."""
        self.flush_data()

    # -- dead letters -----------------------------------------------------

    @abc.abstractmethod
    def add_dead_letter(self, data: bytes, reason: str) -> str:
        """Set ``data`` aside with ``reason``; returns the new dead letter's id."""

    @abc.abstractmethod
    def dead_letter(self, receipt: str, reason: str) -> str | None:
        """Atomically move a leased message to the dead letters.

        Returns the dead letter's id, or None if the lease was not held.
        """

    @abc.abstractmethod
    def dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        """Dead letters, oldest first."""

    @abc.abstractmethod
    def requeue_dead_letter(self, id: str, priority: int | None = None) -> bool:
        """Atomically move a dead letter back to the queue tail; False if unknown.

        Its delivery count starts again from 1.
        """

    @abc.abstractmethod
    def delete_dead_letter(self, id: str) -> bool:
        """Delete one dead letter; False if unknown."""

    @abc.abstractmethod
    def flush_dead_letters(self) -> int:
        """Delete every dead letter; returns how many there were."""

    # -- lifecycle --------------------------------------------------------

    def flush_all(self) -> None:
        """Delete everything this storage holds under its name (data, locks,
        counters, dead letters included)."""
        self.flush_queue()
        self.flush_schedule()
        self.flush_data()
        self.flush_counters()
        self.flush_dead_letters()

    @abc.abstractmethod
    def flush_data(self) -> None:
        """Delete every data key, results included."""

    def close(self) -> None:  # noqa: B027 - optional hook, nothing to release by default
        """Release connections and files. Safe to call more than once."""

    def __repr__(self) -> str:
        return f'<{type(self).__name__} {self.name!r}>'
