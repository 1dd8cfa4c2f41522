"""``huey.storage``: the storage contract and backends (optional ones lazily)."""

from huey_storage import BaseStorage, BlackHoleStorage, EmptyData, FileStorage, MemoryStorage

from huey import _optional

try:  # huey exposes the optional driver module, or None when it is missing
    import cysqlite
except ImportError:
    cysqlite = None

_OPTIONAL = [
    'RedisStorage',
    'PriorityRedisStorage',
    'RedisExpireStorage',
    'PriorityRedisExpireStorage',
    'SqliteStorage',
    'CySqliteStorage',
    'PostgresStorage',
]

__all__ = [
    'BaseStorage',
    'BlackHoleStorage',
    'EmptyData',
    'FileStorage',
    'MemoryStorage',
    *_optional.available(_OPTIONAL),
]


def __getattr__(name: str):
    if name in _optional.STORAGES:
        return _optional.storage_class(name)
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
