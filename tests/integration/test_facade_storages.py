"""``huey.storage`` and ``huey.api`` offer every storage class huey has, with
every distribution installed (huey-api's own env has none of the optional ones)."""

from __future__ import annotations

import importlib.util

import huey
import pytest
from huey import api, storage
from huey_storage import FileStorage


def test_storage_module_offers_huey_storage_classes():
    assert storage.FileStorage is FileStorage
    for name in ('RedisStorage', 'SqliteStorage', 'CySqliteStorage', 'PostgresStorage'):
        assert isinstance(getattr(storage, name), type)
    assert storage.cysqlite is None or hasattr(storage.cysqlite, 'connect')


@pytest.mark.skipif(importlib.util.find_spec('cysqlite') is not None, reason='cysqlite installed')
def test_cysqlite_huey_says_what_to_install(tmp_path):
    with pytest.raises(ImportError, match='pip install cysqlite'):
        api.CySqliteHuey('c', filename=str(tmp_path / 'c.db'))


def test_postgres_huey_is_sql_storage_with_hueys_options():
    from huey_storage_sql import PostgresStorage, SqlStorage

    app = huey.PostgresHuey('pg', dsn='postgresql://postgres@127.0.0.1:5432/test', blocking=False)
    assert isinstance(app.storage, PostgresStorage) and isinstance(app.storage, SqlStorage)
    assert app.storage.table_prefix == 'huey_' and app.storage.blocking is False
    app.storage.close()  # nothing was connected: the storage connects lazily


def test_conflicting_redis_options_raise_hueys_configuration_error():
    with pytest.raises(huey.ConfigurationError, match='only one way to connect'):
        api.RedisHuey('r', url='redis://127.0.0.1:6379/2', host='127.0.0.1')
