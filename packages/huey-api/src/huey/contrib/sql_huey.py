"""``huey.contrib.sql_huey``: SqlHuey on PostgreSQL/MySQL, from huey-storage-sql."""

from huey._optional import huey_class, storage_class

SqlStorage = storage_class('SqlStorage')
SqlHuey = huey_class('SqlHuey')

__all__ = ['SqlHuey', 'SqlStorage']
