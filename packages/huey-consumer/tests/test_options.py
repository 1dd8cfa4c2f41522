"""Command-line options: every flag, the settings it makes, and bad values."""

from __future__ import annotations

import pytest
from huey_consumer.cli import main, wants_greenlet
from huey_consumer.config import MAX_WORKERS, ConsumerConfig
from huey_consumer.options import OptionParserHandler, build_parser, parse_args


def config_for(argv: list[str]) -> ConsumerConfig:
    options, args = parse_args(argv + ['app.huey'])
    assert args == ['app.huey']
    return ConsumerConfig.from_options(options).validate()


def test_no_option_gives_the_default_settings():
    assert config_for([]) == ConsumerConfig()
    assert ConsumerConfig().values == {
        'workers': 1,
        'worker_type': 'thread',
        'initial_delay': 0.1,
        'backoff': 1.15,
        'max_delay': 10.0,
        'check_worker_health': True,
        'health_check_interval': 10.0,
        'scheduler_interval': 1,
        'periodic': True,
        'flush_locks': False,
        'extra_locks': (),
        'max_tasks': None,
        'prefetch': 16,
        'task_timeout': None,
        'shutdown_timeout': None,
        'graceful_signal': 'INT',
    }


@pytest.mark.parametrize(
    'argv, key, expected',
    [
        (['-w', '4'], 'workers', 4),
        (['--workers', '3'], 'workers', 3),
        (['-k', 'process'], 'worker_type', 'process'),
        (['--worker-type', 'greenlet'], 'worker_type', 'greenlet'),
        (['-k', 'gevent'], 'worker_type', 'greenlet'),
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
        (['-L', 'a,b , c'], 'extra_locks', ('a', 'b', 'c')),
        (['-T', '2.5'], 'task_timeout', 2.5),
        (['--task-timeout', '60'], 'task_timeout', 60.0),
        (['--extra-locks', 'reports'], 'extra_locks', ('reports',)),
        (['-s', '10'], 'scheduler_interval', 10),
        (['--scheduler-interval', '60'], 'scheduler_interval', 60),
        (['-t', '2.5'], 'shutdown_timeout', 2.5),
        (['--shutdown-timeout', '30'], 'shutdown_timeout', 30.0),
        (['--shutdown-timeout', '0'], 'shutdown_timeout', 0.0),
        (['-M', '7'], 'max_tasks', 7),
        (['--max-tasks', '100'], 'max_tasks', 100),
        (['--prefetch', '1'], 'prefetch', 1),
        (['--prefetch', '64'], 'prefetch', 64),
        (['-g', 'TERM'], 'graceful_signal', 'TERM'),
        (['--graceful-signal=TERM'], 'graceful_signal', 'TERM'),
    ],
)
def test_consumer_flags(argv, key, expected):
    assert getattr(config_for(argv), key) == expected


def test_huey_option_parser_handler_answers_options_and_args():
    parser = OptionParserHandler().get_option_parser()
    options, args = parser.parse_args(['-t', '2.5', '--graceful-signal=TERM'])
    assert (options.shutdown_timeout, options.graceful_signal, args) == (2.5, 'TERM', [])


@pytest.mark.parametrize(
    'argv, attribute, expected',
    [
        (['-l', '/tmp/x.log'], 'logfile', '/tmp/x.log'),
        (['--logfile', 'c.log'], 'logfile', 'c.log'),
        (['-v'], 'verbose', True),
        (['--verbose'], 'verbose', True),
        (['-q'], 'verbose', False),
        (['--quiet'], 'verbose', False),
        (['-S'], 'simple_log', True),
        (['--simple'], 'simple_log', True),
    ],
)
def test_logging_flags(argv, attribute, expected):
    assert getattr(config_for(argv), attribute) == expected


def test_combined_short_flags():
    config = config_for(['-nfCS', '-w8'])
    assert (
        config.periodic,
        config.flush_locks,
        config.check_worker_health,
        config.simple_log,
        config.workers,
    ) == (False, True, False, True, 8)


@pytest.mark.parametrize(
    'argv, complaint',
    [
        ([], 'missing the import path of the Huey instance'),
        (['-w', '0', 'a.h'], 'workers=0: must be a whole number greater than 0'),
        (['-w', '20000', 'a.h'], 'workers=20000: a consumer runs at most 1024 thread workers'),
        (['-w', '300', '-k', 'process', 'a.h'], 'at most 256 process workers'),
        (['-T', '0', 'a.h'], 'task_timeout=0.0: must be a number greater than 0'),
        (['-w', 'two', 'a.h'], "invalid int value: 'two'"),
        (['-k', 'fiber', 'a.h'], "invalid choice: 'fiber'"),
        (['-d', '0', 'a.h'], 'initial_delay=0.0: must be a number greater than 0'),
        (['-m', '-1', 'a.h'], 'max_delay=-1.0: must be a number greater than 0'),
        (['-b', '0.5', 'a.h'], 'backoff=0.5: must be a number of 1 or more'),
        (['-c', '0', 'a.h'], 'health_check_interval=0.0: must be a number greater than 0'),
        (['-s', '7', 'a.h'], 'scheduler_interval=7: must be a number of seconds that divides'),
        (['-s', '0', 'a.h'], 'scheduler_interval=0'),
        (['--max-tasks', '0', 'a.h'], 'max_tasks=0: must be a whole number greater than 0'),
        (['--prefetch', '0', 'a.h'], 'prefetch=0: must be a whole number greater than 0'),
        (['--prefetch', '1001', 'a.h'], 'prefetch=1001: at most 1000'),
        (['-t', '-2', 'a.h'], 'shutdown_timeout=-2.0: must be a number 0 or more'),
        (['-g', 'HUP', 'a.h'], "invalid choice: 'HUP'"),
        (['-v', '-q', 'a.h'], 'not allowed with argument'),
        (['--bogus', 'a.h'], 'unrecognized arguments: --bogus'),
    ],
)
def test_bad_options_exit_2_with_message(argv, complaint, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
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
        ('-t', '--shutdown-timeout'),
        ('-M', '--max-tasks'),
        ('-g', '--graceful-signal'),
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
        'SIGINT',
        'SIGTERM',
        'SIGHUP',
        '(default: 0.1)',
        '(default: 10.0)',
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
        (['-k', 'gevent', 'app.huey'], True),
        (['-k', 'thread', 'greenlet.huey'], False),
        (['app.huey', '-k'], False),
        (['app.huey'], False),
    ],
)
def test_greenlet_detection_before_parsing(argv, expected):
    assert wants_greenlet(argv) is expected


@pytest.mark.parametrize('worker_type', ['thread', 'process', 'greenlet'])
def test_worker_count_is_bounded_per_worker_type(worker_type):
    limit = MAX_WORKERS[worker_type]
    assert ConsumerConfig(workers=limit, worker_type=worker_type).validate()
    with pytest.raises(ValueError, match=f'at most {limit} {worker_type} workers; run several'):
        ConsumerConfig(workers=limit + 1, worker_type=worker_type).validate()
