"""The ``huey_consumer`` / ``huey_consumer.py`` console scripts.

Only ``sys`` is imported at module level: with ``-k greenlet`` gevent must
monkey-patch the standard library before anything else is imported.
"""

from __future__ import annotations

import sys

__all__ = ['main', 'wants_greenlet']


def wants_greenlet(argv: list[str]) -> bool:
    """True if the command line asks for greenlet workers."""
    from .constants import WORKER_ALIASES, WorkerType

    names = {WorkerType.GREENLET.value, *WORKER_ALIASES}
    for index, arg in enumerate(argv):
        if arg in ('-k', '--worker-type') and argv[index + 1 : index + 2] in [[n] for n in names]:
            return True
        for name in names:
            if arg in (f'-k{name}', f'--worker-type={name}'):
                return True
    return False


def _with_class_settings(options, settings: dict):
    """The consumer settings when the import path named a configuration class
    (``loading.CONFIGURATION_HOOK``): its ``settings`` fill in what the
    command line left unset."""
    from .config import ConsumerConfig

    given = {name: value for name, value in vars(options).items() if value is not None}
    return ConsumerConfig.from_options({**settings, **given}).validate()


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

    from .config import ConsumerConfig
    from .consumer import Consumer
    from .loading import HueyImportError, load_huey
    from .logs import TaskEventLogger
    from .options import build_parser

    parser = build_parser()
    options, args = parser.parse_args(args_list)
    if not args:
        parser.error('missing the import path of the Huey instance, for example myapp.huey')
    try:
        config = ConsumerConfig.from_options(options).validate()
    except ValueError as exc:
        parser.error(str(exc))
    try:
        config.setup_logger()
    except OSError as exc:
        sys.stderr.write(f'huey_consumer: error: cannot open log file {config.logfile!r}: {exc}\n')
        return 2
    try:
        huey = load_huey(args[0])
    except HueyImportError as exc:
        sys.stderr.write(f'huey_consumer: error: {exc}\n')
        return 2
    settings = getattr(huey, 'consumer_settings', None)
    if settings:
        try:
            config = _with_class_settings(options, settings)
            config.setup_logger()
        except (ValueError, OSError) as exc:
            sys.stderr.write(f'huey_consumer: error: {exc}\n')
            return 2
    consumer = Consumer(huey, config)
    if options.metrics_port is not None:
        try:
            from huey_monitor.metrics import serve_metrics
        except ImportError:
            sys.stderr.write(
                'huey_consumer: error: --metrics-port needs the huey-monitor distribution: '
                'pip install huey-monitor\n'
            )
            return 2
        try:
            serve_metrics(huey, options.metrics_port, options.metrics_host)
        except (OSError, ValueError) as exc:
            sys.stderr.write(f'huey_consumer: error: --metrics-port: {exc}\n')
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
        logging.getLogger('huey.consumer').info('restarting: %s', ' '.join(sys.argv))
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
