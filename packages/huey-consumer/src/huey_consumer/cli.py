"""The ``huey_consumer`` / ``huey_consumer.py`` console scripts.

Only ``sys`` is imported at module level: with ``-k greenlet`` gevent must
monkey-patch the standard library before anything else is imported.
"""

from __future__ import annotations

import sys

__all__ = ['main', 'wants_greenlet']


def wants_greenlet(argv: list[str]) -> bool:
    """True if the command line asks for greenlet workers."""
    for index, arg in enumerate(argv):
        if arg in ('-k', '--worker-type') and argv[index + 1 : index + 2] == ['greenlet']:
            return True
        if arg in ('-kgreenlet', '--worker-type=greenlet'):
            return True
    return False


def _configured_options(settings: dict, args, options: dict) -> dict:
    """Options from a configuration class (see ``loading.CONFIGURATION_HOOK``):
    its settings fill in what the command line left at the default."""
    import logging

    from .logs import configure_logging
    from .options import consumer_options, parse_args

    defaults = consumer_options(parse_args([args.huey]))
    settings = dict(settings)
    logfile, level = settings.pop('logfile', None), settings.pop('loglevel', None)
    if logfile and not args.logfile:
        configure_logging(args.verbose, args.quiet, logfile, args.simple)
    if level is not None and not (args.verbose or args.quiet):
        logging.getLogger().setLevel(level)
    merged = dict(options)
    for name, value in settings.items():
        if name in defaults and merged.get(name) == defaults[name]:
            merged[name] = value
    return merged


def main(argv: list[str] | None = None) -> int:
    """Run a consumer from the command line; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if wants_greenlet(args_list):
        try:
            from gevent import monkey
        except ImportError:
            sys.stderr.write(
                'huey_consumer: error: greenlet workers need gevent: '
                'pip install huey-consumer[gevent]\n'
            )
            return 2
        monkey.patch_all()

    import logging
    import os

    from .consumer import Consumer
    from .loading import HueyImportError, load_huey
    from .logs import TaskEventLogger, configure_logging
    from .options import consumer_options, parse_args

    args = parse_args(args_list)
    try:
        configure_logging(args.verbose, args.quiet, args.logfile, args.simple)
    except OSError as exc:
        sys.stderr.write(f'huey_consumer: error: cannot open log file {args.logfile!r}: {exc}\n')
        return 2
    try:
        huey = load_huey(args.huey)
    except HueyImportError as exc:
        sys.stderr.write(f'huey_consumer: error: {exc}\n')
        return 2
    options = consumer_options(args)
    if getattr(huey, 'consumer_settings', None):
        options = _configured_options(huey.consumer_settings, args, options)
    try:
        consumer = Consumer(huey, **options)
    except (TypeError, ValueError) as exc:
        sys.stderr.write(f'huey_consumer: error: {exc}\n')
        return 2
    task_logger = TaskEventLogger()
    task_logger.install(huey)
    try:
        consumer.run()
    except ValueError as exc:
        sys.stderr.write(f'huey_consumer: error: {exc}\n')
        return 2
    finally:
        task_logger.uninstall()
    if consumer.restart_requested:
        logging.getLogger(__name__).info('restarting: %s', ' '.join(sys.argv))
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os.execv(sys.executable, [sys.executable] + sys.argv)
    if consumer.abandoned_tasks:
        # interrupted tasks still run in abandoned threads: do not wait for them
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)
    return 0
