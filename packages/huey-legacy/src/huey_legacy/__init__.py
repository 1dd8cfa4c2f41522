"""huey-legacy: the huey 0.x and 1.x APIs, deprecated, on today's huey.

Every legacy object translates to today's ``Huey``, storages and consumer;
see the README for the map from each old name to its replacement. The old
import paths (``huey.queue``, ``huey.decorators``, ``huey.backends.*``,
``huey.bin.config``) re-export from here.
"""

from huey_crontab import crontab

from huey_legacy.api import AsyncData, Huey, LegacyTaskWrapper
from huey_legacy.backends import (
    BaseDataStore,
    BaseEventEmitter,
    BaseQueue,
    BaseSchedule,
    EmptyData,
)
from huey_legacy.config import BaseConfiguration
from huey_legacy.decorators import periodic_command, queue_command
from huey_legacy.exceptions import DataStoreTimeout, QueueException
from huey_legacy.queue import Invoker
from huey_legacy.storage import LegacyStorage, storage_for

__version__ = '0.1.0'
__all__ = [
    'AsyncData',
    'BaseConfiguration',
    'BaseDataStore',
    'BaseEventEmitter',
    'BaseQueue',
    'BaseSchedule',
    'DataStoreTimeout',
    'EmptyData',
    'Huey',
    'Invoker',
    'LegacyStorage',
    'LegacyTaskWrapper',
    'QueueException',
    'crontab',
    'periodic_command',
    'queue_command',
    'storage_for',
    '__version__',
]
