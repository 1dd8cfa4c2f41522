"""The storage contract's conformance suite, for each of the four Redis storages.

The blocking variants use a short read timeout so empty reads (every drain()
ends with one) stay quick; the expiring ones run non-blocking, so both read
paths go through the whole suite.
"""

from __future__ import annotations

import pytest
from huey_storage.testing import (
    MultiProcessConformance,
    PriorityConformance,
    SharedStorageConformance,
    StorageConformance,
)
from huey_storage_redis import (
    PriorityRedisExpireStorage,
    PriorityRedisStorage,
    RedisExpireStorage,
    RedisStorage,
)

pytestmark = pytest.mark.redis


class _RedisConformance(StorageConformance, SharedStorageConformance, MultiProcessConformance):
    storage_class = RedisStorage
    options: dict = {'read_timeout': 0.05}

    @pytest.fixture
    def storage(self, make_storage):
        storage = make_storage(self.storage_class, **self.options)
        yield storage
        storage.flush_all()

    @pytest.fixture
    def storage_factory(self, storage, make_storage):
        return lambda: make_storage(self.storage_class, name=storage.name, **self.options)

    @pytest.fixture
    def other_storage_factory(self, make_storage):
        return lambda name: make_storage(self.storage_class, name=name, **self.options)


class TestRedisStorage(_RedisConformance):
    storage_class = RedisStorage


class TestPriorityRedisStorage(_RedisConformance, PriorityConformance):
    storage_class = PriorityRedisStorage


class TestRedisExpireStorage(_RedisConformance):
    storage_class = RedisExpireStorage
    options = {'blocking': False, 'expire_time': 3600}


class TestPriorityRedisExpireStorage(_RedisConformance, PriorityConformance):
    storage_class = PriorityRedisExpireStorage
    options = {'blocking': False, 'expire_time': 3600}
