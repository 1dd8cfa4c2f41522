"""huey, a little task queue: Huey, tasks, results, pipelines, locks, signals."""

__all__ = []
__version__ = "0.1.0"
