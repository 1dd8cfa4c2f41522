"""The whole storage contract, run on MemoryStorage."""

from __future__ import annotations

import pytest
from huey_storage import MemoryStorage
from huey_storage.testing import PriorityConformance, SharedStorageConformance, StorageConformance


# Not MultiProcessConformance: one process's memory, nothing shared with forked children
# (test_memory_storage.py checks that a child gets its own copy).
class TestMemoryStorage(StorageConformance, PriorityConformance, SharedStorageConformance):
    @pytest.fixture
    def storage(self):
        storage = MemoryStorage('test')
        yield storage
        storage.flush_all()
        storage.close()

    @pytest.fixture
    def storage_factory(self, storage):
        # the only handle on a MemoryStorage's contents is the object itself
        return lambda: storage

    @pytest.fixture
    def other_storage_factory(self):
        return MemoryStorage
