"""The conformance suite: every contract test, in base classes a storage opts into.

A storage package's test module subclasses ``StorageConformance`` and adds the
mixins that apply to its storage::

    import pytest
    from huey_storage.testing import (MultiProcessConformance, PriorityConformance,
                                      SharedStorageConformance, StorageConformance)

    class TestMyStorage(StorageConformance, PriorityConformance,
                        SharedStorageConformance, MultiProcessConformance):
        @pytest.fixture
        def storage(self):
            storage = MyStorage('test-' + uuid.uuid4().hex)   # fresh and empty
            yield storage
            storage.flush_all()
            storage.close()

        @pytest.fixture          # SharedStorageConformance, MultiProcessConformance
        def storage_factory(self, storage):
            return lambda: MyStorage(storage.name)     # another handle, same store

        @pytest.fixture          # SharedStorageConformance
        def other_storage_factory(self):
            ...  # a callable name -> storage on the same backing store

* ``StorageConformance``: the whole single-handle contract. Every storage.
* ``PriorityConformance``: behaviour only a priority storage has. Required
  when ``storage.priority`` is True (a test in ``StorageConformance`` fails
  otherwise), forbidden when it is False.
* ``SharedStorageConformance``: several handles on one backing store, with the
  same name (``storage_factory``) and other names (``other_storage_factory``).
* ``MultiProcessConformance``: ``fork()`` and several processes sharing the
  store (``storage_factory``). Not for storages living inside one process.

A test that does not apply to a storage is never collected for it, so nothing
is skipped as "not applicable"; a mixin whose fixture is missing fails with the
fixture's name. The tests live in the ``suite_*`` modules next to this one, one
concept each.
"""

from __future__ import annotations

from typing import Callable

import pytest

from huey_storage.base import BaseStorage
from huey_storage.testing.suite_concurrency import ConcurrencyContract, SharedConcurrencyContract
from huey_storage.testing.suite_counters import CounterReadContract, SharedCounterReadContract
from huey_storage.testing.suite_data import DataContract
from huey_storage.testing.suite_edges import EdgeCaseContract, HandleContract
from huey_storage.testing.suite_leases import (
    DeadLetterContract,
    LeaseContract,
    LeaseOwnerContract,
)
from huey_storage.testing.suite_priority import PriorityContract
from huey_storage.testing.suite_processes import ProcessContract
from huey_storage.testing.suite_queue import QueueContract
from huey_storage.testing.suite_schedule import ScheduleContract
from huey_storage.testing.suite_validation import ValidationContract

__all__ = [
    'MultiProcessConformance',
    'PriorityConformance',
    'SharedStorageConformance',
    'StorageConformance',
]


def _missing_fixture(test_class: object, fixture: str, mixin: str, what: str):
    pytest.fail(
        f'{type(test_class).__name__} inherits {mixin} but does not define the '
        f'`{fixture}` fixture ({what}); define it, or drop {mixin} if the storage '
        'cannot provide it (see huey_storage.testing.conformance)',
        pytrace=False,
    )


class StorageConformance(
    QueueContract,
    LeaseContract,
    LeaseOwnerContract,
    DeadLetterContract,
    ScheduleContract,
    DataContract,
    CounterReadContract,
    EdgeCaseContract,
    ValidationContract,
    ConcurrencyContract,
):
    """Base class of a storage's conformance tests: the single-handle contract.

    Not collected by itself (no ``Test`` prefix). Subclasses define the
    ``storage`` fixture and add the mixins that apply (module docstring).
    """

    @pytest.fixture
    def storage(self) -> BaseStorage:
        """A fresh, empty storage; flushed and closed after the test."""
        pytest.fail(
            f'{type(self).__name__} must define a `storage` fixture yielding a '
            'fresh, empty storage (see huey_storage.testing.conformance)',
            pytrace=False,
        )

    def test_priority_tests_run_exactly_for_priority_storages(self, storage):
        includes = isinstance(self, PriorityConformance)
        assert storage.priority == includes, (
            f'{type(storage).__name__}.priority is {storage.priority} but '
            f'{type(self).__name__} {"includes" if includes else "lacks"} '
            f'PriorityConformance: {"drop it" if includes else "add it to the bases"}'
        )


class PriorityConformance(PriorityContract):
    """Mixin for storages with ``priority = True``."""


class SharedStorageConformance(
    HandleContract, SharedConcurrencyContract, SharedCounterReadContract
):
    """Mixin: several handles on one backing store (needs ``storage_factory`` and
    ``other_storage_factory``)."""

    @pytest.fixture
    def storage_factory(self) -> Callable[[], BaseStorage]:
        """A callable returning another handle on the same backing store and name."""
        _missing_fixture(
            self,
            'storage_factory',
            'SharedStorageConformance',
            'a callable returning another handle on the same store and name',
        )

    @pytest.fixture
    def other_storage_factory(self) -> Callable[[str], BaseStorage]:
        """A callable ``name -> storage`` on the same backing store as ``storage``."""
        _missing_fixture(
            self,
            'other_storage_factory',
            'SharedStorageConformance',
            'a callable name -> storage on the same store',
        )


class MultiProcessConformance(ProcessContract):
    """Mixin: forked children and several processes share the store (needs
    ``storage_factory``)."""

    @pytest.fixture
    def storage_factory(self) -> Callable[[], BaseStorage]:
        """A callable returning another handle on the same backing store and name."""
        _missing_fixture(
            self,
            'storage_factory',
            'MultiProcessConformance',
            'a callable returning another handle on the same store and name',
        )
