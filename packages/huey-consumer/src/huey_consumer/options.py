"""Command-line options of the ``huey_consumer`` script."""

from __future__ import annotations

import argparse
from typing import Any, Sequence

__all__ = ['build_parser', 'consumer_options', 'parse_args']

_VALID_INTERVALS = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)

DESCRIPTION = """\
Run the huey consumer: execute the tasks of the Huey instance at HUEY (an
import path such as myapp.huey or myapp.tasks.huey; the current directory is
on the import path).

Signals: SIGINT stops gracefully (tasks in flight finish; a second SIGINT
interrupts them), SIGTERM stops promptly (tasks in flight are interrupted and
their messages returned to the queue, after --shutdown-timeout seconds),
SIGHUP restarts gracefully (the script re-executes itself, reloading code).
"""


def _number(kind: type, minimum: float, inclusive: bool = True):
    def convert(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                '{!r} is not a {}'.format(text, 'whole number' if kind is int else 'number')
            ) from None
        if value < minimum or (value == minimum and not inclusive):
            raise argparse.ArgumentTypeError(
                '{!r} must be {} {}'.format(
                    text, 'at least' if inclusive else 'greater than', minimum
                )
            )
        return value

    return convert


def _interval(text: str) -> int:
    value = _number(int, 1)(text)
    if value not in _VALID_INTERVALS:
        raise argparse.ArgumentTypeError(
            '{!r} must divide a minute: one of {}'.format(
                text, ', '.join(map(str, _VALID_INTERVALS))
            )
        )
    return value


def _lock_names(text: str) -> list[str]:
    return [name.strip() for name in text.split(',') if name.strip()]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='huey_consumer',
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        'huey', metavar='HUEY', help='import path of the Huey instance, e.g. myapp.huey'
    )

    workers = parser.add_argument_group('workers')
    workers.add_argument(
        '-w',
        '--workers',
        type=_number(int, 1),
        default=1,
        metavar='N',
        help='number of workers (default: 1)',
    )
    workers.add_argument(
        '-k',
        '--worker-type',
        choices=('thread', 'process', 'greenlet'),
        default='thread',
        metavar='{thread,process,greenlet}',
        help='run workers as threads (default), forked processes '
        '(CPU-bound work) or gevent greenlets (IO-bound work)',
    )
    workers.add_argument(
        '-d',
        '--delay',
        type=_number(float, 0, inclusive=False),
        default=0.1,
        metavar='SECONDS',
        help='seconds to wait after an empty read of a non-blocking storage '
        '(SQLite, memory); grows by --backoff (default: 0.1)',
    )
    workers.add_argument(
        '-m',
        '--max-delay',
        type=_number(float, 0, inclusive=False),
        default=10.0,
        metavar='SECONDS',
        help='longest wait between empty reads (default: 10)',
    )
    workers.add_argument(
        '-b',
        '--backoff',
        type=_number(float, 1),
        default=1.15,
        metavar='FACTOR',
        help='factor growing the wait after each empty read (default: 1.15)',
    )
    workers.add_argument(
        '--max-tasks',
        type=_number(int, 1),
        default=None,
        metavar='N',
        help='replace a worker after it ran N tasks (default: never)',
    )
    workers.add_argument(
        '-c',
        '--health-check-interval',
        type=_number(float, 0, False),
        default=10.0,
        metavar='SECONDS',
        help='seconds between checks that restart dead workers (default: 10)',
    )
    workers.add_argument(
        '-C', '--disable-health-check', action='store_true', help='do not restart workers that died'
    )

    scheduling = parser.add_argument_group('scheduler')
    scheduling.add_argument(
        '-n',
        '--no-periodic',
        action='store_true',
        help='do not enqueue periodic tasks on this consumer',
    )
    scheduling.add_argument(
        '-s',
        '--scheduler-interval',
        type=_interval,
        default=1,
        metavar='SECONDS',
        help='seconds between moves of due scheduled tasks to the queue; '
        'must divide 60 (default: 1)',
    )

    delivery = parser.add_argument_group('delivery, locks and shutdown')
    delivery.add_argument(
        '--lease-timeout',
        type=_number(float, 0, False),
        default=None,
        metavar='SECONDS',
        help="override the Huey instance's lease_timeout: how long a "
        "crashed worker's message stays invisible before it is "
        'delivered again (heartbeat every third of it)',
    )
    delivery.add_argument(
        '--max-deliveries',
        type=_number(int, 1),
        default=None,
        metavar='N',
        help="override the Huey instance's max_deliveries: a message "
        'delivered more often goes to the dead letters',
    )
    delivery.add_argument(
        '-f',
        '--flush-locks',
        action='store_true',
        help='release every task lock at start-up (left by a crash)',
    )
    delivery.add_argument(
        '-L',
        '--extra-locks',
        type=_lock_names,
        default=None,
        metavar='NAMES',
        help='comma-separated lock names to release at start-up too',
    )
    delivery.add_argument(
        '--shutdown-timeout',
        type=_number(float, 0),
        default=None,
        metavar='SECONDS',
        help='on SIGTERM, wait up to SECONDS for tasks in flight before '
        'interrupting them (default: interrupt at once)',
    )

    logs = parser.add_argument_group('logging')
    logs.add_argument(
        '-l',
        '--logfile',
        default=None,
        metavar='FILE',
        help='write logs to this file instead of stderr',
    )
    verbosity = logs.add_mutually_exclusive_group()
    verbosity.add_argument('-v', '--verbose', action='store_true', help='log debug messages')
    verbosity.add_argument(
        '-q', '--quiet', action='store_true', help='log only warnings and errors'
    )
    logs.add_argument(
        '-S', '--simple', action='store_true', help='simple log format: time and message only'
    )
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line (exits with status 2 and a message on bad options)."""
    return build_parser().parse_args(argv)


def consumer_options(args: argparse.Namespace) -> dict[str, Any]:
    """Keyword arguments for ``Consumer`` from parsed options."""
    return {
        'workers': args.workers,
        'worker_type': args.worker_type,
        'periodic': not args.no_periodic,
        'initial_delay': args.delay,
        'max_delay': args.max_delay,
        'backoff': args.backoff,
        'scheduler_interval': args.scheduler_interval,
        'check_worker_health': not args.disable_health_check,
        'health_check_interval': args.health_check_interval,
        'flush_locks': args.flush_locks,
        'extra_locks': args.extra_locks,
        'max_tasks_per_worker': args.max_tasks,
        'shutdown_timeout': args.shutdown_timeout,
        'lease_timeout': args.lease_timeout,
        'max_deliveries': args.max_deliveries,
    }
