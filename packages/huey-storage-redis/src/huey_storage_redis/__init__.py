"""Redis storages for huey (redis-py)."""

__all__ = []
__version__ = "0.1.0"
