"""The app behind huey's ``INSTALLED_APPS = [..., 'huey.contrib.djhuey.stats']``.

As in huey, every process that loads Django (``run_huey`` included) records
huey's task statistics (``huey.contrib.stats``) into a peewee database:
``settings.HUEY_STATS['database']`` (a peewee ``Database`` or a database
URL), else the SQLite file ``HUEY_STATS['filename']`` (default
``huey-stats.db`` in ``BASE_DIR``); the other ``HUEY_STATS`` keys are
``enable_stats`` options. It also turns on huey-monitor's storage recording,
which the admin's queue page reads (consumers, timings, throughput).
"""

from __future__ import annotations

import os
from typing import Any

from django.apps import AppConfig
from django.conf import settings

from huey_django.config import HueySettingError

__all__ = ['HueyStatsConfig', 'stats_database', 'stats_options']


def _settings() -> dict:
    value = getattr(settings, 'HUEY_STATS', None) or {}
    if not isinstance(value, dict):
        raise HueySettingError(
            f"settings.HUEY_STATS={value!r}: must be a dict such as {{'filename': 'stats.db'}}"
        )
    return dict(value)


def stats_database() -> Any:
    """The peewee database ``HUEY_STATS`` names (see the module docstring)."""
    import peewee

    options = _settings()
    database = options.get('database')
    if isinstance(database, peewee.Database):
        return database
    if isinstance(database, str):
        from playhouse.db_url import connect

        return connect(database)
    if database is not None:
        raise HueySettingError(
            f"settings.HUEY_STATS['database']={database!r}: use a peewee Database or a "
            "database URL such as 'postgresql://user@host/db'"
        )
    filename = str(options.get('filename') or 'huey-stats.db')
    base = getattr(settings, 'BASE_DIR', None)
    if base is not None and not os.path.isabs(filename):
        filename = os.path.join(str(base), filename)
    # consumers and web processes write it at once: WAL, and wait for the lock
    return peewee.SqliteDatabase(
        filename, timeout=5, pragmas={'journal_mode': 'wal', 'synchronous': 1}
    )


def stats_options() -> dict:
    """``enable_stats`` options: ``HUEY_STATS`` without the database keys."""
    options = _settings()
    options.pop('database', None)
    options.pop('filename', None)
    return options


class HueyStatsConfig(AppConfig):
    """Starts the recorders when Django starts."""

    name = 'huey.contrib.djhuey.stats'
    label = 'hueystats'
    verbose_name = 'Huey statistics'

    def ready(self) -> None:
        import huey_monitor
        from huey_monitor.stats import enable_stats

        from huey_django import HUEY

        enable_stats(HUEY, stats_database(), **stats_options())
        huey_monitor.enable(HUEY)
