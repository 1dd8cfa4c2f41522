"""The script's logging configuration and the task event log lines."""

from __future__ import annotations

import io
import logging
import os
import threading
import time

import pytest
from huey_api import signals as S
from huey_api.exceptions import CancelExecution, RetryTask, TaskLockedException
from huey_consumer import logs
from huey_consumer.logs import (
    DEFAULT_FORMAT,
    SIMPLE_FORMAT,
    BatchedFileHandler,
    Formatter,
    TaskEventLogger,
    configure_logging,
)


@pytest.fixture
def root():
    logger = logging.getLogger()
    handlers, level = list(logger.handlers), logger.level
    yield logger
    for handler in list(logger.handlers):
        if handler not in handlers:
            logger.removeHandler(handler)
            handler.close()
    logger.setLevel(level)


@pytest.mark.parametrize(
    'verbose, quiet, level',
    [(False, False, logging.INFO), (True, False, logging.DEBUG), (False, True, logging.WARNING)],
)
def test_levels(root, verbose, quiet, level):
    configure_logging(verbose=verbose, quiet=quiet)
    assert root.level == level


def test_formats_and_single_handler(root):
    first = configure_logging()
    assert first.formatter._fmt == DEFAULT_FORMAT
    assert '%(processName)s' in DEFAULT_FORMAT and '%(threadName)s' in DEFAULT_FORMAT
    second = configure_logging(simple=True)
    assert second.formatter._fmt == SIMPLE_FORMAT
    assert first not in root.handlers and second in root.handlers


def test_logfile(root, tmp_path):
    path = tmp_path / 'consumer.log'
    handler = configure_logging(logfile=str(path))
    logging.getLogger('huey_consumer.test').warning('hello %s', 'file')
    handler.flush()
    text = path.read_text()
    assert 'WARNING MainProcess:MainThread huey_consumer.test: hello file' in text


def test_task_events_are_logged_with_duration(huey, caplog):
    @huey.task(retries=1)
    def fails():
        raise ValueError('nope')

    @huey.task()
    def works():
        return 1

    events = TaskEventLogger()
    events.install(huey)
    try:
        with caplog.at_level(logging.INFO, logger='huey.consumer.tasks'):
            fails()
            huey.execute_delivery(huey.reserve())  # fails, retried at once
            huey.execute_delivery(huey.reserve())  # fails, no retries left
            works()
            huey.execute_delivery(huey.reserve())
    finally:
        events.uninstall()
    messages = [r.getMessage() for r in caplog.records if r.name == 'huey.consumer.tasks']
    assert len(messages) == 7, messages
    assert messages[0].startswith('executing ') and '.fails: ' in messages[0]
    assert ' failed in ' in messages[1] and messages[1].endswith('ValueError: nope')
    assert 'will be retried (0 retries left)' in messages[2]
    assert ' failed in ' in messages[4]
    assert '.works: ' in messages[5]
    assert ' finished in ' in messages[6] and messages[6].endswith('s')
    assert not huey._signals.wanted  # uninstall disconnected the receivers


@pytest.fixture
def batched(tmp_path):
    """``batched(name, interval, fmt)`` -> (log file path, handler, logger): a
    logger of its own writing through a BatchedFileHandler; removed afterwards."""
    made = []

    def make(name, interval=3600.0, fmt='%(levelname)s %(message)s'):
        path = tmp_path / f'{name}.log'
        handler = BatchedFileHandler(str(path), interval=interval)
        handler.setFormatter(logging.Formatter(fmt))
        log = logging.getLogger(f'huey_consumer.test.{name}')
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
        made.append((log, handler))
        return path, handler, log

    yield make
    for log, handler in made:
        log.removeHandler(handler)
        handler.close()


def _wait_for(predicate, timeout=10.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, 'condition not met in time'
        time.sleep(0.01)


def test_lines_are_written_in_batches_and_warnings_at_once(batched):
    path, handler, log = batched('batched')  # the writer thread never fires here
    log.info('first')
    log.info('second')
    assert path.read_text() == ''  # buffered
    log.warning('third')  # written at once, after what came before it
    assert path.read_text() == 'INFO first\nINFO second\nWARNING third\n'
    log.info('fourth')
    handler.flush()
    assert path.read_text().endswith('WARNING third\nINFO fourth\n')


def test_the_writer_thread_writes_within_its_interval(batched):
    path, _, log = batched('interval', interval=0.05)
    log.info('soon')
    _wait_for(lambda: 'soon' in path.read_text())


def test_a_rotated_log_file_is_reopened(batched, tmp_path):
    path, _, log = batched('rotated')
    log.warning('before')
    os.rename(path, tmp_path / 'rotated.log.1')
    log.warning('after')
    assert 'before' in (tmp_path / 'rotated.log.1').read_text()
    assert 'after' in path.read_text() and 'before' not in path.read_text()


@pytest.mark.skipif(not hasattr(os, 'fork'), reason='needs os.fork')
def test_a_forked_child_writes_its_own_lines_once(batched):
    path, handler, log = batched('fork', interval=0.05, fmt='%(process)d %(message)s')
    log.info('parent pending')  # buffered in the parent at the fork
    pid = os.fork()
    if pid == 0:  # the child: its own writer thread writes its line
        try:
            log.info('child line')
            deadline = time.monotonic() + 10
            while 'child line' not in path.read_text() and time.monotonic() < deadline:
                time.sleep(0.01)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    handler.flush()
    lines = path.read_text().splitlines()
    assert lines.count(f'{os.getpid()} parent pending') == 1
    assert lines.count(f'{pid} child line') == 1
    assert not any(line.startswith(f'{pid} parent') for line in lines)


@pytest.mark.parametrize('datefmt', [None, '%H:%M:%S'])
def test_cached_time_formats_as_logging_does(datefmt):
    ours, stdlib = Formatter('%(asctime)s', datefmt), logging.Formatter('%(asctime)s', datefmt)
    for created in (1_700_000_000.123, 1_700_000_000.987, 1_700_000_001.5, 1_700_000_000.001):
        record = logging.makeLogRecord({'created': created, 'msecs': (created % 1) * 1000})
        assert ours.format(record) == stdlib.format(record)


def _record(msg, args, created, thread_name):
    record = logging.makeLogRecord(
        {
            'name': 'huey.consumer.tasks',
            'levelno': logging.INFO,
            'levelname': 'INFO',
            'msg': msg,
            'args': args,
            'created': created,
            'msecs': int((created % 1) * 1000),
        }
    )
    record.threadName = thread_name
    return record


@pytest.mark.parametrize(
    'fmt, datefmt',
    [
        (DEFAULT_FORMAT, None),
        (SIMPLE_FORMAT, '%H:%M:%S'),
        ('%(message)s | 100%% %(threadName)s at %(asctime)s', None),
        ('%(levelname)-8s %(module)s %(message)s', None),  # made from records
    ],
)
def test_queued_events_make_the_lines_of_their_records(fmt, datefmt):
    ours, stdlib = Formatter(fmt, datefmt), logging.Formatter(fmt, datefmt)
    messages = [
        ('executing %s', ('tasks.add: 1',)),
        ('%s finished in %.3fs', ('id-1', 0.25)),
        ('50%% done', ()),
    ]
    entries, expected = ['a line already made\n'], ['a line already made\n']
    made = []

    def in_a_named_thread():
        thread = threading.current_thread()
        for created in (1_700_000_000.123, 1_700_000_000.9999, 1_700_000_001.5):
            for msg, args in messages:
                entries.append((created, thread.ident, 'INFO', 'huey.consumer.tasks', msg, args))
                expected.append(stdlib.format(_record(msg, args, created, thread.name)) + '\n')
            # completions (Huey.add_completion_feed): the finished line, with
            # its duration when the start is known
            for started, msg, args in (
                (created - 0.25, '%s: %s finished in %.3fs', ('tasks.add', 'id-2', 0.25)),
                (None, '%s: %s finished', ('tasks.add', 'id-3')),
            ):
                entries.append((created, started, thread.ident, 'tasks.add', args[1]))
                expected.append(stdlib.format(_record(msg, args, created, thread.name)) + '\n')
        made.append(ours.fill(entries))  # in the thread: its name is looked up while it runs

    thread = threading.Thread(target=in_a_named_thread, name='Worker-3 (50%)')
    thread.start()
    thread.join()
    lines = made[0].splitlines(keepends=True)
    assert lines == expected
    assert 'Worker-3 (50%)' in lines[1] or '%(threadName)s' not in fmt
    assert '50%% done' in lines[3]  # logging leaves a message without arguments alone


def test_only_plain_fields_of_a_record_s_names_time_and_message_are_filled_in():
    assert Formatter(DEFAULT_FORMAT).makes_lines
    assert Formatter(SIMPLE_FORMAT, '%H:%M:%S').makes_lines
    assert not Formatter('%(levelname)s %(module)s %(message)s').makes_lines
    assert not Formatter('%(levelname)-8s %(message)s').makes_lines
    assert not Formatter('%(asctime)s %(asctime)s %(message)s').makes_lines
    assert not Formatter('{message}', style='{').makes_lines


def test_events_queued_under_another_formatter_are_formatted_as_records(root):
    handler = configure_logging()
    handler.stream = io.StringIO()
    handler.queue_event((1_700_000_000.5, threading.get_ident(), 'INFO', 'x', 'n=%d', (3,)))
    handler.queue_event((1_700_000_000.5, 1_700_000_000.0, threading.get_ident(), 't', 'id-1'))
    handler.setFormatter(logging.Formatter('%(threadName)s|%(name)s|%(message)s'))
    handler.flush()
    assert handler.stream.getvalue() == (
        'MainThread|x|n=3\nMainThread|huey.consumer.tasks|t: id-1 finished in 0.500s\n'
    )


@pytest.fixture
def top():
    """The task lines' logger, to configure the way the script configures
    the root one, without pytest's capture handlers on the way (they are on
    the loggers above)."""
    logger = logging.getLogger('huey.consumer.tasks')
    level, propagate = logger.level, logger.propagate
    logger.propagate = False
    yield logger
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    logger.setLevel(level)
    logger.propagate = propagate


@pytest.fixture
def work(huey):
    @huey.task()
    def work():
        return 1

    return work


@pytest.fixture
def events(huey):
    """The task logger installed on ``huey``, for the test's logging set-up
    (looked up at the first event)."""
    task_logger = TaskEventLogger()
    task_logger.install(huey)
    task_logger._until = 0.0
    yield task_logger
    task_logger.uninstall()


@pytest.fixture
def still_clock(monkeypatch):
    """The task logger's clock stopped at now: a duration is exactly 0, however
    long a busy test machine takes between two signals."""
    now = time.time()
    monkeypatch.setattr(logs, '_time', lambda: now)


def _configure(top, **options):
    """``configure_logging`` on ``top``, its handler then alone there (pytest
    adds its capture handlers to a logger that does not propagate)."""
    handler = configure_logging(logger=top, **options)
    for other in [h for h in top.handlers if h is not handler]:
        top.removeHandler(other)
    handler.stream = io.StringIO()
    return handler


def _written(handler):
    handler.flush()
    return handler.stream.getvalue().splitlines()


def test_a_task_ended_before_the_next_batch_is_one_line(top, huey, work, events, still_clock):
    handler = _configure(top)
    task = work.s()
    huey.execute(task)
    assert len(handler._lines) == 1  # queued unformatted: the writer formats it
    (line,) = _written(handler)
    assert ' INFO MainProcess:MainThread huey.consumer.tasks: ' in line
    assert line.endswith(f'tasks: test_logs.work: {task.id} finished in 0.000s')


def _in_a_thread(huey, task):
    """Execute ``task`` in a thread of its own, started now."""
    thread = threading.Thread(target=huey.execute, args=(task,))
    thread.start()
    return thread


def test_a_task_running_at_a_batch_has_its_start_line_then_its_end(top, huey, work, events):
    handler = _configure(top)
    release, running = threading.Event(), threading.Event()

    @huey.task()
    def slow():
        running.set()
        release.wait(10)

    slow_task, fast = slow.s(), work.s()
    started = time.time()
    thread = _in_a_thread(huey, slow_task)
    assert running.wait(10)
    huey.execute(fast)
    first = _written(handler)  # a batch while the slow one runs
    release.set()
    thread.join(10)
    second = _written(handler)[len(first) :]
    assert [line.split('tasks: ', 1)[1] for line in first] == [
        f'executing {slow_task!r}',
        f'test_logs.work: {fast.id} finished in ' + first[1].rsplit(' in ', 1)[1],
    ]
    # the start line has the time of the start
    stamp = first[0][1 : first[0].index(']')]
    assert abs(time.mktime(time.strptime(stamp[:19], '%Y-%m-%d %H:%M:%S')) - started) < 2
    assert len(second) == 1 and f'{slow_task.id} finished in ' in second[0]
    assert huey.running_tasks == {}


def test_task_lines_are_records_when_the_consumer_handler_is_not_alone(
    top, huey, events, monkeypatch
):
    monkeypatch.setattr(logs, 'RECHECK', 0.0)  # look the set-up up again at every batch
    handler = _configure(top)
    seen = []

    class Seen(logging.Filter):
        def filter(self, record):
            seen.append(record.getMessage())
            return True

    release, running = threading.Event(), threading.Event()

    @huey.task()
    def slow():
        running.set()
        release.wait(10)

    @huey.task()
    def filtering():
        if not handler.filters:  # a filter must see every line: records from now on
            handler.addFilter(Seen())

    slow_task, done = slow.s(), filtering.s()
    thread = _in_a_thread(huey, slow_task)
    assert running.wait(10)
    huey.execute(done)  # its line is queued before the handler's next batch...
    handler.flush()  # ... which sees the filter: records from now on
    later = filtering.s()
    huey.execute(later)
    release.set()
    thread.join(10)
    written = [line.split('tasks: ', 1)[1] for line in _written(handler)]
    assert written[0].startswith(f'test_logs.filtering: {done.id} finished in ')
    assert written[1:] == seen
    # the start not written yet is logged when the route changes
    assert seen[0] == f'executing {slow_task!r}'
    assert seen[1] == f'executing {later!r}'
    assert seen[2].startswith(f'test_logs.filtering: {later.id} finished in ')
    assert seen[3].startswith(f'test_logs.slow: {slow_task.id} finished in ')
    assert len(seen) == 4


@pytest.mark.parametrize(
    'ending, line',
    [
        (ValueError('boom'), 'failed in 0.000s: ValueError: boom'),
        (RetryTask(), 'will be retried (0 retries left)'),
        (CancelExecution(), 'canceled in 0.000s'),
        (TaskLockedException('held'), 'locked in 0.000s'),
    ],
)
def test_an_attempt_that_ends_otherwise_has_its_line_and_no_start_line(
    top, huey, events, still_clock, ending, line
):
    handler = _configure(top)

    @huey.task()
    def ends():
        raise ending

    task = ends.s()
    huey.execute(task)
    written = _written(handler)
    assert any(line in each and task.id in each for each in written), written
    assert not any('executing' in each for each in written), written


def test_no_task_lines_and_nothing_queued_above_info(top, huey, work, events):
    handler = _configure(top, quiet=True)
    huey.execute(work.s())
    assert not handler._lines
    handler.flush()
    assert handler.stream.getvalue() == ''


def test_starts_and_completions_are_signals_only_while_task_lines_are_records(
    top, huey, events, monkeypatch
):
    monkeypatch.setattr(logs, 'RECHECK', 0.0)  # look the set-up up again at every batch
    handler = _configure(top)
    feeds = lambda: huey._executor.completion_feeds  # noqa: E731
    events._reroute(time.time())  # the script's set-up: the consumer handler alone
    assert not {S.SIGNAL_EXECUTING, S.SIGNAL_COMPLETE} & huey._signals.wanted
    assert feeds() == (handler.queue_event,)
    top.setLevel(logging.WARNING)  # -q: the same handler, nothing fed
    handler.flush()  # a batch looks the set-up up again
    assert not {S.SIGNAL_EXECUTING, S.SIGNAL_COMPLETE} & huey._signals.wanted
    assert feeds() == ()
    assert events._starts() == []
    top.setLevel(logging.INFO)
    top.addHandler(logging.NullHandler())  # another handler: records
    handler.flush()
    assert {S.SIGNAL_EXECUTING, S.SIGNAL_COMPLETE} <= huey._signals.wanted
    assert feeds() == ()
    assert events._source not in handler.sources
    events.uninstall()
    assert not huey._signals.wanted
    assert feeds() == ()


def test_the_task_logger_never_raises_into_huey(top, huey, events, caplog):
    _configure(top)
    events._reroute(time.time())  # the script's set-up: no SIGNAL_EXECUTING
    assert huey._signals.send == events  # alone on its signals: called directly
    with caplog.at_level(logging.ERROR, logger='huey.consumer'):
        events(S.SIGNAL_COMPLETE, object())  # no task: its line fails, logged
        events(S.SIGNAL_ERROR, None, ValueError('x'))
    failures = [r for r in caplog.records if r.name == 'huey.consumer']
    assert [r.getMessage().split(' of ')[0] for r in failures] == [
        'task log: complete',
        'task log: error',
    ]
