"""The huey storage contract, in-memory storages and the conformance suite."""

from huey_storage.base import (
    BaseStorage,
    ConfigurationError,
    DeadLetter,
    EmptyData,
    EmptyDataType,
    Lease,
    as_timestamp,
    check_heartbeat,
    check_priority,
    check_ttl,
    wait_until,
)
from huey_storage.blackhole import BlackHoleStorage
from huey_storage.credentials import hide_password
from huey_storage.file import FileStorage
from huey_storage.memory import MemoryStorage
from huey_storage.permissions import (
    DEFAULT_FILE_MODE,
    check_file_mode,
    create_directory,
    create_file,
)

__all__ = [
    'BaseStorage',
    'DEFAULT_FILE_MODE',
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
    'check_file_mode',
    'check_heartbeat',
    'check_ttl',
    'create_directory',
    'create_file',
    'hide_password',
    'wait_until',
]
__version__ = '0.1.0'
