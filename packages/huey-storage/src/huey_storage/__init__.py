"""The huey storage contract, in-memory storages and the conformance suite."""

from huey_storage.base import BaseStorage, DeadLetter, EmptyData, Lease
from huey_storage.blackhole import BlackHoleStorage
from huey_storage.memory import MemoryStorage

__all__ = ['BaseStorage', 'BlackHoleStorage', 'DeadLetter', 'EmptyData', 'Lease', 'MemoryStorage']
__version__ = '0.1.0'
