"""The whole storage contract (huey_storage.testing), on a real SQLite file.

Run four ways: the default (single-statement ``RETURNING`` leases on SQLite
>= 3.35.5), the ``BEGIN IMMEDIATE`` fallback older SQLite libraries use,
``strict_fifo=True``, and the rollback journal instead of WAL.
"""

from __future__ import annotations

import pytest
from huey_storage.testing import (
    MultiProcessConformance,
    PriorityConformance,
    SharedStorageConformance,
    StorageConformance,
)
from huey_storage_sqlite import SqliteStorage
from huey_storage_sqlite.storage import HAS_RETURNING


class TestSqliteStorage(
    StorageConformance, PriorityConformance, SharedStorageConformance, MultiProcessConformance
):
    returning = HAS_RETURNING
    options: dict = {}

    def _open(self, name: str, filename: str) -> SqliteStorage:
        storage = SqliteStorage(name, filename=filename, **self.options)
        storage._returning = self.returning
        return storage

    @pytest.fixture
    def storage(self, db_path, unique_name):
        storage = self._open(unique_name, db_path)
        yield storage
        storage.flush_all()
        storage.close()

    @pytest.fixture
    def other_storage_factory(self, storage):
        handles = []

        def make(name: str) -> SqliteStorage:
            handle = self._open(name, storage.filename)
            handles.append(handle)
            return handle

        yield make
        for handle in handles:
            handle.flush_all()
            handle.close()

    @pytest.fixture
    def storage_factory(self, storage, other_storage_factory):
        return lambda: other_storage_factory(storage.name)


class TestSqliteStorageWithoutReturning(TestSqliteStorage):
    """The same contract through the BEGIN IMMEDIATE fallback (no RETURNING)."""

    returning = False


class TestSqliteStorageStrictFifo(TestSqliteStorage):
    """strict_fifo=True (AUTOINCREMENT queue ids) keeps the whole contract."""

    options = {'strict_fifo': True}


class TestSqliteStorageRollbackJournal(TestSqliteStorage):
    """journal_mode='delete': readers and the writer block each other (no WAL)."""

    pytestmark = pytest.mark.slow
    options = {'journal_mode': 'delete'}
