"""The storage contract's conformance suite, on every database SqlStorage supports."""

from __future__ import annotations

import contextlib
import sqlite3
import uuid

import peewee
import pytest
from huey_storage.testing import (
    MultiProcessConformance,
    PriorityConformance,
    SharedStorageConformance,
    StorageConformance,
)
from huey_storage_sql import SqlStorage

#: Short, so the suite's many "queue is empty" reads do not each block a second.
READ_TIMEOUT = 0.05


class _SqlConformance(
    StorageConformance, PriorityConformance, SharedStorageConformance, MultiProcessConformance
):
    """Fixtures shared by the databases; subclasses provide ``target`` and ``make``."""

    def make(self, target, name: str) -> SqlStorage:
        raise NotImplementedError

    @pytest.fixture
    def storage(self, target):
        storage = self.make(target, 'huey-' + uuid.uuid4().hex[:8])
        yield storage
        storage.flush_all()
        storage.close()

    @pytest.fixture
    def storage_factory(self, storage, target):
        made = []

        def factory() -> SqlStorage:
            handle = self.make(target, storage.name)
            made.append(handle)
            return handle

        yield factory
        for handle in made:
            handle.close()

    @pytest.fixture
    def other_storage_factory(self, target):
        made = []

        def factory(name: str) -> SqlStorage:
            handle = self.make(target, name)
            made.append(handle)
            return handle

        yield factory
        for handle in made:
            handle.flush_all()
            handle.close()


@pytest.mark.postgres
class TestPostgresConformance(_SqlConformance):
    """PostgreSQL through a peewee Database object, LISTEN/NOTIFY on."""

    @pytest.fixture
    def target(self, pg_target):
        return pg_target

    def make(self, target, name):
        return SqlStorage(name, database=target.database(), read_timeout=READ_TIMEOUT)


@pytest.mark.mysql
class TestMariaDBConformance(_SqlConformance):
    """MariaDB through a URL (READ COMMITTED sessions), SKIP LOCKED detected."""

    @pytest.fixture
    def target(self, mysql_target):
        return mysql_target

    def make(self, target, name):
        return SqlStorage(name, database=target.url())


@pytest.mark.mysql
class TestMariaDBWithoutSkipLockedConformance(_SqlConformance):
    """MariaDB as an old server would be used: plain FOR UPDATE, REPEATABLE READ."""

    @pytest.fixture
    def target(self, mysql_target):
        return mysql_target

    def make(self, target, name):
        return SqlStorage(name, database=target.database(), skip_locked=False)


class TestSqliteConformance(_SqlConformance):
    """SQLite through peewee, in a temporary file."""

    @pytest.fixture
    def target(self, tmp_path):
        path = tmp_path / 'huey.db'
        # WAL is a property of the file: set it once, not on every connection
        # (switching journal mode needs a lock that concurrent writers hold).
        with contextlib.closing(sqlite3.connect(path)) as conn:
            conn.execute('PRAGMA journal_mode = wal')
        return path

    def make(self, target, name):
        database = peewee.SqliteDatabase(str(target), timeout=30, pragmas={'synchronous': 'normal'})
        return SqlStorage(name, database=database)
