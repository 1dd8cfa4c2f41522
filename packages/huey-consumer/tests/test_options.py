"""Command-line options: every flag, its default, and bad values."""

from __future__ import annotations

import pytest
from huey_consumer.cli import wants_greenlet
from huey_consumer.options import build_parser, consumer_options, parse_args


def test_defaults_match_huey():
    options = consumer_options(parse_args(['app.huey']))
    assert options == {
        'workers': 1,
        'worker_type': 'thread',
        'periodic': True,
        'initial_delay': 0.1,
        'max_delay': 10.0,
        'backoff': 1.15,
        'scheduler_interval': 1,
        'check_worker_health': True,
        'health_check_interval': 10.0,
        'flush_locks': False,
        'extra_locks': None,
        'max_tasks_per_worker': None,
        'shutdown_timeout': None,
        'lease_timeout': None,
        'max_deliveries': None,
    }
    args = parse_args(['app.huey'])
    assert args.huey == 'app.huey'
    assert (args.logfile, args.verbose, args.quiet, args.simple) == (None, False, False, False)


@pytest.mark.parametrize(
    'argv, key, expected',
    [
        (['-w', '4'], 'workers', 4),
        (['--workers', '3'], 'workers', 3),
        (['-k', 'process'], 'worker_type', 'process'),
        (['--worker-type', 'greenlet'], 'worker_type', 'greenlet'),
        (['-n'], 'periodic', False),
        (['--no-periodic'], 'periodic', False),
        (['-d', '0.5'], 'initial_delay', 0.5),
        (['--delay', '2'], 'initial_delay', 2.0),
        (['-m', '30'], 'max_delay', 30.0),
        (['--max-delay', '1.5'], 'max_delay', 1.5),
        (['-b', '2'], 'backoff', 2.0),
        (['--backoff', '1'], 'backoff', 1.0),
        (['-c', '5'], 'health_check_interval', 5.0),
        (['--health-check-interval', '0.5'], 'health_check_interval', 0.5),
        (['-C'], 'check_worker_health', False),
        (['--disable-health-check'], 'check_worker_health', False),
        (['-f'], 'flush_locks', True),
        (['--flush-locks'], 'flush_locks', True),
        (['-L', 'a,b , c'], 'extra_locks', ['a', 'b', 'c']),
        (['--extra-locks', 'reports'], 'extra_locks', ['reports']),
        (['-s', '10'], 'scheduler_interval', 10),
        (['--scheduler-interval', '60'], 'scheduler_interval', 60),
        (['--shutdown-timeout', '30'], 'shutdown_timeout', 30.0),
        (['--shutdown-timeout', '0'], 'shutdown_timeout', 0.0),
        (['--max-tasks', '100'], 'max_tasks_per_worker', 100),
        (['--lease-timeout', '2.5'], 'lease_timeout', 2.5),
        (['--max-deliveries', '3'], 'max_deliveries', 3),
    ],
)
def test_consumer_flags(argv, key, expected):
    assert consumer_options(parse_args(argv + ['app.huey']))[key] == expected


@pytest.mark.parametrize(
    'argv, attribute, expected',
    [
        (['-l', '/tmp/x.log'], 'logfile', '/tmp/x.log'),
        (['--logfile', 'c.log'], 'logfile', 'c.log'),
        (['-v'], 'verbose', True),
        (['--verbose'], 'verbose', True),
        (['-q'], 'quiet', True),
        (['--quiet'], 'quiet', True),
        (['-S'], 'simple', True),
        (['--simple'], 'simple', True),
    ],
)
def test_logging_flags(argv, attribute, expected):
    assert getattr(parse_args(argv + ['app.huey']), attribute) == expected


def test_combined_short_flags():
    args = parse_args(['-nfCS', '-w8', 'app.huey'])
    assert (
        args.no_periodic,
        args.flush_locks,
        args.disable_health_check,
        args.simple,
        args.workers,
    ) == (True, True, True, True, 8)


@pytest.mark.parametrize(
    'argv, complaint',
    [
        ([], 'HUEY'),
        (['-w', '0', 'a.h'], "'0' must be at least 1"),
        (['-w', 'two', 'a.h'], "'two' is not a whole number"),
        (['-k', 'fiber', 'a.h'], "invalid choice: 'fiber'"),
        (['-d', '0', 'a.h'], "'0' must be greater than 0"),
        (['-m', '-1', 'a.h'], "'-1' must be greater than 0"),
        (['-b', '0.5', 'a.h'], "'0.5' must be at least 1"),
        (['-c', '0', 'a.h'], "'0' must be greater than 0"),
        (['-s', '7', 'a.h'], "'7' must divide a minute"),
        (['-s', '0', 'a.h'], "'0' must be at least 1"),
        (['--max-tasks', '0', 'a.h'], "'0' must be at least 1"),
        (['--shutdown-timeout', '-2', 'a.h'], "'-2' must be at least 0"),
        (['--lease-timeout', '0', 'a.h'], "'0' must be greater than 0"),
        (['-v', '-q', 'a.h'], 'not allowed with argument'),
        (['--bogus', 'a.h'], 'unrecognized arguments: --bogus'),
    ],
)
def test_bad_options_exit_2_with_message(argv, complaint, capsys):
    with pytest.raises(SystemExit) as info:
        parse_args(argv)
    assert info.value.code == 2
    assert complaint in capsys.readouterr().err


def test_help_explains_every_option():
    text = build_parser().format_help()
    lines = text.splitlines()
    pairs = [
        ('-w', '--workers'),
        ('-k', '--worker-type'),
        ('-n', '--no-periodic'),
        ('-d', '--delay'),
        ('-m', '--max-delay'),
        ('-b', '--backoff'),
        ('-c', '--health-check-interval'),
        ('-C', '--disable-health-check'),
        ('-f', '--flush-locks'),
        ('-L', '--extra-locks'),
        ('-s', '--scheduler-interval'),
        ('-l', '--logfile'),
        ('-v', '--verbose'),
        ('-q', '--quiet'),
        ('-S', '--simple'),
    ]
    for short, long in pairs:
        assert any(
            line.lstrip().startswith(short + ' ') or line.lstrip().startswith(short + ',')
            for line in lines
            if long in line
        ), (short, long)
    for flag in (
        '--shutdown-timeout',
        '--max-tasks',
        '--lease-timeout',
        '--max-deliveries',
        'SIGINT',
        'SIGTERM',
        'SIGHUP',
        '(default: 0.1)',
        '(default: 10)',
        '(default: 1.15)',
    ):
        assert flag in ' '.join(text.split()), flag


@pytest.mark.parametrize(
    'argv, expected',
    [
        (['app.huey', '-k', 'greenlet'], True),
        (['--worker-type', 'greenlet', 'app.huey'], True),
        (['-kgreenlet', 'app.huey'], True),
        (['--worker-type=greenlet', 'app.huey'], True),
        (['-k', 'thread', 'greenlet.huey'], False),
        (['app.huey', '-k'], False),
        (['app.huey'], False),
    ],
)
def test_greenlet_detection_before_parsing(argv, expected):
    assert wants_greenlet(argv) is expected
