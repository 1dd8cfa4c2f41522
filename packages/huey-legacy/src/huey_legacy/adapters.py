"""A user's own 0.x/1.x backend seen through today's storage contract.

Each adapter gives one role of ``huey_storage.BaseStorage`` (queue, key/value
data, schedule) over a ``BaseQueue``, ``BaseDataStore`` or ``BaseSchedule``
that only knows the legacy methods. What the legacy interface cannot promise
is kept in this process: a message read from a user's queue is leased here
(so an interrupted task goes back to the head of the line and a task that
keeps crashing its worker reaches the dead letters), but a process killed
while holding a lease loses that message, as the legacy ``read()`` already
removed it. Read-modify-write steps (``put_if_empty``, ``incr``) are atomic
within one process only.
"""

from __future__ import annotations

import pickle
import threading
import time
from typing import Any, Iterable, Sequence

from huey_storage import BaseStorage, EmptyData, Lease, MemoryStorage

__all__ = ['DataAdapter', 'QueueAdapter', 'ScheduleAdapter', 'StoreSchedule', 'legacy_name']

_TTL_MARK = b'\x00huey-legacy-ttl:'


def legacy_name(backend: Any) -> str:
    """The backend's name (a user's backend may not have called ``__init__``)."""
    return str(getattr(backend, 'name', None) or 'huey')


def _length(backend: Any) -> int:
    try:
        return len(backend)
    except (TypeError, NotImplementedError):
        return 0


def _flush(backend: Any) -> None:
    try:
        backend.flush()
    except NotImplementedError:
        pass


class QueueAdapter:
    """Queue role over a ``BaseQueue`` (``write``/``read``); leases and dead
    letters are kept in this process (see the module docstring)."""

    def __init__(self, queue: Any) -> None:
        self.queue = queue
        self.blocking = bool(getattr(queue, 'blocking', False))
        self._held = MemoryStorage(f'{legacy_name(queue)}.held')

    def _read(self) -> bytes | None:
        data = self.queue.read()
        if data is None or isinstance(data, bytes):
            return data
        return data.encode() if isinstance(data, str) else bytes(data)

    def enqueue(self, data: bytes, priority: int | None = None) -> None:
        self.queue.write(data)

    def enqueue_many(self, items: Iterable[tuple[bytes, int | None]]) -> None:
        for data, _priority in items:
            self.queue.write(data)

    def dequeue(self) -> bytes | None:
        data = self._held.dequeue()  # released or expired messages first
        return data if data is not None else self._read()

    def queue_size(self) -> int:
        return self._held.queue_size() + _length(self.queue)

    def enqueued_items(self, limit: int | None = None) -> list[bytes]:
        return self._held.enqueued_items(limit)  # a legacy queue cannot be listed

    def flush_queue(self) -> None:
        _flush(self.queue)
        self._held.flush_queue()

    def lease(self, timeout: float) -> Lease | None:
        lease = self._held.lease(timeout)
        if lease is None:
            data = self._read()
            if data is None:
                return None
            self._held.enqueue(data)
            lease = self._held.lease(timeout)
        return lease

    def ack(self, receipt: str, result: tuple[str, bytes] | None = None) -> bool:
        return self._held.ack(receipt)

    def extend_leases(self, receipts: Sequence[str], timeout: float) -> int:
        return self._held.extend_leases(receipts, timeout)

    def release(self, receipt: str) -> bool:
        return self._held.release(receipt)

    def requeue_expired_leases(self, now: float | None = None) -> int:
        return self._held.requeue_expired_leases(now)

    def leased_count(self) -> int:
        return self._held.leased_count()

    def add_dead_letter(self, data: bytes, reason: str) -> str:
        return self._held.add_dead_letter(data, reason)

    def dead_letter(self, receipt: str, reason: str) -> str | None:
        return self._held.dead_letter(receipt, reason)

    def dead_letters(self, limit: int | None = None) -> list:
        return self._held.dead_letters(limit)

    def requeue_dead_letter(self, id: str, priority: int | None = None) -> bool:
        return self._held.requeue_dead_letter(id, priority)

    def delete_dead_letter(self, id: str) -> bool:
        return self._held.delete_dead_letter(id)

    def flush_dead_letters(self) -> int:
        return self._held.flush_dead_letters()


class DataAdapter:
    """Key/value role over a ``BaseDataStore`` (``put``/``peek``/``get``).

    Keys written with a ``ttl`` (locks, the periodic-task minute marks) carry
    their deadline inside the stored value and read as empty once it passed.
    """

    def __init__(self, store: Any) -> None:
        self.store = store
        self._lock = threading.RLock()

    @staticmethod
    def _wrap(value: bytes, deadline: float | None) -> bytes:
        if deadline is None:
            return value
        return _TTL_MARK + repr(deadline).encode() + b'|' + value

    @staticmethod
    def _open(raw: Any) -> tuple[Any, float | None]:
        """``(value or EmptyData, deadline)`` of a stored value."""
        if raw is EmptyData or raw is None:
            return EmptyData, None
        if isinstance(raw, str):
            raw = raw.encode()
        if raw.startswith(_TTL_MARK):
            deadline, _, value = raw[len(_TTL_MARK) :].partition(b'|')
            if float(deadline) <= time.time():
                return EmptyData, None
            return value, float(deadline)
        return raw, None

    def put_data(self, key: str, value: bytes, is_result: bool = False) -> None:
        self.store.put(key, value)

    def peek_data(self, key: str) -> Any:
        return self._open(self.store.peek(key))[0]

    def peek_data_many(self, keys: Sequence[str]) -> list:
        return [self.peek_data(key) for key in keys]

    def pop_data(self, key: str) -> Any:
        with self._lock:
            return self._open(self.store.get(key))[0]

    #: polls ``pop_data``/``peek_data`` with a growing delay, as the contract's default does
    wait_data = BaseStorage.wait_data
    wait_result = BaseStorage.wait_result

    def has_data_for_key(self, key: str) -> bool:
        return self.peek_data(key) is not EmptyData

    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        if ttl is not None and not ttl > 0:
            raise ValueError(f'ttl={ttl!r}: must be a positive number of seconds')
        with self._lock:
            if self.peek_data(key) is not EmptyData:
                return False
            self.store.put(key, self._wrap(value, None if ttl is None else time.time() + ttl))
            return True

    def delete_data(self, key: str) -> bool:
        with self._lock:
            return self._open(self.store.get(key))[0] is not EmptyData

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        with self._lock:
            value, deadline = self._open(self.store.get(key))
            if value is EmptyData:
                value, deadline = b'0', None if ttl is None else time.time() + ttl
            total = int(value) + amount
            self.store.put(key, self._wrap(str(total).encode(), deadline))
            return total

    def peek_counters(self, keys: Sequence[str]) -> list[int]:
        """Counters as ``incr`` keeps them: decimal values in the user's store."""
        values = [self.peek_data(key) for key in keys]
        return [0 if value is EmptyData else int(value) for value in values]

    def delete_counter(self, key: str) -> None:
        self.delete_data(key)  # a legacy store keeps counters among its values

    def flush_counters(self) -> None:
        """Nothing apart: a legacy store keeps counters among its values, and
        ``flush_data`` removes them with the rest."""

    def result_store_size(self) -> int:
        return _length(self.store)

    def result_items(self) -> dict[str, bytes]:
        return {}  # a legacy data store cannot be listed

    def flush_results(self) -> None:
        _flush(self.store)

    def flush_data(self) -> None:
        _flush(self.store)


class ScheduleAdapter:
    """Schedule role over a ``BaseSchedule`` (``add``/``read``/``flush``)."""

    def __init__(self, schedule: Any) -> None:
        self.schedule = schedule

    def add_to_schedule(self, data: bytes, ts: float, priority: int | None = None) -> None:
        self.schedule.add(data, ts)

    def read_schedule(self, ts: float) -> list[bytes]:
        return list(self.schedule.read(ts))

    def schedule_size(self) -> int:
        return _length(self.schedule)

    def scheduled_items(self, limit: int | None = None) -> list[bytes]:
        return []  # a legacy schedule cannot be listed

    def flush_schedule(self) -> None:
        _flush(self.schedule)


class StoreSchedule:
    """Schedule role kept under one key of a data role: the 0.x ``TASK_STORE``,
    where scheduled tasks survive a consumer restart."""

    KEY = 'huey-legacy.schedule'

    def __init__(self, data: Any) -> None:
        self.data = data
        self._lock = threading.Lock()

    def _load(self) -> list[tuple[float, bytes]]:
        raw = self.data.peek_data(self.KEY)
        return [] if raw is EmptyData else pickle.loads(raw)

    def _save(self, items: list[tuple[float, bytes]]) -> None:
        if items:
            self.data.put_data(self.KEY, pickle.dumps(items))
        else:
            self.data.delete_data(self.KEY)

    def add_to_schedule(self, data: bytes, ts: float, priority: int | None = None) -> None:
        with self._lock:
            items = self._load()
            items.append((ts, data))
            items.sort(key=lambda item: item[0])
            self._save(items)

    def read_schedule(self, ts: float) -> list[bytes]:
        with self._lock:
            items = self._load()
            due = [data for when, data in items if when <= ts]
            if due:
                self._save([item for item in items if item[0] > ts])
            return due

    def schedule_size(self) -> int:
        return len(self._load())

    def scheduled_items(self, limit: int | None = None) -> list[bytes]:
        return [data for _ts, data in self._load()][:limit]

    def flush_schedule(self) -> None:
        with self._lock:
            self._save([])
