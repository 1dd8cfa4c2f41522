"""The whole storage contract, run on MemoryStorage."""
from __future__ import annotations

import pytest
from huey_storage import MemoryStorage
from huey_storage.testing import StorageConformance


class TestMemoryStorage(StorageConformance):
    # one process's memory: nothing to share with forked children
    shared_across_processes = False

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
