"""``BlackHoleStorage``: accepts every write and keeps nothing.

Useful to measure the cost of everything but storage, or to run code that
enqueues without caring what happens next. Reads always find nothing.
"""

from __future__ import annotations

import uuid
from typing import Iterable, Sequence

from huey_storage.base import BaseStorage, DeadLetter, EmptyData, EmptyDataType, Lease

__all__ = ['BlackHoleStorage']


class BlackHoleStorage(BaseStorage):
    """A storage that drops everything: reads return None, EmptyData, 0 or empty."""

    blocking = False
    priority = False
    shared_between_processes = False

    def enqueue(self, data: bytes, priority: int | None = None) -> None:
        pass

    def enqueue_many(self, items: Iterable[tuple[bytes, int | None]]) -> None:
        pass

    def dequeue(self) -> bytes | None:
        return None

    def queue_size(self) -> int:
        return 0

    def enqueued_items(self, limit: int | None = None) -> list[bytes]:
        return []

    def flush_queue(self) -> None:
        pass

    def lease(self, timeout: float) -> Lease | None:
        return None

    def ack(self, receipt: str, result: tuple[str, bytes] | None = None) -> bool:
        return False

    def extend_leases(self, receipts: Sequence[str], timeout: float) -> int:
        return 0

    def release(self, receipt: str) -> bool:
        return False

    def requeue_expired_leases(self, now: float | None = None) -> int:
        return 0

    def leased_count(self) -> int:
        return 0

    def add_to_schedule(self, data: bytes, ts: float, priority: int | None = None) -> None:
        pass

    def read_schedule(self, ts: float) -> list[bytes]:
        return []

    def enqueue_due(self, ts: float) -> int:
        return 0

    def schedule_size(self) -> int:
        return 0

    def scheduled_items(self, limit: int | None = None) -> list[bytes]:
        return []

    def flush_schedule(self) -> None:
        pass

    def put_data(self, key: str, value: bytes, is_result: bool = False) -> None:
        pass

    def peek_data(self, key: str) -> bytes | EmptyDataType:
        return EmptyData

    def pop_data(self, key: str) -> bytes | EmptyDataType:
        return EmptyData

    def wait_data(
        self, key: str, timeout: float | None = None, pop: bool = True
    ) -> bytes | EmptyDataType:
        """Nothing ever arrives, so return ``EmptyData`` at once.

        Waiting ``timeout`` seconds (or forever) would only stall the caller.
        """
        return EmptyData

    def has_data_for_key(self, key: str) -> bool:
        return False

    def put_if_empty(self, key: str, value: bytes, ttl: float | None = None) -> bool:
        return True

    def delete_data(self, key: str) -> bool:
        return False

    def delete_data_if(self, key: str, value: bytes) -> bool:
        return False

    def incr(self, key: str, amount: int = 1, ttl: float | None = None) -> int:
        return amount

    def peek_counters(self, keys: Sequence[str]) -> list[int]:
        return [0] * len(keys)

    def delete_counter(self, key: str) -> None:
        pass

    def flush_counters(self) -> None:
        pass

    def flush_data(self) -> None:
        pass

    def result_store_size(self) -> int:
        return 0

    def result_items(self) -> dict[str, bytes]:
        return {}

    def flush_results(self) -> None:
        pass

    def add_dead_letter(self, data: bytes, reason: str) -> str:
        return uuid.uuid4().hex

    def dead_letter(self, receipt: str, reason: str) -> str | None:
        return None

    def dead_letters(self, limit: int | None = None) -> list[DeadLetter]:
        return []

    def requeue_dead_letter(self, id: str, priority: int | None = None) -> bool:
        return False

    def delete_dead_letter(self, id: str) -> bool:
        return False

    def flush_dead_letters(self) -> int:
        return 0
