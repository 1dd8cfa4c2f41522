"""Conformance tests: the queue, empty reads and the flush methods."""

from __future__ import annotations

import time

import pytest

from huey_storage.base import EmptyData
from huey_storage.testing._helpers import drain

__all__ = ['QueueContract']


def _fill_every_part(storage) -> dict[str, str]:
    """Put one thing in every part of the storage; return the dead letter id."""
    storage.enqueue(b'waiting')
    storage.enqueue(b'to-lease')
    storage.enqueue(b'waiting-2')
    lease = storage.lease(60)
    assert lease is not None
    storage.add_to_schedule(b'later', time.time() + 3600)
    storage.put_data('plain', b'p')
    storage.put_data('result', b'r', is_result=True)
    dead_id = storage.add_dead_letter(b'dead', 'broken')
    return {'dead_id': dead_id, 'receipt': lease.receipt}


def _parts(storage) -> dict[str, object]:
    """What each part of the storage holds, for flush tests."""
    return {
        'queue': storage.queue_size(),
        'leased': storage.leased_count(),
        'schedule': storage.schedule_size(),
        'plain': storage.peek_data('plain'),
        'results': storage.result_items(),
        'dead': len(storage.dead_letters()),
    }


_FULL = {
    'queue': 2,
    'leased': 1,
    'schedule': 1,
    'plain': b'p',
    'results': {'plain': b'p', 'result': b'r'},
    'dead': 1,
}
_EMPTIED = {'queue': 0, 'leased': 0, 'schedule': 0, 'plain': EmptyData, 'results': {}, 'dead': 0}


class QueueContract:
    """enqueue, enqueue_many, dequeue, queue_size, enqueued_items, flush_*."""

    def test_fixture_gives_an_empty_storage(self, storage):
        assert storage.queue_size() == 0
        assert storage.leased_count() == 0
        assert storage.schedule_size() == 0
        assert storage.result_store_size() == 0
        assert storage.dead_letters() == []
        assert isinstance(storage.name, str)
        assert storage.name in repr(storage)

    def test_empty_reads(self, storage):
        now = time.time()
        assert storage.dequeue() is None
        assert storage.lease(10) is None
        assert storage.queue_size() == 0
        assert storage.enqueued_items() == []
        assert storage.enqueued_items(limit=5) == []
        assert storage.leased_count() == 0
        assert storage.requeue_expired_leases(now + 3600) == 0
        assert storage.schedule_size() == 0
        assert storage.scheduled_items() == []
        assert storage.read_schedule(now) == []
        assert storage.enqueue_due(now) == 0
        assert storage.peek_data('missing') is EmptyData
        assert storage.pop_data('missing') is EmptyData
        many = storage.peek_data_many(['missing', 'absent'])
        assert len(many) == 2 and all(value is EmptyData for value in many)
        assert storage.has_data_for_key('missing') is False
        assert storage.delete_data('missing') is False
        assert storage.result_store_size() == 0
        assert storage.result_items() == {}
        assert storage.dead_letters() == []
        assert storage.flush_dead_letters() == 0

    def test_fifo_order(self, storage):
        for i in range(10):
            storage.enqueue(b'm%d' % i)
        assert storage.queue_size() == 10
        assert drain(storage) == [b'm%d' % i for i in range(10)]
        assert storage.dequeue() is None
        assert storage.queue_size() == 0

    def test_dequeue_removes_for_good(self, storage):
        storage.enqueue(b'once')
        assert storage.dequeue() == b'once'
        assert storage.leased_count() == 0
        assert storage.requeue_expired_leases(time.time() + 3600) == 0
        assert storage.dequeue() is None

    def test_enqueue_many_keeps_order(self, storage):
        storage.enqueue(b'first')
        storage.enqueue_many([(b'a', None), (b'b', None), (b'c', None)])
        storage.enqueue_many([])
        storage.enqueue_many(iter([(b'd', None)]))
        assert storage.queue_size() == 5
        assert drain(storage) == [b'first', b'a', b'b', b'c', b'd']

    def test_enqueued_items_does_not_remove(self, storage):
        for item in (b'a', b'b', b'c', b'd'):
            storage.enqueue(item)
        assert storage.enqueued_items() == [b'a', b'b', b'c', b'd']
        assert storage.enqueued_items(limit=2) == [b'a', b'b']
        assert storage.enqueued_items(limit=100) == [b'a', b'b', b'c', b'd']
        assert storage.queue_size() == 4
        assert storage.dequeue() == b'a'
        assert storage.enqueued_items(limit=1) == [b'b']

    def test_priority_order(self, storage):
        items = [(b'a', None), (b'b', 5), (b'c', 1), (b'd', 5), (b'e', None), (b'f', 0), (b'g', 1)]
        for data, priority in items:
            storage.enqueue(data, priority)
        if storage.priority:
            expected = [b'b', b'd', b'c', b'g', b'a', b'e', b'f']
        else:
            expected = [data for data, _ in items]
        assert storage.enqueued_items() == expected
        assert storage.enqueued_items(limit=3) == expected[:3]
        assert drain(storage) == expected

    def test_priority_order_of_enqueue_many(self, storage):
        items = [(b'low', None), (b'high', 9), (b'mid', 3), (b'high-2', 9)]
        storage.enqueue_many(items)
        if storage.priority:
            expected = [b'high', b'high-2', b'mid', b'low']
        else:
            expected = [data for data, _ in items]
        assert drain(storage) == expected

    def test_lease_follows_priority(self, storage):
        storage.enqueue(b'low', 1)
        storage.enqueue(b'high', 2)
        expected = b'high' if storage.priority else b'low'
        assert storage.lease(60).data == expected

    @pytest.mark.parametrize(
        'flush, emptied',
        [
            ('flush_queue', ('queue', 'leased')),
            ('flush_schedule', ('schedule',)),
            ('flush_results', ('plain', 'results')),
            ('flush_data', ('plain', 'results')),
            ('flush_dead_letters', ('dead',)),
            ('flush_all', tuple(_FULL)),
        ],
    )
    def test_each_flush_empties_only_its_part(self, storage, flush, emptied):
        _fill_every_part(storage)
        assert _parts(storage) == _FULL
        getattr(storage, flush)()
        expected = {part: (_EMPTIED if part in emptied else _FULL)[part] for part in _FULL}
        assert _parts(storage) == expected

    def test_flush_queue_forgets_leases(self, storage):
        handles = _fill_every_part(storage)
        storage.flush_queue()
        assert storage.ack(handles['receipt']) is False
        assert storage.release(handles['receipt']) is False
        assert storage.requeue_expired_leases(time.time() + 3600) == 0
        assert storage.dequeue() is None

    def test_flush_all_empties_everything(self, storage):
        handles = _fill_every_part(storage)
        storage.put_if_empty('lock', b'1', ttl=60)
        storage.incr('counter')
        storage.flush_all()
        assert _parts(storage) == _EMPTIED
        assert storage.has_data_for_key('lock') is False
        assert storage.peek_data('counter') is EmptyData
        assert storage.requeue_dead_letter(handles['dead_id']) is False
        assert storage.dequeue() is None
        # still usable afterwards
        storage.enqueue(b'again')
        assert storage.dequeue() == b'again'

    def test_flush_dead_letters_returns_count(self, storage):
        for i in range(3):
            storage.add_dead_letter(b'd%d' % i, 'why')
        assert storage.flush_dead_letters() == 3
        assert storage.flush_dead_letters() == 0
