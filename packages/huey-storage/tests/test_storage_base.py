"""EmptyData, Lease, DeadLetter and BaseStorage's default methods."""

from __future__ import annotations

import copy
import pickle

import pytest
from huey_storage import BaseStorage, DeadLetter, EmptyData, EmptyDataType, Lease, MemoryStorage


def test_empty_data_is_a_singleton():
    assert EmptyDataType() is EmptyData
    assert copy.copy(EmptyData) is EmptyData
    assert copy.deepcopy(EmptyData) is EmptyData


def test_empty_data_is_falsy_and_not_none():
    assert not EmptyData
    assert EmptyData is not None
    assert EmptyData != b''


@pytest.mark.parametrize('protocol', range(pickle.HIGHEST_PROTOCOL + 1))
def test_empty_data_survives_pickling(protocol):
    assert pickle.loads(pickle.dumps(EmptyData, protocol)) is EmptyData


def test_empty_data_repr():
    assert repr(EmptyData) == 'EmptyData'


def test_lease_and_dead_letter_are_frozen_values():
    lease = Lease('r', b'd')
    assert lease.deliveries == 1
    assert lease == Lease('r', b'd', 1)
    with pytest.raises(AttributeError):
        lease.data = b'other'
    letter = DeadLetter('id', b'd', 'why', 1.5)
    assert pickle.loads(pickle.dumps(letter)) == letter


def test_base_storage_is_abstract():
    with pytest.raises(TypeError):
        BaseStorage()


class _NoOverrides(MemoryStorage):
    """MemoryStorage with the base class's default helpers put back."""

    enqueue_many = BaseStorage.enqueue_many
    peek_data_many = BaseStorage.peek_data_many
    wait_data = BaseStorage.wait_data


def test_default_enqueue_many_and_peek_data_many():
    storage = _NoOverrides()
    storage.enqueue_many([(b'low', None), (b'high', 2)])
    assert storage.enqueued_items() == [b'high', b'low']
    storage.put_data('a', b'1')
    assert storage.peek_data_many(['a', 'b']) == [b'1', EmptyData]


def test_default_wait_data_polls_until_a_value_or_the_timeout():
    import threading

    storage = _NoOverrides()
    assert storage.wait_data('k', timeout=0.05) is EmptyData
    writer = threading.Timer(0.05, storage.put_data, args=('k', b'v'))
    writer.start()
    try:
        assert storage.wait_data('k', timeout=10, pop=False) == b'v'
    finally:
        writer.join()
    assert storage.wait_data('k', timeout=0) == b'v'
    assert storage.peek_data('k') is EmptyData


def test_unknown_options_are_rejected_by_name():
    with pytest.raises(TypeError, match='got unexpected options: a, b'):
        MemoryStorage('x', b=1, a=2)
