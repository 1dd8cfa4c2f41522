"""huey, a little task queue.

The names applications import. Storage-specific classes (``RedisHuey``,
``SqliteHuey``, ``SqlHuey``...) come from their own distributions and are
imported on first use. ``crontab`` is the function from huey-crontab (there
is deliberately no ``huey.crontab`` module, which would shadow it).
"""

from huey_api import (
    BlackHoleHuey,
    CancelExecution,
    ChordResult,
    ConfigurationError,
    Huey,
    HueyException,
    MemoryHuey,
    PeriodicTask,
    RateLimitExceeded,
    Result,
    ResultGroup,
    ResultTimeout,
    RetryTask,
    SerializationError,
    Serializer,
    SignatureError,
    SignedSerializer,
    Task,
    TaskException,
    TaskLockedException,
    TaskTimeout,
    TaskWrapper,
    UnknownTaskError,
    chord,
    group,
)
from huey_crontab import crontab

from huey import _optional

__version__ = '0.1.0'
__all__ = [
    'BlackHoleHuey',
    'CancelExecution',
    'ChordResult',
    'ConfigurationError',
    'Huey',
    'HueyException',
    'MemoryHuey',
    'PeriodicTask',
    'RateLimitExceeded',
    'Result',
    'ResultGroup',
    'ResultTimeout',
    'RetryTask',
    'SerializationError',
    'Serializer',
    'SignatureError',
    'SignedSerializer',
    'Task',
    'TaskException',
    'TaskLockedException',
    'TaskTimeout',
    'TaskWrapper',
    'UnknownTaskError',
    'chord',
    'crontab',
    'group',
    '__version__',
    # installed optional classes only, so `from huey import *` never fails
    *_optional.available(_optional.HUEY_CLASSES),
]


def __getattr__(name: str):
    if name in _optional.HUEY_CLASSES:
        value = globals()[name] = _optional.huey_class(name)
        return value
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
