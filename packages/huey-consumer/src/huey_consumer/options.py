"""Command-line options of the ``huey_consumer`` script.

The parser only reads the command line: each option's destination is a
``ConsumerConfig`` field and is left None when not given, so defaults and
validation stay in ``ConsumerConfig`` (``ConsumerConfig.from_options``).
"""

from __future__ import annotations

import argparse
from typing import Sequence

from .config import ConsumerConfig
from .constants import GRACEFUL_SIGNALS, WORKER_ALIASES, WORKER_TYPES

__all__ = [
    'ConsumerOptionParser',
    'OptionParserHandler',
    'add_consumer_options',
    'build_parser',
    'parse_args',
]

DESCRIPTION = """\
Run the huey consumer: execute the tasks of the Huey instance at HUEY (an
import path such as myapp.huey or myapp.tasks.huey; the current directory is
on the import path).

Signals: SIGINT stops gracefully (tasks in flight finish, for at most
--shutdown-timeout seconds; a second SIGINT interrupts them), SIGTERM stops
promptly (tasks in flight are interrupted and their messages returned to the
queue); -g TERM swaps the two. SIGHUP restarts gracefully (the script
re-executes itself, reloading code).
"""

_DEFAULTS = ConsumerConfig()


class ConsumerOptionParser(argparse.ArgumentParser):
    """An argparse parser whose ``parse_args`` answers ``(options, args)``:
    the options, and the positional arguments (the Huey import path), the
    shape huey's optparse-based parser returned."""

    def parse_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        options = super().parse_args(args, namespace)
        positional = [options.huey] if options.huey is not None else []
        del options.huey
        return options, positional


def build_parser() -> ConsumerOptionParser:
    parser = ConsumerOptionParser(
        prog='huey_consumer',
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        'huey', metavar='HUEY', nargs='?', help='import path of the Huey instance, e.g. myapp.huey'
    )
    add_consumer_options(parser)
    metrics = parser.add_argument_group('metrics (huey-monitor)')
    metrics.add_argument(
        '--metrics-port',
        type=int,
        metavar='PORT',
        help='serve Prometheus metrics on http://HOST:PORT/metrics (needs huey-monitor)',
    )
    metrics.add_argument(
        '--metrics-host',
        default='127.0.0.1',
        metavar='HOST',
        help='address the metrics server binds (default: 127.0.0.1)',
    )
    return parser


def add_consumer_options(
    parser: argparse.ArgumentParser, verbose_flags: Sequence[str] = ('-v', '--verbose')
) -> None:
    """Add every consumer option to ``parser``, each stored under its
    ``ConsumerConfig`` field name and None when not given. A program whose own
    ``-v`` means something else (Django's ``--verbosity``) passes other
    ``verbose_flags``."""
    workers = parser.add_argument_group('workers')
    workers.add_argument(
        '-w',
        '--workers',
        type=int,
        metavar='N',
        help=f'number of workers (default: {_DEFAULTS.workers})',
    )
    workers.add_argument(
        '-k',
        '--worker-type',
        choices=(*map(str, WORKER_TYPES), *WORKER_ALIASES),
        metavar='{' + ','.join(map(str, WORKER_TYPES)) + '}',
        help='run workers as threads (default), forked processes '
        '(CPU-bound work), gevent greenlets (IO-bound work) or threads '
        'sharing one event loop for async def tasks',
    )
    workers.add_argument(
        '-d',
        '--delay',
        dest='initial_delay',
        type=float,
        metavar='SECONDS',
        help='seconds to wait after an empty read of a non-blocking storage '
        f'(SQLite, memory); grows by --backoff (default: {_DEFAULTS.initial_delay})',
    )
    workers.add_argument(
        '-m',
        '--max-delay',
        type=float,
        metavar='SECONDS',
        help=f'longest wait between empty reads (default: {_DEFAULTS.max_delay})',
    )
    workers.add_argument(
        '-b',
        '--backoff',
        type=float,
        metavar='FACTOR',
        help=f'factor growing the wait after each empty read (default: {_DEFAULTS.backoff})',
    )
    workers.add_argument(
        '-M',
        '--max-tasks',
        type=int,
        metavar='N',
        help='replace a worker after it ran N tasks (default: never)',
    )
    workers.add_argument(
        '--prefetch',
        type=int,
        metavar='N',
        help='a worker leases up to N waiting messages at once and acknowledges '
        'them together (default: 16; 1 disables it)',
    )
    workers.add_argument(
        '-T',
        '--task-timeout',
        type=float,
        metavar='SECONDS',
        help='stop a task running longer than SECONDS with TaskTimeout, unless '
        'it has a timeout of its own (default: no limit)',
    )
    workers.add_argument(
        '-c',
        '--health-check-interval',
        type=float,
        metavar='SECONDS',
        help='seconds between checks that restart dead workers '
        f'(default: {_DEFAULTS.health_check_interval})',
    )
    workers.add_argument(
        '-C',
        '--disable-health-check',
        dest='check_worker_health',
        action='store_false',
        default=None,
        help='do not restart workers that died',
    )

    scheduling = parser.add_argument_group('scheduler')
    scheduling.add_argument(
        '-n',
        '--no-periodic',
        dest='periodic',
        action='store_false',
        default=None,
        help='do not enqueue periodic tasks on this consumer',
    )
    scheduling.add_argument(
        '-s',
        '--scheduler-interval',
        type=int,
        metavar='SECONDS',
        help='seconds between moves of due scheduled tasks to the queue; '
        f'must divide 60 (default: {_DEFAULTS.scheduler_interval})',
    )

    shutdown = parser.add_argument_group('locks and shutdown')
    shutdown.add_argument(
        '-f',
        '--flush-locks',
        action='store_true',
        default=None,
        help='release every task lock at start-up (left by a crash)',
    )
    shutdown.add_argument(
        '-L',
        '--extra-locks',
        metavar='NAMES',
        help='comma-separated lock names to release at start-up too',
    )
    shutdown.add_argument(
        '-t',
        '--shutdown-timeout',
        type=float,
        metavar='SECONDS',
        help='on a graceful shutdown, wait at most SECONDS for the tasks in '
        'flight before interrupting them (default: wait as long as they run)',
    )
    shutdown.add_argument(
        '-g',
        '--graceful-signal',
        choices=GRACEFUL_SIGNALS,
        help='signal that stops gracefully, INT or TERM (default: '
        f'{_DEFAULTS.graceful_signal}); the other one interrupts the tasks in flight',
    )

    logs = parser.add_argument_group('logging')
    logs.add_argument(
        '-l', '--logfile', metavar='FILE', help='write logs to this file instead of stderr'
    )
    verbosity = logs.add_mutually_exclusive_group()
    verbosity.add_argument(
        *verbose_flags, dest='verbose', action='store_true', default=None, help='log debug messages'
    )
    verbosity.add_argument(
        '-q',
        '--quiet',
        dest='verbose',
        action='store_false',
        default=None,
        help='log only warnings and errors',
    )
    logs.add_argument(
        '-S',
        '--simple',
        dest='simple_log',
        action='store_true',
        default=None,
        help='simple log format: time and message only',
    )


def parse_args(argv: Sequence[str] | None = None) -> tuple[argparse.Namespace, list[str]]:
    """Parse the command line: ``(options, [huey import path])``; exits with
    status 2 and a message on malformed options."""
    return build_parser().parse_args(argv)


class OptionParserHandler:
    """huey's entry point to the command-line parser."""

    def get_option_parser(self) -> ConsumerOptionParser:
        return build_parser()
