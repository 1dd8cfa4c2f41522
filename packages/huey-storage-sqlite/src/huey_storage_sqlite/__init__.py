"""SQLite storage for huey on the standard library: the embedded default."""

__all__ = []
__version__ = "0.1.0"
