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
