"""What ``manage.py run_huey`` runs: the consumer options (settings, then
command-line flags), task discovery and logging."""

from __future__ import annotations

import importlib
import logging
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from django.utils.module_loading import autodiscover_modules

from huey_django.config import HueySettingError, HueySettings, validate_consumer_options

__all__ = ['FLAGS', 'Flag', 'configure_logging', 'consumer_options', 'import_task_modules']

#: The loggers of huey's own packages (Django's LOGGING may configure any of them).
HUEY_LOGGERS = ('huey', 'huey_api', 'huey_consumer', 'huey_django')


@dataclass(frozen=True)
class Flag:
    """One consumer flag of ``run_huey``: its spellings and the Consumer keyword it sets."""

    names: tuple[str, ...]
    dest: str
    help: str
    type: Callable | None = None
    #: Consumer keyword this flag overrides (None: used by run_huey itself)
    option: str | None = None
    #: for switches: the value the option takes when the flag is given
    const: Any = None
    choices: tuple[str, ...] | None = None


FLAGS = (
    Flag(('-w', '--workers'), 'workers', 'number of workers', int, 'workers'),
    Flag(
        ('-k', '--worker-type'),
        'worker_type',
        'thread, process or greenlet (greenlet: monkey-patch with gevent in manage.py first)',
        str,
        'worker_type',
        choices=('thread', 'process', 'greenlet'),
    ),
    Flag(('-d', '--delay'), 'delay', 'first wait after an empty read', float, 'initial_delay'),
    Flag(
        ('-m', '--max-delay'), 'max_delay', 'longest wait between empty reads', float, 'max_delay'
    ),
    Flag(('-b', '--backoff'), 'backoff', 'factor the wait grows by', float, 'backoff'),
    Flag(
        ('--max-tasks',), 'max_tasks', 'replace a worker after N tasks', int, 'max_tasks_per_worker'
    ),
    Flag(
        ('-c', '--health-check-interval'),
        'health_check_interval',
        'seconds between checks that replace dead workers',
        float,
        'health_check_interval',
    ),
    Flag(
        ('-C', '--disable-health-check'),
        'disable_health_check',
        'never replace dead workers',
        option='check_worker_health',
        const=False,
    ),
    Flag(
        ('-n', '--no-periodic'),
        'no_periodic',
        'do not enqueue periodic tasks from this consumer',
        option='periodic',
        const=False,
    ),
    Flag(
        ('-s', '--scheduler-interval'),
        'scheduler_interval',
        'seconds between scheduler ticks (a divisor of 60)',
        int,
        'scheduler_interval',
    ),
    Flag(
        ('--lease-timeout',),
        'lease_timeout',
        "override the application's lease_timeout",
        float,
        'lease_timeout',
    ),
    Flag(
        ('--max-deliveries',),
        'max_deliveries',
        "override the application's max_deliveries",
        int,
        'max_deliveries',
    ),
    Flag(
        ('-f', '--flush-locks'),
        'flush_locks',
        'release every task lock at start-up',
        option='flush_locks',
        const=True,
    ),
    Flag(
        ('-L', '--extra-locks'),
        'extra_locks',
        'comma-separated lock names to release at start-up too',
        str,
        'extra_locks',
    ),
    Flag(
        ('--shutdown-timeout',),
        'shutdown_timeout',
        'on SIGTERM, seconds to wait for running tasks before interrupting them',
        float,
        'shutdown_timeout',
    ),
    Flag(('-l', '--logfile'), 'logfile', 'write the logs to this file', str),
    # -v is Django's --verbosity
    Flag(('-V', '--huey-verbose'), 'verbose', 'debug logging', const=True),
    Flag(('-q', '--quiet'), 'quiet', 'warnings and errors only', const=True),
    Flag(('-S', '--simple'), 'simple', 'log time and message only', const=True),
    Flag(
        ('-A', '--disable-autoload'),
        'disable_autoload',
        "do not import every installed app's tasks.py",
        const=True,
    ),
)


def consumer_options(settings: HueySettings, flags: Mapping[str, Any]) -> dict[str, Any]:
    """Keyword arguments for ``create_consumer``: ``settings.HUEY['consumer']``
    overridden by every flag given on the command line (``flags`` holds None
    for the others). Raises ``HueySettingError`` naming a bad value."""
    options = dict(settings.consumer)
    for flag in FLAGS:
        value = flags.get(flag.dest)
        if flag.option is None or value is None:
            continue
        options[flag.option] = flag.const if flag.type is None else value
    validate_consumer_options(options, 'run_huey')
    return options


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


def configure_logging(settings: HueySettings, flags: Mapping[str, Any]) -> None:
    """Log like the ``huey_consumer`` script unless Django's ``LOGGING`` already
    routes huey's loggers (or the root logger) somewhere: then keep it, only
    applying ``-V`` / ``-q``. A log file (flag or setting) always gets the
    consumer's format."""
    from huey_consumer import configure_logging as configure_consumer_logging

    def pick(name: str) -> Any:
        value = flags.get(name)
        return settings.logging.get(name) if value is None else value

    verbose, quiet, logfile, simple = (
        pick('verbose'),
        pick('quiet'),
        pick('logfile'),
        pick('simple'),
    )
    configured = logging.getLogger().handlers or any(
        logging.getLogger(name).handlers for name in HUEY_LOGGERS
    )
    if logfile or not configured:
        configure_consumer_logging(bool(verbose), bool(quiet), logfile, bool(simple))
        return
    if verbose or quiet:
        for name in HUEY_LOGGERS:
            logging.getLogger(name).setLevel(logging.DEBUG if verbose else logging.WARNING)
