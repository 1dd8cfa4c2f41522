"""SQL storage for huey on PostgreSQL and MySQL/MariaDB (peewee)."""

__all__ = []
__version__ = "0.1.0"
