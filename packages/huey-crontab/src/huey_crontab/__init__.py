"""Crontab schedules for huey: parse, match and find the next run."""

__all__ = []
__version__ = "0.1.0"
