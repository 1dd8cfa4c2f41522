"""What ``manage.py run_huey`` runs: the consumer settings (``settings.HUEY``,
then command-line flags), task discovery and logging. The flags are the
``huey_consumer`` script's own (``add_consumer_options``)."""

from __future__ import annotations

import dataclasses
import importlib
import logging
from typing import Any, Mapping

from django.utils.module_loading import autodiscover_modules
from huey_consumer import ConsumerConfig

from huey_django.config import CONSUMER_OPTIONS, HueySettingError, HueySettings, consumer_config

__all__ = ['configure_logging', 'consumer_settings', 'import_task_modules']

#: The loggers of huey's own packages (Django's LOGGING may configure any of them).
HUEY_LOGGERS = ('huey', 'huey_api', 'huey_consumer', 'huey_django')


def consumer_settings(settings: HueySettings, flags: Mapping[str, Any]) -> ConsumerConfig:
    """``settings.HUEY['consumer']`` overridden by every consumer flag given on
    the command line (``flags`` holds None for the others). Raises
    ``HueySettingError`` naming a bad value."""
    given = {name: flags[name] for name in CONSUMER_OPTIONS if flags.get(name) is not None}
    return consumer_config({**dataclasses.asdict(settings.consumer), **given}, 'run_huey')


def import_task_modules(settings: HueySettings, autoload: bool = True) -> None:
    """Import ``tasks.py`` of every installed app, then the modules named by
    ``settings.HUEY['consumer']['imports']``, so the consumer knows every task."""
    if autoload:
        autodiscover_modules('tasks')
    for module in settings.imports:
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise HueySettingError(
                f"settings.HUEY['consumer']['imports'] names {module!r}, which cannot be "
                f'imported ({exc}): fix the module path'
            ) from exc


def configure_logging(config: ConsumerConfig) -> None:
    """Log like the ``huey_consumer`` script unless Django's ``LOGGING`` already
    routes huey's loggers (or the root logger) somewhere: then keep it, only
    applying the verbosity (``-V`` / ``-q``). A log file always gets the
    consumer's format."""
    configured = logging.getLogger().handlers or any(
        logging.getLogger(name).handlers for name in HUEY_LOGGERS
    )
    if config.logfile or not configured:
        config.setup_logger()
        return
    if config.verbose is not None:
        for name in HUEY_LOGGERS:
            logging.getLogger(name).setLevel(config.loglevel)
