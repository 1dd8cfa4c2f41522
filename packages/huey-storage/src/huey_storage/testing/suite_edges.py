"""Conformance tests: unusual payloads and keys, names, and several handles."""

from __future__ import annotations

import threading
import time
import uuid

import pytest

from huey_storage.base import EmptyData
from huey_storage.testing._helpers import drain

__all__ = ['EdgeCaseContract', 'HandleContract']

ALL_BYTES = bytes(range(256))
ONE_MIB = bytes(range(256)) * 4096
ODD_KEYS = [
    'clé-✓-日本語',
    'a:b',
    'star*',
    'per%cent',
    'quo\'te"s',
    ' spaced ',
    'back\\slash',
    'new\nline',
    'x' * 200,
]


def _round_trip_everywhere(storage, payload: bytes) -> None:
    """Send ``payload`` through every place a message or value can live."""
    storage.enqueue(payload)
    assert storage.dequeue() == payload
    storage.enqueue(payload)
    lease = storage.lease(60)
    assert lease.data == payload
    assert storage.ack(lease.receipt, result=('result', payload)) is True
    assert storage.result_items() == {'result': payload}
    storage.enqueue(payload)
    assert storage.enqueued_items() == [payload]
    lease = storage.lease(60)
    dead_id = storage.dead_letter(lease.receipt, 'payload test')
    assert storage.dead_letters()[0].data == payload
    assert storage.requeue_dead_letter(dead_id) is True
    assert storage.dequeue() == payload
    now = time.time()
    storage.add_to_schedule(payload, now - 1)
    assert storage.scheduled_items() == [payload]
    assert storage.read_schedule(now) == [payload]
    storage.add_to_schedule(payload, now - 1)
    assert storage.enqueue_due(now) == 1
    assert storage.dequeue() == payload
    storage.put_data('plain', payload)
    assert storage.peek_data('plain') == payload
    assert storage.peek_data_many(['plain']) == [payload]
    assert storage.pop_data('plain') == payload
    storage.delete_data('plain')  # already gone unless reads are not destructive
    assert storage.put_if_empty('plain', payload) is True
    assert storage.wait_data('plain', timeout=1) == payload


class EdgeCaseContract:
    """Empty, binary and large payloads; odd keys."""

    def test_empty_message_is_not_none(self, storage):
        storage.enqueue(b'')
        assert storage.queue_size() == 1
        assert storage.dequeue() == b''
        _round_trip_everywhere(storage, b'')
        storage.put_data('empty', b'')
        assert storage.peek_data('empty') == b''
        assert storage.peek_data('empty') is not EmptyData
        assert storage.has_data_for_key('empty') is True
        assert storage.delete_data('empty') is True

    def test_every_byte_value(self, storage):
        _round_trip_everywhere(storage, ALL_BYTES)

    def test_one_mebibyte_payload(self, storage):
        _round_trip_everywhere(storage, ONE_MIB)

    def test_payload_that_looks_like_text_stays_bytes(self, storage):
        for payload in (b'123', b'null', b'\x00', '✓'.encode()):
            storage.enqueue(payload)
            result = storage.dequeue()
            assert type(result) is bytes and result == payload
            storage.put_data('k', payload)
            value = storage.peek_data('k')
            assert type(value) is bytes and value == payload

    @pytest.mark.parametrize('key', ODD_KEYS)
    def test_odd_keys(self, storage, key):
        storage.put_data(key, b'v', is_result=True)
        assert storage.peek_data(key) == b'v'
        assert storage.result_items() == {key: b'v'}
        assert storage.pop_data(key) == b'v'
        storage.delete_data(key)  # already gone unless reads are not destructive
        assert storage.put_if_empty(key, b'lock') is True
        assert storage.has_data_for_key(key) is True
        assert storage.delete_data(key) is True
        assert storage.incr(key, 2) == 2
        assert storage.incr(key, 0) == 2
        assert storage.peek_data_many([key]) == [EmptyData]  # counters are not data
        assert storage.peek_data(key + '-other') is EmptyData

    def test_many_messages(self, storage):
        storage.enqueue_many((b'%05d' % i, None) for i in range(2000))
        assert storage.queue_size() == 2000
        assert storage.enqueued_items(limit=3) == [b'00000', b'00001', b'00002']
        assert drain(storage) == [b'%05d' % i for i in range(2000)]


class HandleContract:
    """Several handles on one backing store, and isolation between names."""

    def test_storages_with_other_names_are_isolated(self, storage, other_storage_factory):
        other = other_storage_factory('other-' + uuid.uuid4().hex[:8])
        storage.enqueue(b'mine')
        storage.enqueue(b'mine-leased')
        storage.lease(60)
        storage.add_to_schedule(b'mine-later', time.time() - 1)
        storage.put_data('shared-key', b'mine', is_result=True)
        storage.add_dead_letter(b'mine-dead', 'why')

        assert other.queue_size() == 0
        assert other.dequeue() is None
        assert other.lease(60) is None
        assert other.leased_count() == 0
        assert other.requeue_expired_leases(time.time() + 3600) == 0
        assert other.schedule_size() == 0
        assert other.enqueue_due(time.time()) == 0
        assert other.peek_data('shared-key') is EmptyData
        assert other.result_items() == {}
        assert other.dead_letters() == []

        other.put_data('shared-key', b'theirs')
        other.enqueue(b'theirs')
        other.flush_all()
        assert storage.peek_data('shared-key') == b'mine'
        assert storage.queue_size() == 1
        assert storage.leased_count() == 1
        assert storage.schedule_size() == 1
        assert storage.result_store_size() == 1
        assert len(storage.dead_letters()) == 1

    def test_unicode_storage_name(self, storage, other_storage_factory):
        other = other_storage_factory('huey-✓-名前-' + uuid.uuid4().hex[:8])
        assert '名前' in other.name
        other.enqueue(b'x')
        other.put_data('k', b'v', is_result=True)
        assert storage.queue_size() == 0
        assert other.dequeue() == b'x'
        assert other.result_items() == {'k': b'v'}

    def test_second_handle_sees_the_same_storage(self, storage, storage_factory):
        other = storage_factory()
        assert other.name == storage.name
        storage.enqueue(b'a')
        storage.put_data('k', b'v', is_result=True)
        storage.add_to_schedule(b's', time.time() - 1)
        dead_id = storage.add_dead_letter(b'd', 'why')
        assert other.queue_size() == 1
        assert other.peek_data('k') == b'v'
        assert other.result_items() == {'k': b'v'}
        assert other.enqueue_due(time.time()) == 1
        assert other.requeue_dead_letter(dead_id) is True
        assert drain(storage) == [b'a', b's', b'd']

    def test_lease_on_one_handle_ack_on_another(self, storage, storage_factory):
        other = storage_factory()
        storage.enqueue(b'a')
        storage.enqueue(b'b')
        first = storage.lease(60)
        second = storage.lease(60)
        assert other.leased_count() == 2
        assert other.extend_leases([first.receipt], 60) == 1
        assert other.ack(first.receipt, result=('r', b'done')) is True
        assert other.release(second.receipt) is True
        assert storage.peek_data('r') == b'done'
        assert storage.leased_count() == 0
        assert storage.dequeue() == b'b'

    def test_wait_data_is_woken_by_another_handle(self, storage, storage_factory):
        other = storage_factory()
        writer = threading.Thread(target=other.put_data, args=('answer', b'42', True))
        writer.start()
        try:
            assert storage.wait_data('answer', timeout=10) == b'42'
        finally:
            writer.join()

    def test_close_is_idempotent(self, storage_factory):
        handle = storage_factory()
        handle.enqueue(b'x')
        handle.close()
        handle.close()
