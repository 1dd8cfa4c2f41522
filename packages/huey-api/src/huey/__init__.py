"""huey, a little task queue.

The names applications import. Storage-specific classes (``RedisHuey``,
``SqliteHuey``, ``SqlHuey``...) come from their own distributions and are
imported on first use. ``crontab`` is the function from huey-crontab (there
is deliberately no ``huey.crontab`` module, which would shadow it).
"""

from huey_api import *  # noqa: F403  (the names are listed once, in huey_api.__all__)
from huey_api import __all__ as _api_names
from huey_crontab import crontab

from huey import _optional

#: huey_api names for the consumer's machinery, not part of huey's top-level API
_NOT_EXPORTED = ('Delivery', 'RateLimit', 'TaskLock')

__version__ = '0.1.0'
__all__ = [
    *(name for name in _api_names if name not in _NOT_EXPORTED),
    'crontab',
    '__version__',
    # installed optional classes only, so `from huey import *` never fails
    *_optional.available(_optional.HUEY_CLASSES),
]


def __getattr__(name: str):
    if name in _optional.HUEY_CLASSES:
        value = globals()[name] = _optional.huey_class(name)
        return value
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
