"""Conformance tests: the schedule."""

from __future__ import annotations

import time

import pytest

from huey_storage.testing._helpers import drain

__all__ = ['ScheduleContract']


class ScheduleContract:
    """add_to_schedule, read_schedule, enqueue_due, schedule_size, scheduled_items."""

    def _add_mixed(self, storage, now: float) -> None:
        storage.add_to_schedule(b'c', now - 1)
        storage.add_to_schedule(b'future', now + 3600)
        storage.add_to_schedule(b'a', now - 3)
        storage.add_to_schedule(b'b', now - 2)

    def test_read_schedule_returns_due_items_oldest_first(self, storage):
        now = time.time()
        self._add_mixed(storage, now)
        assert storage.schedule_size() == 4
        assert storage.read_schedule(now) == [b'a', b'b', b'c']
        assert storage.schedule_size() == 1
        assert storage.scheduled_items() == [b'future']
        assert storage.read_schedule(now) == []
        assert storage.queue_size() == 0

    def test_read_schedule_includes_items_due_exactly_now(self, storage):
        ts = time.time()
        storage.add_to_schedule(b'exact', ts)
        assert storage.read_schedule(ts - 0.5) == []
        assert storage.read_schedule(ts) == [b'exact']

    def test_read_schedule_in_the_far_future_takes_everything(self, storage):
        now = time.time()
        self._add_mixed(storage, now)
        assert storage.read_schedule(now + 7200) == [b'a', b'b', b'c', b'future']
        assert storage.schedule_size() == 0

    def test_enqueue_due_moves_due_items_oldest_first(self, storage):
        now = time.time()
        storage.enqueue(b'already-queued')
        self._add_mixed(storage, now)
        assert storage.enqueue_due(now) == 3
        assert storage.schedule_size() == 1
        assert storage.scheduled_items() == [b'future']
        assert storage.enqueue_due(now) == 0
        assert drain(storage) == [b'already-queued', b'a', b'b', b'c']

    def test_enqueue_due_keeps_priority(self, storage):
        now = time.time()
        storage.enqueue(b'queued', 1)
        storage.add_to_schedule(b'plain', now - 2)
        storage.add_to_schedule(b'urgent', now - 1, priority=5)
        assert storage.enqueue_due(now) == 2
        if storage.priority:
            assert drain(storage) == [b'urgent', b'queued', b'plain']
        else:
            assert drain(storage) == [b'queued', b'plain', b'urgent']

    def test_enqueued_due_items_can_be_leased(self, storage):
        now = time.time()
        storage.add_to_schedule(b'due', now - 1)
        storage.enqueue_due(now)
        lease = storage.lease(60)
        assert (lease.data, lease.deliveries) == (b'due', 1)
        assert storage.ack(lease.receipt) is True

    def test_scheduled_items_soonest_first_with_limit(self, storage):
        now = time.time()
        storage.add_to_schedule(b'+30', now + 30)
        storage.add_to_schedule(b'+10', now + 10)
        storage.add_to_schedule(b'+20', now + 20, priority=9)
        storage.add_to_schedule(b'-5', now - 5)
        assert storage.scheduled_items() == [b'-5', b'+10', b'+20', b'+30']
        assert storage.scheduled_items(limit=2) == [b'-5', b'+10']
        assert storage.scheduled_items(limit=10) == [b'-5', b'+10', b'+20', b'+30']
        assert storage.schedule_size() == 4  # listing removes nothing

    def test_same_timestamp_items_are_all_kept(self, storage):
        ts = time.time() - 1
        for i in range(5):
            storage.add_to_schedule(b'same-%d' % i, ts)
        storage.add_to_schedule(b'same-0', ts)  # duplicates are separate items
        assert storage.schedule_size() == 6
        due = storage.read_schedule(ts)
        assert sorted(due) == sorted([b'same-%d' % i for i in range(5)] + [b'same-0'])

    @pytest.mark.parametrize('priority', [None, 0, 3])
    def test_schedule_round_trip_with_priority(self, storage, priority):
        now = time.time()
        storage.add_to_schedule(b'item', now - 1, priority=priority)
        assert storage.enqueue_due(now) == 1
        assert storage.dequeue() == b'item'
