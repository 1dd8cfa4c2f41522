"""Optional pieces of the facade, imported on first use.

Each lives in its own distribution; when it is missing, using it raises a
one-line ImportError naming the distribution to install.
"""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

from huey_api.huey import Huey

__all__ = ['HUEY_CLASSES', 'STORAGES', 'available', 'huey_class', 'load', 'storage_class']

#: facade name -> (module, attribute, distribution)
STORAGES = {
    'RedisStorage': ('huey_storage_redis', 'RedisStorage', 'huey-storage-redis'),
    'PriorityRedisStorage': ('huey_storage_redis', 'PriorityRedisStorage', 'huey-storage-redis'),
    'RedisExpireStorage': ('huey_storage_redis', 'RedisExpireStorage', 'huey-storage-redis'),
    'PriorityRedisExpireStorage': (
        'huey_storage_redis',
        'PriorityRedisExpireStorage',
        'huey-storage-redis',
    ),
    'SqliteStorage': ('huey_storage_sqlite', 'SqliteStorage', 'huey-storage-sqlite'),
    'CySqliteStorage': ('huey_storage_sqlite', 'CySqliteStorage', 'huey-storage-sqlite'),
    'SqlStorage': ('huey_storage_sql', 'SqlStorage', 'huey-storage-sql'),
    'PostgresStorage': ('huey_storage_sql', 'PostgresStorage', 'huey-storage-sql'),
    'FileStorage': ('huey_storage', 'FileStorage', 'huey-storage'),
}

#: Huey subclass name -> storage name in STORAGES
HUEY_CLASSES = {
    'RedisHuey': 'RedisStorage',
    'PriorityRedisHuey': 'PriorityRedisStorage',
    'RedisExpireHuey': 'RedisExpireStorage',
    'PriorityRedisExpireHuey': 'PriorityRedisExpireStorage',
    'SqliteHuey': 'SqliteStorage',
    'CySqliteHuey': 'CySqliteStorage',
    'SqlHuey': 'SqlStorage',
    'PostgresHuey': 'PostgresStorage',
    'FileHuey': 'FileStorage',
}

_cache: dict[str, Any] = {}


def load(what: str, module: str, attribute: str, distribution: str) -> Any:
    """``module.attribute``, or ImportError naming ``distribution``."""
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError) as exc:
        raise ImportError(
            f'{what} needs the {distribution} distribution: pip install {distribution}'
        ) from exc


def storage_class(name: str) -> type:
    if name not in _cache:
        _cache[name] = load(name, *STORAGES[name])
    return _cache[name]


def huey_class(name: str) -> type[Huey]:
    """The ``Huey`` subclass ``name`` using its storage (built once)."""
    if name not in _cache:
        module, attribute, distribution = STORAGES[HUEY_CLASSES[name]]
        storage = load(name, module, attribute, distribution)
        _cache[name] = type(
            name,
            (Huey,),
            {
                'storage_class': storage,
                '__module__': 'huey.api',
                '__doc__': f'Huey storing everything in {attribute} ({distribution}).',
            },
        )
    return _cache[name]


def available(names) -> list[str]:
    """The names whose module is installed (checked without importing it)."""
    found = []
    for name in names:
        module = STORAGES[HUEY_CLASSES.get(name, name)][0]
        try:
            if importlib.util.find_spec(module) is not None:
                found.append(name)
        except (ImportError, ValueError):
            pass
    return found
