"""``CySqliteStorage``: ``SqliteStorage`` for code written against huey's cysqlite class.

huey offers a storage on the ``cysqlite`` driver; ours keeps one SQLite engine
(the standard library's), so this class only checks that the driver named in
the configuration is installed and otherwise is ``SqliteStorage``.
"""

from __future__ import annotations

import importlib.util

from huey_storage_sqlite.storage import SqliteStorage

__all__ = ['CySqliteStorage']


class CySqliteStorage(SqliteStorage):
    """``SqliteStorage`` (``pragmas=`` included) that requires the ``cysqlite``
    distribution, as huey's does."""

    def __init__(self, *args, **kwargs) -> None:
        if importlib.util.find_spec('cysqlite') is None:
            raise ImportError(
                'CySqliteStorage needs the cysqlite distribution: pip install cysqlite'
            )
        super().__init__(*args, **kwargs)
