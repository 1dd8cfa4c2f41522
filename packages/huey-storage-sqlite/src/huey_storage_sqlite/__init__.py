"""SQLite storage for huey on the standard library: the embedded default."""

from huey_storage_sqlite.cysqlite import CySqliteStorage
from huey_storage_sqlite.schema import create_schema, schema_statements
from huey_storage_sqlite.storage import SqliteStorage

__all__ = ['CySqliteStorage', 'SqliteStorage', 'create_schema', 'schema_statements']
__version__ = '0.1.0'
