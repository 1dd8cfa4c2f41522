"""``manage.py run_huey`` for ``HUEY_CONFIG``: huey-django's command running
the legacy invoker's application with the ``HUEY_CONFIG`` consumer settings
(``THREADS``, ``PERIODIC``, delays, ``LOGFILE``, ``LOGLEVEL``); flags win."""

from __future__ import annotations

from typing import Any

from django.utils.module_loading import autodiscover_modules
from huey_django.config import CONSUMER_OPTIONS, HueySettingError, consumer_config
from huey_django.management.commands import run_huey

from huey_legacy.djhuey.settings import HueyConfigError, invoker

__all__ = ['Command']


class Command(run_huey.Command):
    help = (
        "Run the huey consumer for settings.HUEY_CONFIG: imports every app's commands.py "
        'and tasks.py; flags override HUEY_CONFIG. SIGINT stops gracefully, SIGTERM promptly.'
    )

    def application(self, flags: dict[str, Any]) -> tuple[Any, Any]:
        try:
            huey = invoker().huey
        except HueyConfigError as exc:
            raise HueySettingError(str(exc)) from exc
        given = {name: flags[name] for name in CONSUMER_OPTIONS if flags.get(name) is not None}
        config = consumer_config({**huey.consumer_settings, **given}, 'run_huey')
        if not flags.get('disable_autoload'):
            # 0.x projects kept their commands in commands.py
            autodiscover_modules('commands')
            autodiscover_modules('tasks')
        return huey, config
