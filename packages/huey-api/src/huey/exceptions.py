"""``huey.exceptions``."""

from huey_api import exceptions as _exceptions
from huey_api.exceptions import *  # noqa: F403  (the list lives in huey_api.exceptions)

__all__ = [name for name in _exceptions.__all__ if isinstance(getattr(_exceptions, name), type)]

#: the 0.x/1.x exceptions, from huey-legacy (resolved on first use)
_LEGACY = ('DataStoreTimeout', 'QueueException')


def __getattr__(name: str):
    if name in _LEGACY:
        from huey._optional import load

        return load(f'huey.exceptions.{name}', 'huey_legacy.exceptions', name, 'huey-legacy')
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
