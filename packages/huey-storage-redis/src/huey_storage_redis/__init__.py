"""Redis storages for huey (redis-py): FIFO or priority queue, optional result expiry."""

from huey_storage_redis.storage import RedisStorage
from huey_storage_redis.variants import (
    PriorityRedisExpireStorage,
    PriorityRedisStorage,
    RedisExpireStorage,
)

__all__ = [
    'PriorityRedisExpireStorage',
    'PriorityRedisStorage',
    'RedisExpireStorage',
    'RedisStorage',
]
__version__ = '0.1.0'
