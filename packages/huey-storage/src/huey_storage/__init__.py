"""The huey storage contract, in-memory storages and the conformance suite."""

from huey_storage.base import (
    BaseStorage,
    ConfigurationError,
    DeadLetter,
    EmptyData,
    EmptyDataType,
    Lease,
    as_timestamp,
    check_priority,
    check_ttl,
    wait_until,
)
from huey_storage.blackhole import BlackHoleStorage
from huey_storage.file import FileStorage
from huey_storage.memory import MemoryStorage

__all__ = [
    'BaseStorage',
    'BlackHoleStorage',
    'ConfigurationError',
    'DeadLetter',
    'EmptyData',
    'EmptyDataType',
    'FileStorage',
    'Lease',
    'MemoryStorage',
    'as_timestamp',
    'check_priority',
    'check_ttl',
    'wait_until',
]
__version__ = '0.1.0'
