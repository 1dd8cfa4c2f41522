"""``huey_admin APP.huey COMMAND``: look at and steer a queue from the terminal.

Tables for people, ``--json`` for scripts. Exit status: 0 done, 1 the named
item (task, result, dead letter) does not exist, 2 bad usage or the
application cannot be loaded, 3 the storage failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Callable

from . import admin
from .loading import AppLoadError, load_app
from .monitor import monitor_for

__all__ = ['EXIT_NOT_FOUND', 'EXIT_OK', 'EXIT_STORAGE', 'EXIT_USAGE', 'main']

EXIT_OK = 0
EXIT_NOT_FOUND = 1
EXIT_USAGE = 2
EXIT_STORAGE = 3


class _Outcome:
    """What a command produced: data to print and an exit status."""

    def __init__(self, data: Any, status: int = EXIT_OK, message: str | None = None) -> None:
        self.data = data
        self.status = status
        self.message = message


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog='huey_admin',
        description='Look at and steer a huey queue.',
        epilog='exit status: 0 done, 1 not found, 2 bad usage or app, 3 storage error',
    )
    parser.add_argument('app', metavar='APP', help='import path of the Huey, e.g. myapp.tasks.huey')
    parser.add_argument('--json', action='store_true', help='print JSON instead of tables')
    # --json is accepted after the command too (huey_admin app status --json)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        '--json', action='store_true', default=argparse.SUPPRESS, help=argparse.SUPPRESS
    )
    subparsers = parser.add_subparsers(dest='command', metavar='COMMAND', required=True)

    def command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        return subparsers.add_parser(name, parents=[common], **kwargs)

    status = command('status', help='queue sizes, consumers, throughput, error rate')
    status.add_argument('--minutes', type=int, default=5, help='window for rates (default 5)')
    for name, text in (
        ('pending', 'tasks waiting in the queue'),
        ('scheduled', 'tasks waiting for their eta'),
        ('dead-letters', 'messages set aside, with the reason'),
        ('events', 'the most recent task events'),
    ):
        sub = command(name, help=text)
        sub.add_argument('--limit', type=int, default=None, help='show at most this many')
    results = command('results', help='stored results, or the one of task ID')
    results.add_argument('id', nargs='?', help='a task id')
    results.add_argument('--limit', type=int, default=None, help='show at most this many')
    requeue = command('requeue', help='put dead letter ID (or --all) back in the queue')
    which = requeue.add_mutually_exclusive_group(required=True)
    which.add_argument('id', nargs='?', help='a dead letter id')
    which.add_argument('--all', action='store_true', help='every dead letter')
    for name, text in (
        ('delete', 'delete dead letter ID'),
        ('revoke', 'revoke task ID: it will not run'),
        ('restore', 'undo the revocation of task ID'),
    ):
        command(name, help=text).add_argument('id', help='the id')
    command('periodic', help='periodic tasks with their schedule and next run')
    command('consumers', help='consumers with their heartbeats and tasks in flight')
    flush = command('flush', help='delete everything the queue stores')
    flush.add_argument('--yes', action='store_true', help='confirm: nothing can be recovered')
    serve = command('serve', help='run the web dashboard')
    serve.add_argument('--host', default='127.0.0.1', help='address to bind (default 127.0.0.1)')
    serve.add_argument('--port', type=int, default=8000, help='port (default 8000)')
    serve.add_argument(
        '--token',
        default=None,
        help='require this token (default: $HUEY_MONITOR_TOKEN); asked once, kept in a cookie',
    )
    return parser


# -- commands ----------------------------------------------------------------


def _status(huey: Any, args: argparse.Namespace) -> _Outcome:
    return _Outcome(monitor_for(huey).status(args.minutes))


def _listing(function: Callable) -> Callable:
    def command(huey: Any, args: argparse.Namespace) -> _Outcome:
        return _Outcome(function(huey, args.limit))

    return command


def _events(huey: Any, args: argparse.Namespace) -> _Outcome:
    events = monitor_for(huey).events(limit=args.limit or 50)
    rows = []
    for event in events:
        row = event.as_dict()
        row['ts'] = admin.iso_time(event.ts)
        rows.append(row)
    return _Outcome(rows)


def _results(huey: Any, args: argparse.Namespace) -> _Outcome:
    if args.id is None:
        return _Outcome(admin.results(huey, args.limit))
    found = admin.result(huey, args.id)
    if found is None:
        return _Outcome(None, EXIT_NOT_FOUND, f'no result stored for task {args.id!r}')
    return _Outcome(found)


def _requeue(huey: Any, args: argparse.Namespace) -> _Outcome:
    if args.all:
        count = admin.requeue_all(huey)
        return _Outcome({'requeued': count}, message=f'requeued {count} dead letters')
    if not admin.requeue_dead_letter(huey, args.id):
        return _Outcome(None, EXIT_NOT_FOUND, f'no dead letter with id {args.id!r}')
    return _Outcome({'requeued': 1, 'id': args.id}, message=f'requeued dead letter {args.id}')


def _action(function: Callable, done: str, missing: str) -> Callable:
    def command(huey: Any, args: argparse.Namespace) -> _Outcome:
        if not function(huey, args.id):
            return _Outcome(None, EXIT_NOT_FOUND, missing.format(id=args.id))
        return _Outcome({'id': args.id, 'done': True}, message=done.format(id=args.id))

    return command


def _periodic(huey: Any, args: argparse.Namespace) -> _Outcome:
    return _Outcome(admin.periodic(huey))


def _consumers(huey: Any, args: argparse.Namespace) -> _Outcome:
    rows = []
    for view in monitor_for(huey).consumers():
        row = view.as_dict()
        row['started'] = admin.iso_time(row['started'])
        row['last_seen'] = admin.iso_time(row['last_seen'])
        row['in_flight'] = ', '.join(f'{i["name"]}({i["task_id"]})' for i in row['in_flight'])
        rows.append(row)
    return _Outcome(rows)


def _flush(huey: Any, args: argparse.Namespace) -> _Outcome:
    if not args.yes:
        return _Outcome(None, EXIT_USAGE, 'flush deletes everything the queue stores: add --yes')
    admin.flush(huey)
    return _Outcome({'flushed': True}, message=f'flushed {huey.name!r}')


def _serve(huey: Any, args: argparse.Namespace) -> _Outcome:
    from .web.server import serve

    serve(huey, host=args.host, port=args.port, token=args.token)
    return _Outcome(None)


_COMMANDS: dict[str, Callable] = {
    'status': _status,
    'pending': _listing(admin.pending),
    'scheduled': _listing(admin.scheduled),
    'dead-letters': _listing(admin.dead_letters),
    'events': _events,
    'results': _results,
    'requeue': _requeue,
    'delete': _action(
        admin.delete_dead_letter, 'deleted dead letter {id}', 'no dead letter with id {id!r}'
    ),
    'revoke': _action(admin.revoke, 'revoked task {id}', ''),
    'restore': _action(admin.restore, 'restored task {id}', 'task {id!r} is not revoked'),
    'periodic': _periodic,
    'consumers': _consumers,
    'flush': _flush,
    'serve': _serve,
}


# -- output ------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return '-'
    if isinstance(value, float):
        return f'{value:.4g}'
    return str(value)


def _table(rows: list[dict]) -> str:
    if not rows:
        return '(none)'
    columns = list(rows[0])
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [
        max(len(column), *(len(line[i]) for line in cells)) for i, column in enumerate(columns)
    ]
    lines = ['  '.join(c.upper().ljust(w) for c, w in zip(columns, widths)).rstrip()]
    lines += ['  '.join(v.ljust(w) for v, w in zip(line, widths)).rstrip() for line in cells]
    return '\n'.join(lines)


def _render(outcome: _Outcome, as_json: bool) -> str | None:
    data = outcome.data
    if as_json:
        if outcome.status != EXIT_OK:
            return json.dumps({'error': outcome.message, 'status': outcome.status})
        return json.dumps(data, indent=2, default=str)
    if outcome.message is not None:
        return outcome.message
    if isinstance(data, list):
        return _table(data)
    if isinstance(data, dict):
        width = max(len(key) for key in data)
        return '\n'.join(
            f'{key.replace("_", " ").ljust(width)}  {_cell(v)}' for key, v in data.items()
        )
    return None


def main(argv: list[str] | None = None) -> int:
    """Run one admin command; returns the exit status."""
    args = _parser().parse_args(argv)
    try:
        huey = load_app(args.app)
    except AppLoadError as exc:
        sys.stderr.write(f'huey_admin: error: {exc}\n')
        return EXIT_USAGE
    try:
        outcome = _COMMANDS[args.command](huey, args)
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception as exc:  # the storage is down, a table is missing...
        sys.stderr.write(f'huey_admin: error: {args.command} failed on {huey!r}: {exc!r}\n')
        return EXIT_STORAGE
    text = _render(outcome, args.json)
    stream = sys.stdout if outcome.status == EXIT_OK or args.json else sys.stderr
    if text is not None:
        stream.write(text + '\n')
    return outcome.status
