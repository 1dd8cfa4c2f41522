"""The huey storage contract, in-memory storages and the conformance suite."""
from huey_storage.base import BaseStorage, DeadLetter, EmptyData, Lease

__all__ = ['BaseStorage', 'DeadLetter', 'EmptyData', 'Lease']
__version__ = '0.1.0'
