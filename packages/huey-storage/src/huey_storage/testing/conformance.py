"""``StorageConformance``: every contract test, for any storage, in one base class.

A storage package's test module subclasses it and provides fixtures::

    import pytest
    from huey_storage.testing import StorageConformance

    class TestMyStorage(StorageConformance):
        @pytest.fixture
        def storage(self):
            storage = MyStorage('test-' + uuid.uuid4().hex)   # fresh and empty
            yield storage
            storage.flush_all()
            storage.close()

        # optional, enables the multi-handle and multi-process tests:
        @pytest.fixture
        def storage_factory(self, storage):
            return lambda: MyStorage(storage.name)     # another handle, same store

        # optional, enables the name isolation tests:
        @pytest.fixture
        def other_storage_factory(self):
            ...  # a callable name -> storage on the same backing store

Factories clean up whatever they create. Tests needing a fixture that is not
overridden are skipped with the reason. The parts of the suite live in the
``suite_*`` modules next to this one, one concept each.
"""
from __future__ import annotations

from typing import Callable

import pytest

from huey_storage.base import BaseStorage
from huey_storage.testing.suite_concurrency import ConcurrencyContract
from huey_storage.testing.suite_data import DataContract
from huey_storage.testing.suite_edges import EdgeCaseContract, HandleContract
from huey_storage.testing.suite_leases import DeadLetterContract, LeaseContract
from huey_storage.testing.suite_processes import ProcessContract
from huey_storage.testing.suite_queue import QueueContract
from huey_storage.testing.suite_schedule import ScheduleContract

__all__ = ['StorageConformance']


class StorageConformance(QueueContract, LeaseContract, DeadLetterContract, ScheduleContract,
                         DataContract, EdgeCaseContract, HandleContract,
                         ConcurrencyContract, ProcessContract):
    """Base class of a storage's conformance tests (not collected by itself).

    Class attributes a subclass may set:

    * ``shared_across_processes`` (default True): False skips the tests that
      fork processes, for storages living inside one process.
    """

    @pytest.fixture
    def storage(self) -> BaseStorage:
        """A fresh, empty storage; flushed and closed after the test."""
        pytest.fail(f'{type(self).__name__} must define a `storage` fixture yielding a '
                    'fresh, empty storage (see huey_storage.testing.conformance)',
                    pytrace=False)

    @pytest.fixture
    def storage_factory(self) -> Callable[[], BaseStorage]:
        """A callable returning another handle on the same backing store and name."""
        pytest.skip(f'{type(self).__name__} does not override the `storage_factory` '
                    'fixture, so multi-handle tests cannot run')

    @pytest.fixture
    def other_storage_factory(self) -> Callable[[str], BaseStorage]:
        """A callable ``name -> storage`` on the same backing store as ``storage``."""
        pytest.skip(f'{type(self).__name__} does not override the `other_storage_factory` '
                    'fixture, so name isolation tests cannot run')
