"""SQL storage for huey on PostgreSQL and MySQL/MariaDB (peewee).

``SqlStorage(name, database=...)`` implements the huey storage contract in four
tables; ``create_schema(database)`` creates them ahead of time.
"""

from huey_storage_sql.postgres_storage import PostgresStorage
from huey_storage_sql.schema import create_schema
from huey_storage_sql.storage import SqlStorage

__all__ = ['PostgresStorage', 'SqlStorage', 'create_schema']
__version__ = '0.1.0'
