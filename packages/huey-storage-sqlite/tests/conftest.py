"""Fixtures: a SqliteStorage on a fresh file under pytest's tmp_path."""

from __future__ import annotations

import uuid

import pytest
from huey_storage_sqlite import SqliteStorage


@pytest.fixture
def db_path(tmp_path):
    return str(tmp_path / 'huey.db')


@pytest.fixture
def make_storage(db_path):
    """Callable making SqliteStorage handles on ``db_path``; all closed afterwards."""
    made = []

    def make(name: str = 'test', **options) -> SqliteStorage:
        options.setdefault('filename', db_path)
        storage = SqliteStorage(name, **options)
        made.append(storage)
        return storage

    yield make
    for storage in made:
        storage.close()


@pytest.fixture
def unique_name():
    return 'test-' + uuid.uuid4().hex[:8]
