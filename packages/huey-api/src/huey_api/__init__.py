"""huey, a little task queue: Huey, tasks, results, pipelines, locks, signals.

This is the implementation; applications import the ``huey`` facade.
"""

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
from huey_api.execution import Delivery
from huey_api.group import chord, group
from huey_api.huey import BlackHoleHuey, Huey, MemoryHuey
from huey_api.locks import RateLimit, TaskLock
from huey_api.result import ChordResult, Result, ResultGroup
from huey_api.serializer import JSONSerializer, Serializer, SignedSerializer
from huey_api.task import PeriodicTask, Task, TaskWrapper

__all__ = [
    'BlackHoleHuey',
    'CancelExecution',
    'ChordResult',
    'ConfigurationError',
    'Delivery',
    'Huey',
    'HueyException',
    'JSONSerializer',
    'MemoryHuey',
    'PeriodicTask',
    'RateLimit',
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
    'TaskLock',
    'TaskLockedException',
    'TaskTimeout',
    'TaskWrapper',
    'UnknownTaskError',
    'chord',
    'group',
]
__version__ = '0.1.0'
