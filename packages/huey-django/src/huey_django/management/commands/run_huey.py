"""``manage.py run_huey``: the huey consumer for this Django project."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from huey_django.config import HueySettingError
from huey_django.consumer import configure_logging, consumer_settings, import_task_modules

logger = logging.getLogger('huey_django')


class Command(BaseCommand):
    help = (
        "Run the huey consumer for settings.HUEY: imports every app's tasks.py "
        "(and settings.HUEY['consumer']['imports']); flags override "
        "settings.HUEY['consumer']. SIGINT stops gracefully, SIGTERM promptly, "
        'SIGHUP restarts.'
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from huey_consumer import add_consumer_options

        # the huey_consumer script's options; -v is Django's --verbosity, so -V
        add_consumer_options(parser, verbose_flags=('-V', '--huey-verbose'))
        parser.add_argument(
            '-A',
            '--disable-autoload',
            action='store_true',
            help="do not import every installed app's tasks.py",
        )

    def handle(self, *args: Any, **flags: Any) -> None:
        from huey_consumer import TaskEventLogger

        try:
            huey, config = self.application(flags)
            configure_logging(config)
            consumer = huey.create_consumer(**config.values)
        except (HueySettingError, OSError) as exc:
            raise CommandError(str(exc)) from exc
        # worker processes are forked: they must not share the parent's database sockets
        connections.close_all()
        task_logger = TaskEventLogger()
        task_logger.install(huey)
        try:
            consumer.run()
        finally:
            task_logger.uninstall()
        if consumer.restart_requested:
            logger.info('restarting: %s', ' '.join(sys.argv))
            self._flush_and(lambda: os.execv(sys.executable, [sys.executable, *sys.argv]))
        if consumer.abandoned_tasks:
            # interrupted tasks still run in abandoned threads: do not wait for them
            self._flush_and(lambda: os._exit(0))

    def application(self, flags: dict[str, Any]) -> tuple[Any, Any]:
        """The Huey to run and its ``ConsumerConfig``, its task modules imported:
        settings.HUEY's (a subclass may run another setting's application)."""
        from huey_django import HUEY, SETTINGS

        config = consumer_settings(SETTINGS, flags)
        import_task_modules(SETTINGS, autoload=not flags.get('disable_autoload'))
        return HUEY, config

    @staticmethod
    def _flush_and(action) -> None:
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        action()
