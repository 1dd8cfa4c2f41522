"""The huey consumer: thread, process and greenlet workers, scheduler and console scripts."""

__all__ = []
__version__ = "0.1.0"
