"""``huey.storage``: the storage contract and backends (optional ones lazily)."""

from huey_storage import BaseStorage, BlackHoleStorage, EmptyData, MemoryStorage

from huey import _optional

__all__ = [
    'BaseStorage',
    'BlackHoleStorage',
    'EmptyData',
    'MemoryStorage',
    *_optional.available(
        [
            'RedisStorage',
            'PriorityRedisStorage',
            'RedisExpireStorage',
            'PriorityRedisExpireStorage',
            'SqliteStorage',
        ]
    ),
]


def __getattr__(name: str):
    if name in _optional.STORAGES:
        return _optional.storage_class(name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
