"""BlackHoleStorage accepts every write and keeps nothing."""

from __future__ import annotations

import time

from huey_storage import BaseStorage, BlackHoleStorage, EmptyData


def test_writes_are_accepted_and_forgotten():
    storage = BlackHoleStorage('void')
    assert isinstance(storage, BaseStorage)
    assert storage.name == 'void'
    storage.enqueue(b'x', priority=3)
    storage.enqueue_many([(b'y', None)])
    storage.add_to_schedule(b'z', time.time() - 1)
    storage.put_data('k', b'v', is_result=True)
    assert storage.dequeue() is None
    assert storage.lease(10) is None
    assert storage.queue_size() == 0
    assert storage.enqueued_items() == []
    assert storage.leased_count() == 0
    assert storage.schedule_size() == 0
    assert storage.scheduled_items() == []
    assert storage.read_schedule(time.time()) == []
    assert storage.enqueue_due(time.time()) == 0
    assert storage.peek_data('k') is EmptyData
    assert storage.pop_data('k') is EmptyData
    assert storage.peek_data_many(['k', 'j']) == [EmptyData, EmptyData]
    assert storage.has_data_for_key('k') is False
    assert storage.delete_data('k') is False
    assert storage.result_store_size() == 0
    assert storage.result_items() == {}


def test_locks_and_counters_always_succeed():
    storage = BlackHoleStorage()
    assert storage.put_if_empty('lock', b'1') is True
    assert storage.put_if_empty('lock', b'1', ttl=5) is True
    assert storage.incr('n') == 1
    assert storage.incr('n', 5, ttl=1) == 5
    assert storage.peek_counters(['n', 'm']) == [0, 0]  # nothing was kept


def test_lease_operations_find_nothing():
    storage = BlackHoleStorage()
    assert storage.ack('r', result=('k', b'v')) is False
    assert storage.extend_leases(['r'], 10) == 0
    assert storage.release('r') is False
    assert storage.requeue_expired_leases() == 0
    assert storage.dead_letter('r', 'why') is None


def test_dead_letters_vanish():
    storage = BlackHoleStorage()
    dead_id = storage.add_dead_letter(b'x', 'why')
    assert isinstance(dead_id, str) and dead_id
    assert storage.dead_letters() == []
    assert storage.requeue_dead_letter(dead_id) is False
    assert storage.delete_dead_letter(dead_id) is False
    assert storage.flush_dead_letters() == 0


def test_wait_data_returns_at_once():
    storage = BlackHoleStorage()
    start = time.monotonic()
    assert storage.wait_data('k', timeout=None) is EmptyData
    assert time.monotonic() - start < 5


def test_flushes_and_close_are_harmless():
    storage = BlackHoleStorage()
    storage.flush_all()
    storage.close()
    storage.close()
