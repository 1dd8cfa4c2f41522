"""The script's logging configuration and the task event log lines."""

from __future__ import annotations

import logging

import pytest
from huey_consumer.logs import DEFAULT_FORMAT, SIMPLE_FORMAT, TaskEventLogger, configure_logging


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
