"""Databases from URLs, the backend of each database, and table creation."""

from __future__ import annotations

import re
from typing import Any, Union

import peewee
from huey_storage import hide_password
from playhouse import db_url

from huey_storage_sql.backend import Backend
from huey_storage_sql.mysql import MySQLBackend
from huey_storage_sql.postgres import PostgresBackend
from huey_storage_sql.sqlite import SqliteBackend

__all__ = [
    'DatabaseLike',
    'backend_class',
    'check_table_prefix',
    'create_schema',
    'default_table_prefix',
    'resolve_database',
    'run_schema_statements',
    'tables_exist',
]

#: A peewee database, or a URL such as ``postgresql://postgres@127.0.0.1:5432/test``.
DatabaseLike = Union[peewee.Database, str]

_PREFIX = re.compile(r'[A-Za-z_][A-Za-z0-9_]{0,40}\Z')


def resolve_database(
    database: DatabaseLike, connect_params: dict[str, Any] | None = None
) -> peewee.Database:
    """``database`` itself, or the peewee database its URL names."""
    if isinstance(database, peewee.Database):
        if connect_params:
            raise TypeError(
                'connect_params only applies when database is a URL; configure '
                f'the peewee Database {database!r} instead'
            )
        return database
    if isinstance(database, str):
        params = dict(connect_params or {})
        if database.startswith('mysql'):
            # No gap locks: far fewer deadlocks between concurrent consumers.
            params.setdefault(
                'init_command', 'SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED'
            )
        try:
            return db_url.connect(database, **params)
        except Exception as exc:  # unknown scheme, bad port...: never echo the password
            raise ValueError(
                hide_password(
                    f'cannot open database URL {database!r} ({type(exc).__name__}: {exc}); '
                    'use postgresql://, mysql:// or sqlite:///'
                )
            ) from None
    raise TypeError(
        'database must be a peewee Database or a URL string such as '
        f"'postgresql://postgres@127.0.0.1:5432/test', not {database!r}"
    )


def backend_class(database: peewee.Database) -> type[Backend]:
    """The backend implementing the storage on ``database``."""
    if isinstance(database, peewee.PostgresqlDatabase):
        return PostgresBackend
    if isinstance(database, peewee.MySQLDatabase):
        return MySQLBackend
    if isinstance(database, peewee.SqliteDatabase):
        return SqliteBackend
    raise TypeError(
        f'{type(database).__name__} is not supported: use a PostgresqlDatabase, '
        'MySQLDatabase or SqliteDatabase (or a subclass)'
    )


def default_table_prefix(database: peewee.Database) -> str:
    """``'huey_'``, or ``'huey_sql_'`` on SQLite: there the ``huey_*`` tables belong
    to huey-storage-sqlite (other columns), so one file can hold both storages."""
    return 'huey_sql_' if isinstance(database, peewee.SqliteDatabase) else 'huey_'


def _check_sqlite_queue_table(database: peewee.Database, table_prefix: str) -> None:
    """Refuse a SQLite queue table of another shape (another program's table)."""
    table = table_prefix + 'queue'
    columns = {row[1] for row in database.execute_sql(f'PRAGMA table_info("{table}")')}
    if columns and columns != SqliteBackend.queue_columns:
        raise ValueError(
            f'the {table} table in {database.database!r} has columns {sorted(columns)}, '
            f'not those of huey-storage-sql: it belongs to another program (e.g. '
            'huey-storage-sqlite); use another table_prefix (the default on SQLite is '
            f'{default_table_prefix(database)!r})'
        )


def check_table_prefix(table_prefix: str) -> str:
    if not isinstance(table_prefix, str) or not _PREFIX.match(table_prefix):
        raise ValueError(
            f'table_prefix={table_prefix!r}: use letters, digits and underscores '
            '(no digit first), at most 41 characters, e.g. "huey_"'
        )
    return table_prefix


def create_schema(database: DatabaseLike, table_prefix: str | None = None) -> None:
    """Create the storage tables and indexes in ``database`` unless they exist.

    Idempotent and safe to run from several processes at once. Run it ahead of
    time (a migration, a deploy step) and pass ``create_tables=False`` to
    ``SqlStorage`` when the application's database user may not create tables.
    """
    database = resolve_database(database)
    if table_prefix is None:
        table_prefix = default_table_prefix(database)
    if database.is_closed():
        with database.connection_context():  # closed again afterwards
            run_schema_statements(database, table_prefix)
    else:
        run_schema_statements(database, table_prefix)


def run_schema_statements(database: peewee.Database, table_prefix: str) -> None:
    """``create_schema`` on the calling thread's connection, left open.

    Does nothing, and takes no lock, when the tables exist: DDL on a table in
    use (even ``CREATE INDEX IF NOT EXISTS``) would wait for, and can deadlock
    with, other handles' work on it.
    """
    statements = backend_class(database).schema_statements(check_table_prefix(table_prefix))
    if isinstance(database, peewee.SqliteDatabase):
        _check_sqlite_queue_table(database, table_prefix)
    if tables_exist(database, table_prefix):
        return
    if isinstance(database, peewee.PostgresqlDatabase):
        with database.atomic():  # transactional DDL: all tables or none
            database.execute_sql("SELECT pg_advisory_xact_lock(hashtext('huey_storage_sql'))")
            if not tables_exist(database, table_prefix):  # another creator went first
                for statement in statements:
                    database.execute_sql(statement)
    elif isinstance(database, peewee.SqliteDatabase):
        with database.atomic('IMMEDIATE'):
            for statement in statements:
                database.execute_sql(statement)
    else:  # MySQL commits each DDL statement on its own; IF NOT EXISTS makes reruns safe
        for statement in statements:
            database.execute_sql(statement)


def tables_exist(database: peewee.Database, table_prefix: str) -> bool:
    """True if the five storage tables exist in ``database``."""
    tables = ('queue', 'schedule', 'kv', 'dead_letter', 'lease_owner')
    wanted = {table_prefix + table for table in tables}
    return wanted <= set(database.get_tables())
