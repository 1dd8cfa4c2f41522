"""``huey.exceptions``."""

from huey_api.exceptions import (
    CancelExecution,
    ConfigurationError,
    HueyException,
    RateLimitExceeded,
    ResultTimeout,
    RetryTask,
    SerializationError,
    SignatureError,
    TaskException,
    TaskLockedException,
    TaskTimeout,
    UnknownTaskError,
)

__all__ = [
    'CancelExecution',
    'ConfigurationError',
    'HueyException',
    'RateLimitExceeded',
    'ResultTimeout',
    'RetryTask',
    'SerializationError',
    'SignatureError',
    'TaskException',
    'TaskLockedException',
    'TaskTimeout',
    'UnknownTaskError',
]

#: the 0.x/1.x exceptions, from huey-legacy (resolved on first use)
_LEGACY = ('DataStoreTimeout', 'QueueException')


def __getattr__(name: str):
    if name in _LEGACY:
        from huey._optional import load

        return load(f'huey.exceptions.{name}', 'huey_legacy.exceptions', name, 'huey-legacy')
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
