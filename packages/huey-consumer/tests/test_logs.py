"""The script's logging configuration and the task event log lines."""

from __future__ import annotations

import io
import logging
import os
import threading
import time

import pytest
from huey_api import signals as huey_signals
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
    assert not huey._signals.active  # uninstall disconnected the receiver


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


@pytest.mark.parametrize('fmt, datefmt', [(DEFAULT_FORMAT, None), (SIMPLE_FORMAT, '%H:%M:%S')])
def test_a_line_made_without_a_record_is_the_formatted_record(fmt, datefmt):
    ours, stdlib = Formatter(fmt, datefmt), logging.Formatter(fmt, datefmt)
    lines = []

    def in_a_named_thread():
        for created in (1_700_000_000.123, 1_700_000_000.9999, 1_700_000_001.5):
            record = logging.makeLogRecord(
                {
                    'name': 'huey.consumer.tasks',
                    'levelno': logging.INFO,
                    'levelname': 'INFO',
                    'msg': 'executing %r',
                    'args': ('t',),
                    'created': created,
                    'msecs': int((created % 1) * 1000),
                }
            )
            record.threadName = threading.current_thread().name
            made = ours.line('INFO', 'huey.consumer.tasks', "executing 't'", created)
            lines.append((made, stdlib.format(record)))

    thread = threading.Thread(target=in_a_named_thread, name='Worker-3')
    thread.start()
    thread.join()
    assert all(made == formatted for made, formatted in lines), lines
    assert 'Worker-3' in lines[0][0] or fmt == SIMPLE_FORMAT
    assert Formatter('%(levelname)s %(module)s %(message)s').line('INFO', 'x', 'm') is None


def test_task_lines_skip_the_record_only_when_the_consumer_handler_is_alone(root, huey):
    handler = configure_logging()
    handler.stream = io.StringIO()
    seen = []

    class Seen(logging.Filter):
        def filter(self, record):
            seen.append(record.getMessage())
            return True

    @huey.task()
    def work():
        return 1

    events = TaskEventLogger()
    task = work.s()
    events(huey_signals.SIGNAL_EXECUTING, task)  # the straight path
    handler.addFilter(Seen())  # a filter must see every record: records again
    events(huey_signals.SIGNAL_COMPLETE, task)
    handler.flush()
    written = handler.stream.getvalue().splitlines()
    assert len(written) == 2
    assert written[0].endswith(f'huey.consumer.tasks: executing {task!r}')
    assert ' INFO MainProcess:MainThread huey.consumer.tasks: ' in written[0]
    assert f'huey.consumer.tasks: {task.id} finished in ' in written[1]
    assert seen == [written[1].split('huey.consumer.tasks: ', 1)[1]]
