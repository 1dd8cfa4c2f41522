"""Conformance tests that only apply to storages honouring priorities.

The rest of the suite checks priorities where they are optional (a FIFO
storage must keep the order it was given); these tests check behaviour a FIFO
storage cannot have, so they are only collected for ``PriorityConformance``.
"""

from __future__ import annotations

import time

from huey_storage.testing._helpers import drain

__all__ = ['PriorityContract']

FUTURE = 3600.0  # seconds ahead: "every lease has expired by then"


class PriorityContract:
    """Negative priorities, and priorities kept through release, requeue and dead letters."""

    def test_negative_priority_comes_after_default(self, storage):
        storage.enqueue(b'minus', -3)
        storage.enqueue(b'default')
        storage.enqueue(b'zero', 0)
        assert drain(storage) == [b'default', b'zero', b'minus']

    def test_release_and_requeue_keep_priority(self, storage):
        storage.enqueue(b'low', 0)
        storage.enqueue(b'high', 5)
        lease = storage.lease(60)
        assert lease.data == b'high'
        storage.enqueue(b'high-2', 5)
        storage.enqueue(b'low-2', 0)
        storage.release(lease.receipt)
        assert storage.enqueued_items() == [b'high', b'high-2', b'low', b'low-2']
        lease = storage.lease(60)
        storage.requeue_expired_leases(time.time() + FUTURE)
        assert storage.enqueued_items() == [b'high', b'high-2', b'low', b'low-2']

    def test_batched_leases_take_the_highest_priority_first(self, storage):
        storage.enqueue(b'low', 0)
        storage.enqueue(b'high', 5)
        storage.enqueue(b'mid', 2)
        storage.enqueue(b'high-2', 5)
        taken = []
        while storage.queue_size():
            leases, _ = storage.lease_many(2, 60, 'flag')
            taken += leases
            if storage.queue_size() and leases:
                _, more, _ = storage.ack_many([(leases[-1].receipt, None)], 1, 60, 'flag')
                taken += more
        assert [lease.data for lease in taken] == [b'high', b'high-2', b'mid', b'low']

    def test_requeue_dead_letter_with_priority(self, storage):
        dead_id = storage.add_dead_letter(b'urgent', 'why')
        storage.enqueue(b'normal')
        assert storage.requeue_dead_letter(dead_id, priority=5) is True
        assert storage.enqueued_items() == [b'urgent', b'normal']
