"""``PostgresStorage``: ``SqlStorage`` on PostgreSQL, configured the way huey's class is.

huey offers ``PostgresHuey(name, dsn=...)``; this class takes the same options
(``dsn``, ``blocking``, ``read_timeout``, ``table_prefix``, ``create_tables``)
and runs our SQL storage, so code written for huey's class keeps working.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import peewee
from huey_storage import hide_password

from huey_storage_sql.storage import SqlStorage

__all__ = ['PostgresStorage']


class PostgresStorage(SqlStorage):
    """``SqlStorage`` on the PostgreSQL server ``dsn`` names.

    * ``dsn``: ``postgresql://user@host:5432/db`` (or a ``PostgresqlDatabase``);
    * ``blocking``: wait for messages with LISTEN/NOTIFY (up to ``read_timeout``);
    * ``table_prefix``: tables are ``<prefix>_queue``, ``<prefix>_kv``... (as huey);
    * ``expire_time``: seconds a result lives after being stored (None: until read);
    * other keywords are driver connection options (``connect_timeout``...).
    """

    def __init__(
        self,
        name: str = 'huey',
        dsn: str | peewee.PostgresqlDatabase | None = None,
        blocking: bool = True,
        read_timeout: float = 1.0,
        table_prefix: str = 'huey',
        create_tables: bool = True,
        expire_time: float | None = None,
        **connection_params: Any,
    ) -> None:
        if importlib.util.find_spec('psycopg2') is None:
            raise ImportError(
                'PostgresStorage needs the psycopg2 driver: pip install huey-storage-sql[postgres]'
            )
        if dsn is None:
            raise TypeError(
                "PostgresStorage needs dsn=, e.g. 'postgresql://postgres@127.0.0.1:5432/test'"
            )
        if isinstance(dsn, str) and not dsn.startswith(('postgres://', 'postgresql://')):
            raise ValueError(
                hide_password(f'PostgresStorage dsn={dsn!r}: give a postgresql:// URL')
            )
        super().__init__(
            name,
            database=dsn,
            create_tables=create_tables,
            listen=blocking,
            read_timeout=read_timeout,
            table_prefix=f'{table_prefix}_',
            connect_params=connection_params or None,
            expire_time=expire_time,
        )
        if not isinstance(self.database, peewee.PostgresqlDatabase):
            raise ValueError(
                hide_password(f'PostgresStorage dsn={dsn!r}: not a PostgreSQL database')
            )

    @property
    def channel(self) -> str:
        """The NOTIFY channel announcing this queue's new messages."""
        return self._backend.channel
