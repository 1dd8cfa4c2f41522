"""``LegacyStorage`` reads counters from its data role: today's storage or a
user's 0.x data store (where ``incr`` keeps them as data keys)."""

from __future__ import annotations

from huey.backends.base import BaseDataStore, EmptyData
from huey_legacy.adapters import DataAdapter
from huey_legacy.storage import LegacyStorage
from huey_storage import MemoryStorage


class PeekableStore(BaseDataStore):
    def __init__(self, name, **connection):
        super().__init__(name, **connection)
        self._data = {}

    def put(self, key, value):
        self._data[key] = value

    def peek(self, key):
        return self._data.get(key, EmptyData)

    def get(self, key):
        return self._data.pop(key, EmptyData)

    def flush(self):
        self._data.clear()


def _legacy(data_role) -> LegacyStorage:
    return LegacyStorage('legacy', MemoryStorage('q'), data_role, MemoryStorage('s'))


def test_counters_of_a_native_data_role_are_read_in_one_call():
    data = MemoryStorage('data')
    storage = _legacy(data)
    storage.incr('a', 4)
    storage.put_data('b', b'9')  # a data key is no counter
    assert storage.peek_counters(['a', 'b', 'missing']) == [4, 0, 0]
    assert data.peek_counters(['a']) == [4]
    assert storage.incr('missing') == 1  # the read created nothing


def test_counters_of_a_users_data_store_are_read_back():
    storage = _legacy(DataAdapter(PeekableStore('results')))
    storage.incr('a', 2)
    storage.incr('a')
    storage.incr('short', 5, ttl=60)
    assert storage.peek_counters(['a', 'short', 'missing']) == [3, 5, 0]
    assert storage.peek_counters([]) == []
    assert storage.incr('missing') == 1
