"""One ``BaseStorage`` out of a legacy queue, result store and schedule.

``storage_for(queue, result_store, schedule, task_store)`` turns the objects a
0.x ``Invoker`` or a 1.x ``Huey(queue, ...)`` was given into the storage of
today's ``Huey``. Redis backends with one name and connection are one
``RedisStorage``, used as it is; otherwise each role (queue, data, schedule)
comes from its own backend and ``LegacyStorage`` routes every call. Moves
between two different backends (schedule to queue, result then
acknowledgement) are done result-first, so a crash in between repeats work
and never loses it.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from huey_storage import BaseStorage, EmptyData, Lease, MemoryStorage

from huey_legacy.adapters import (
    DataAdapter,
    QueueAdapter,
    ScheduleAdapter,
    StoreSchedule,
    legacy_name,
)

__all__ = ['LegacyStorage', 'data_role_for', 'storage_for']


def _queue_role(queue: Any) -> Any:
    storage = getattr(queue, 'storage', None)
    return storage if isinstance(storage, BaseStorage) else QueueAdapter(queue)


def data_role_for(store: Any) -> Any:
    """Today's key/value storage behind a legacy data store."""
    storage = getattr(store, 'storage', None)
    return storage if isinstance(storage, BaseStorage) else DataAdapter(store)


def _schedule_role(schedule: Any) -> Any:
    storage = getattr(schedule, 'storage', None)
    return storage if isinstance(storage, BaseStorage) else ScheduleAdapter(schedule)


def storage_for(
    queue: Any, result_store: Any = None, schedule: Any = None, task_store: Any = None
) -> BaseStorage:
    """Today's storage for legacy backends (see the module docstring).

    Without a result store, data (revocations, locks) lives with a Redis
    queue, or in this process's memory for a user's own queue. Without a
    schedule, scheduled tasks live with a Redis queue, else in ``task_store``,
    else in this process's memory.
    """
    name = legacy_name(queue)
    queue_role = _queue_role(queue)
    native = isinstance(queue_role, BaseStorage)
    if result_store is not None:
        data_role = data_role_for(result_store)
    else:
        data_role = queue_role if native else MemoryStorage(f'{name}.data')
    if schedule is not None:
        schedule_role = _schedule_role(schedule)
    elif native:
        schedule_role = queue_role
    elif task_store is not None:
        schedule_role = StoreSchedule(data_role_for(task_store))
    else:
        schedule_role = MemoryStorage(f'{name}.schedule')
    if queue_role is data_role is schedule_role:
        return queue_role
    return LegacyStorage(name, queue_role, data_role, schedule_role)


class LegacyStorage(BaseStorage):
    """Routes each part of the storage contract to the backend playing that role."""

    def __init__(self, name: str, queue: Any, data: Any, schedule: Any) -> None:
        super().__init__(name)
        self.queue_role = queue
        self.data_role = data
        self.schedule_role = schedule
        self.blocking = bool(getattr(queue, 'blocking', False))

    def _roles(self) -> list[Any]:
        roles: list[Any] = []
        for role in (self.queue_role, self.data_role, self.schedule_role):
            if not any(role is seen for seen in roles):
                roles.append(role)
        return roles

    # -- queue ------------------------------------------------------------

    def enqueue(self, data: bytes, priority: int | None = None) -> None:
        self.queue_role.enqueue(data, priority)

    def enqueue_many(self, items: Iterable[tuple[bytes, int | None]]) -> None:
        self.queue_role.enqueue_many(items)

    def dequeue(self) -> bytes | None:
        return self.queue_role.dequeue()

    def queue_size(self) -> int:
        return self.queue_role.queue_size()

    def enqueued_items(self, limit: int | None = None) -> list[bytes]:
        return self.queue_role.enqueued_items(limit)

    def flush_queue(self) -> None:
        self.queue_role.flush_queue()

    def lease(self, timeout: float) -> Lease | None:
        return self.queue_role.lease(timeout)

    def lease_with_data(self, timeout: float, key: str) -> tuple[Lease | None, Any]:
        if self.data_role is self.queue_role:
            return self.queue_role.lease_with_data(timeout, key)
        lease = self.queue_role.lease(timeout)
        return lease, (EmptyData if lease is None else self.data_role.peek_data(key))

    def ack(self, receipt: str, result: tuple[str, bytes] | None = None) -> bool:
        if self.data_role is self.queue_role:
            return self.queue_role.ack(receipt, result)
        if result is not None:
            self.data_role.put_data(result[0], result[1], is_result=True)
        return self.queue_role.ack(receipt)

    def ack_and_lease(
        self, receipt: str, result: tuple[str, bytes] | None, timeout: float, key: str
    ) -> tuple[bool, Lease | None, Any]:
        if self.data_role is self.queue_role:
            return self.queue_role.ack_and_lease(receipt, result, timeout, key)
        return self.ack(receipt, result), None, EmptyData

    def extend_leases(self, receipts: Sequence[str], timeout: float) -> int:
        return self.queue_role.extend_leases(receipts, timeout)

    def release(self, receipt: str) -> bool:
        return self.queue_role.release(receipt)

    def requeue_expired_leases(self, now: float | None = None) -> int:
        return self.queue_role.requeue_expired_leases(now)

    def leased_count(self) -> int:
        return self.queue_role.leased_count()

    # -- schedule ---------------------------------------------------------

    def add_to_schedule(self, data: bytes, ts: float, priority: int | None = None) -> None:
        self.schedule_role.add_to_schedule(data, ts, priority)

    def read_schedule(self, ts: float) -> list[bytes]:
        return self.schedule_role.read_schedule(ts)

    def enqueue_due(self, ts: float) -> int:
        if self.schedule_role is self.queue_role:
            return self.queue_role.enqueue_due(ts)
        due = self.schedule_role.read_schedule(ts)
        if due:
            self.queue_role.enqueue_many([(data, None) for data in due])
        return len(due)

    def schedule_size(self) -> int:
        return self.schedule_role.schedule_size()

    def scheduled_items(self, limit: int | None = None) -> list[bytes]:
        return self.schedule_role.scheduled_items(limit)

    def flush_schedule(self) -> None:
        self.schedule_role.flush_schedule()

    # -- key/value data ---------------------------------------------------

    def put_data(self, key: str, value: bytes, is_result: bool = False) -> None:
        self.data_role.put_data(key, value, is_result)

    def peek_data(self, key: str) -> Any:
        return self.data_role.peek_data(key)

    def peek_data_many(self, keys: Sequence[str]) -> list[Any]:
        return self.data_role.peek_data_many(keys)

    def pop_data(self, key: str) -> Any:
        return self.data_role.pop_data(key)

    def wait_data(self, key: str, timeout: float | None = None, pop: bool = True) -> Any:
        return self.data_role.wait_data(key, timeout, pop)

    def has_data_for_key(self, key: str) -> bool:
        return self.data_role.has_data_for_key(key)

    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        return self.data_role.put_if_empty(key, value, ttl)

    def delete_data(self, key: str) -> bool:
        return self.data_role.delete_data(key)

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        return self.data_role.incr(key, amount, ttl)

    def peek_counters(self, keys: Sequence[str]) -> list[int]:
        return self.data_role.peek_counters(keys)

    def delete_counter(self, key: str) -> None:
        self.data_role.delete_counter(key)

    def flush_counters(self) -> None:
        self.data_role.flush_counters()

    def result_store_size(self) -> int:
        return self.data_role.result_store_size()

    def result_items(self) -> dict[str, bytes]:
        return self.data_role.result_items()

    def flush_results(self) -> None:
        self.data_role.flush_results()

    def flush_data(self) -> None:
        self.data_role.flush_data()

    # -- dead letters (kept with the queue) -------------------------------

    def add_dead_letter(self, data: bytes, reason: str) -> str:
        return self.queue_role.add_dead_letter(data, reason)

    def dead_letter(self, receipt: str, reason: str) -> str | None:
        return self.queue_role.dead_letter(receipt, reason)

    def dead_letters(self, limit: int | None = None) -> list:
        return self.queue_role.dead_letters(limit)

    def requeue_dead_letter(self, id: str, priority: int | None = None) -> bool:
        return self.queue_role.requeue_dead_letter(id, priority)

    def delete_dead_letter(self, id: str) -> bool:
        return self.queue_role.delete_dead_letter(id)

    def flush_dead_letters(self) -> int:
        return self.queue_role.flush_dead_letters()

    # -- lifecycle --------------------------------------------------------

    def close(self) -> None:
        for role in self._roles():
            close = getattr(role, 'close', None)
            if close is not None:
                close()
