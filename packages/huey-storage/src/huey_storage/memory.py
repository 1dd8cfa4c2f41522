"""``MemoryStorage``: the whole storage contract in one process's memory.

The default storage for immediate mode and for unit tests. One lock guards
everything; enqueue, dequeue, lease and ack are O(log n). Nothing survives the
process, and two ``MemoryStorage`` objects never share anything, whatever
their names.
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
import uuid
import weakref
from typing import Iterable, NamedTuple, Sequence

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

__all__ = ['MemoryStorage']


class _Held(NamedTuple):
    """A lease on record: what goes back to the queue if it expires."""

    deadline: float
    data: bytes
    priority: int
    seq: int
    deliveries: int
    owner: str | None = None


class MemoryStorage(BaseStorage):
    """Thread-safe in-process storage with priorities, leases, TTLs and dead letters.

    Queue order: higher priority first, FIFO within a priority. Messages
    returned by ``release()`` or ``requeue_expired_leases()`` go to the head of
    their priority level.
    """

    blocking = False
    priority = True
    shared_between_processes = False  # each process would have its own copy

    def __init__(self, name: str = 'huey', **kwargs) -> None:
        super().__init__(name, **kwargs)
        self._init_lock()
        # queue heap entries: (-priority, seq, data, deliveries); seq is unique,
        # so data is never compared. Head insertions use negative seqs.
        self._queue: list[tuple[int, int, bytes, int]] = []
        self._tail_seq = itertools.count(1)
        self._head_seq = itertools.count(-1, -1)
        self._receipts = itertools.count(1)
        self._leases: dict[str, _Held] = {}
        self._owners: dict[str, float] = {}  # lease owner -> heartbeat deadline
        # schedule heap entries: (ts, seq, data, priority)
        self._schedule: list[tuple[float, int, bytes, int]] = []
        self._schedule_seq = itertools.count()
        # key -> (value, expires_at or None); expiry heap entries (expires_at, key)
        self._data: dict[str, tuple[bytes, float | None]] = {}
        self._expiries: list[tuple[float, str]] = []
        # counter key -> value; counters with a TTL also have an expiry here
        self._counters: dict[str, int] = {}
        self._counter_expiries: dict[str, float] = {}
        self._dead: dict[str, DeadLetter] = {}
        _instances.add(self)

    def _init_lock(self) -> None:
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)

    # -- queue ------------------------------------------------------------

    def _push_tail(self, data: bytes, priority: int, deliveries: int = 1) -> None:
        heapq.heappush(self._queue, (-priority, next(self._tail_seq), data, deliveries))

    def enqueue(self, data: bytes, priority: int | None = None) -> None:
        priority = check_priority(priority)
        with self._lock:
            self._push_tail(data, priority)

    def enqueue_many(self, items: Iterable[tuple[bytes, int | None]]) -> None:
        items = [(data, check_priority(priority)) for data, priority in items]
        with self._lock:
            for data, priority in items:
                self._push_tail(data, priority)

    def dequeue(self) -> bytes | None:
        with self._lock:
            if not self._queue:
                return None
            return heapq.heappop(self._queue)[2]

    def queue_size(self) -> int:
        with self._lock:
            return len(self._queue)

    def enqueued_items(self, limit: int | None = None) -> list[bytes]:
        with self._lock:
            if limit is None:
                entries = sorted(self._queue)
            else:
                entries = heapq.nsmallest(max(limit, 0), self._queue)
        return [entry[2] for entry in entries]

    def flush_queue(self) -> None:
        with self._lock:
            self._queue.clear()
            self._leases.clear()
            self._owners.clear()

    # -- leases -----------------------------------------------------------

    def lease(self, timeout: float) -> Lease | None:
        with self._lock:
            taken = self._take(1, timeout)
        return taken[0] if taken else None

    def _take(self, count: int, timeout: float, share: int = 1) -> list[Lease]:
        """Lease up to ``count`` messages from the head (lock held), at most a
        ``share`` of those waiting (see ``lease_many``)."""
        if share > 1:
            count = min(count, max(1, -(-len(self._queue) // share)))
        taken = []
        deadline = time.time() + timeout
        while self._queue and len(taken) < count:
            neg_priority, seq, data, deliveries = heapq.heappop(self._queue)
            receipt = str(next(self._receipts))
            self._leases[receipt] = _Held(
                deadline, data, -neg_priority, seq, deliveries, self.lease_owner
            )
            taken.append(Lease(receipt, data, deliveries))
        return taken

    def lease_many(
        self, count: int, timeout: float, key: str, share: int = 1
    ) -> tuple[list[Lease], bytes | EmptyDataType]:
        with self._lock:
            taken = self._take(count, timeout, share)
            return taken, (self._get(key) if taken else EmptyData)

    def ack(self, receipt: str, result: tuple[str, bytes] | None = None) -> bool:
        with self._lock:
            return self._ack(receipt, result)

    def _ack(self, receipt: str, result: tuple[str, bytes] | None) -> bool:
        if result is not None:
            key, value = result
            self._store(key, value, None)
        return self._leases.pop(receipt, None) is not None

    def ack_many(
        self,
        acks: Sequence[tuple[str, tuple[str, bytes] | None]],
        count: int = 0,
        timeout: float = 30.0,
        key: str | None = None,
        share: int = 1,
    ) -> tuple[int, list[Lease], bytes | EmptyDataType]:
        with self._lock:
            acked = sum(self._ack(receipt, result) for receipt, result in acks)
            taken = self._take(count, timeout, share) if count > 0 else []
            value = self._get(key) if taken and key is not None else EmptyData
        return acked, taken, value

    def extend_leases(self, receipts: Sequence[str], timeout: float) -> int:
        now = time.time()
        extended = 0
        with self._lock:
            for receipt in receipts:
                held = self._leases.get(receipt)
                if held is None or held.deadline < now:
                    continue
                self._leases[receipt] = held._replace(deadline=now + timeout)
                extended += 1
        return extended

    def _push_head(self, held: _Held, deliveries: int) -> None:
        heapq.heappush(self._queue, (-held.priority, next(self._head_seq), held.data, deliveries))

    def release(self, receipt: str) -> bool:
        with self._lock:
            held = self._leases.pop(receipt, None)
            if held is None:
                return False
            self._push_head(held, held.deliveries + 1)
            return True

    def give_back(self, receipts: Sequence[str]) -> int:
        returned = 0
        with self._lock:
            for receipt in reversed(list(receipts)):  # the last given ends behind the first
                held = self._leases.pop(receipt, None)
                if held is not None:
                    self._push_head(held, held.deliveries)
                    returned += 1
        return returned

    def requeue_expired_leases(self, now: float | None = None) -> int:
        if now is None:
            now = time.time()
        with self._lock:
            lapsed = {owner for owner, deadline in self._owners.items() if deadline < now}
            for owner in lapsed:
                del self._owners[owner]
            expired = [
                (held.seq, receipt)
                for receipt, held in self._leases.items()
                if held.deadline < now
                or (held.owner is not None and held.owner not in self._owners)
            ]
            # latest first, so the oldest message ends up at the very head
            for _, receipt in sorted(expired, reverse=True):
                held = self._leases.pop(receipt)
                self._push_head(held, held.deliveries + 1)
        return len(expired)

    def heartbeat(self, owner: str, ttl: float) -> None:
        owner, ttl = check_heartbeat(owner, ttl)
        with self._lock:
            self._owners[owner] = time.time() + ttl

    def leased_count(self) -> int:
        with self._lock:
            return len(self._leases)

    # -- schedule ---------------------------------------------------------

    def add_to_schedule(self, data: bytes, ts: Timestamp, priority: int | None = None) -> None:
        ts, priority = as_timestamp(ts), check_priority(priority)
        with self._lock:
            heapq.heappush(self._schedule, (ts, next(self._schedule_seq), data, priority))

    def _pop_due(self, ts: float) -> list[tuple[float, int, bytes, int]]:
        due = []
        while self._schedule and self._schedule[0][0] <= ts:
            due.append(heapq.heappop(self._schedule))
        return due

    def read_schedule(self, ts: Timestamp) -> list[bytes]:
        ts = as_timestamp(ts)
        with self._lock:
            return [entry[2] for entry in self._pop_due(ts)]

    def enqueue_due(self, ts: Timestamp) -> int:
        ts = as_timestamp(ts)
        with self._lock:
            due = self._pop_due(ts)
            for _, _, data, priority in due:
                self._push_tail(data, priority)
        return len(due)

    def schedule_size(self) -> int:
        with self._lock:
            return len(self._schedule)

    def scheduled_items(self, limit: int | None = None) -> list[bytes]:
        with self._lock:
            if limit is None:
                entries = sorted(self._schedule)
            else:
                entries = heapq.nsmallest(max(limit, 0), self._schedule)
        return [entry[2] for entry in entries]

    def flush_schedule(self) -> None:
        with self._lock:
            self._schedule.clear()

    # -- key/value data (every helper below runs with the lock held) --------

    def _purge_expired(self, now: float) -> None:
        expiries = self._expiries
        while expiries and expiries[0][0] <= now:
            expires_at, key = heapq.heappop(expiries)
            entry = self._data.get(key)
            if entry is not None and entry[1] == expires_at:
                del self._data[key]

    def _get(self, key: str) -> bytes | EmptyDataType:
        entry = self._data.get(key)
        if entry is None:
            return EmptyData
        value, expires_at = entry
        if expires_at is not None and expires_at <= time.time():
            del self._data[key]
            return EmptyData
        return value

    def _store(self, key: str, value: bytes, ttl: float | None) -> None:
        now = time.time()
        self._purge_expired(now)
        expires_at = None
        if ttl is not None:
            expires_at = now + ttl
            heapq.heappush(self._expiries, (expires_at, key))
        self._data[key] = (value, expires_at)
        self._changed.notify_all()

    def _remove(self, key: str) -> bytes | EmptyDataType:
        value = self._get(key)
        if value is not EmptyData:
            del self._data[key]
        return value

    def put_data(self, key: str, value: bytes, is_result: bool = False) -> None:
        with self._lock:
            self._store(key, value, None)

    def peek_data(self, key: str) -> bytes | EmptyDataType:
        with self._lock:
            return self._get(key)

    def peek_data_many(self, keys: Sequence[str]) -> list[bytes | EmptyDataType]:
        with self._lock:
            return [self._get(key) for key in keys]

    def pop_data(self, key: str) -> bytes | EmptyDataType:
        with self._lock:
            return self._remove(key)

    def wait_data(
        self, key: str, timeout: float | None = None, pop: bool = True
    ) -> bytes | EmptyDataType:
        """Wait until ``key`` holds a value; woken at once by any write."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while True:
                value = self._remove(key) if pop else self._get(key)
                if value is not EmptyData:
                    return value
                if deadline is None:
                    self._changed.wait()
                else:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        return EmptyData
                    self._changed.wait(remaining)

    def has_data_for_key(self, key: str) -> bool:
        with self._lock:
            return self._get(key) is not EmptyData

    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        ttl = check_ttl(ttl)
        with self._lock:
            if self._get(key) is not EmptyData:
                return False
            self._store(key, value, ttl)
            return True

    def delete_data(self, key: str) -> bool:
        with self._lock:
            return self._remove(key) is not EmptyData

    def delete_data_if(self, key: str, value: bytes) -> bool:
        with self._lock:
            return self._get(key) == value and self._remove(key) is not EmptyData

    def flush_data(self) -> None:
        with self._lock:
            self._data.clear()
            self._expiries.clear()

    # -- counters -----------------------------------------------------------

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        ttl = check_ttl(ttl)
        with self._lock:
            expires_at = self._counter_expiries.get(key)
            if expires_at is not None and expires_at <= time.time():
                self._drop_counter(key)
            if key not in self._counters and ttl is not None:
                self._counter_expiries[key] = time.time() + ttl
            value = self._counters[key] = self._counters.get(key, 0) + int(amount)
            return value

    def peek_counters(self, keys: Sequence[str]) -> list[int]:
        now = time.time()
        with self._lock:
            values = []
            for key in keys:
                expires_at = self._counter_expiries.get(key)
                live = expires_at is None or expires_at > now
                values.append(self._counters.get(key, 0) if live else 0)
            return values

    def _drop_counter(self, key: str) -> None:
        self._counters.pop(key, None)
        self._counter_expiries.pop(key, None)

    def delete_counter(self, key: str) -> None:
        with self._lock:
            self._drop_counter(key)

    def flush_counters(self) -> None:
        with self._lock:
            self._counters.clear()
            self._counter_expiries.clear()

    # -- results ----------------------------------------------------------

    def _live_items(self) -> dict[str, bytes]:
        now = time.time()
        self._purge_expired(now)
        return {
            key: value
            for key, (value, expires_at) in self._data.items()
            if expires_at is None or expires_at > now
        }

    def result_store_size(self) -> int:
        with self._lock:
            return len(self._live_items())

    def result_items(self) -> dict[str, bytes]:
        with self._lock:
            return self._live_items()

    # -- dead letters -----------------------------------------------------

    def _add_dead(self, data: bytes, reason: str) -> str:
        dead_id = uuid.uuid4().hex
        self._dead[dead_id] = DeadLetter(dead_id, data, reason, time.time())
        return dead_id

    def add_dead_letter(self, data: bytes, reason: str) -> str:
        with self._lock:
            return self._add_dead(data, reason)

    def dead_letter(self, receipt: str, reason: str) -> str | None:
        with self._lock:
            held = self._leases.pop(receipt, None)
            if held is None:
                return None
            return self._add_dead(held.data, reason)

    def dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        with self._lock:
            letters = list(self._dead.values())
        return letters if limit is None else letters[: max(limit, 0)]

    def requeue_dead_letter(self, id: str, priority: int | None = None) -> bool:
        with self._lock:
            letter = self._dead.pop(id, None)
            if letter is None:
                return False
            self._push_tail(letter.data, check_priority(priority))
            return True

    def delete_dead_letter(self, id: str) -> bool:
        with self._lock:
            return self._dead.pop(id, None) is not None

    def flush_dead_letters(self) -> int:
        with self._lock:
            count = len(self._dead)
            self._dead.clear()
            return count


# A lock held by another thread at fork() time would stay held forever in the
# child, so every MemoryStorage gets fresh locks there.
_instances: weakref.WeakSet[MemoryStorage] = weakref.WeakSet()


def _reset_locks_after_fork() -> None:
    for storage in list(_instances):
        storage._init_lock()


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_reset_locks_after_fork)
