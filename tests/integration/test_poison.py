"""Messages that used to kill workers or come back forever: each now ends
after one run, as a stored error result or a dead letter naming its cause,
while the real consumer keeps every worker alive."""

from __future__ import annotations

import os
import sqlite3
import uuid

import pytest
from conftest import FAST, wait_until
from huey_storage.testing.services import require_service

EXTRA = """
class Unprintable(Exception):
    def __str__(self):
        raise RuntimeError('no message for you')

    __repr__ = __str__


@huey.task()
def raise_unprintable(counter):
    huey.storage.incr(counter)
    raise Unprintable()


@huey.task()
def return_lock(counter):
    import threading
    huey.storage.incr(counter)
    return threading.Lock()


@huey.task()
def counted(counter, value=None):
    huey.storage.incr(counter)
    return 'after'
"""


def _counter(app, name):
    return app.huey.storage.peek_counters([name])[0]


def _wire(app, name, **changes):
    """A message built by hand in the wire layout of huey_api.message."""
    fields = {
        'id': uuid.uuid4().hex,
        'name': f'{app.module_name}.{name}',
        'eta': None,
        'retries': 0,
        'retry': 0.0,
        'priority': None,
        'expires': None,
        'args': ('c',),
        'kwargs': {},
    }
    fields.update(changes)
    return (*fields.values(), None, None)


def test_poison_ends_once_and_workers_survive(make_app, start_consumer):
    app = make_app(extra=EXTRA)
    huey, module = app.huey, app.module
    serialize = huey.serializer.serialize
    wrong_expires = _wire(app, 'counted', expires='never')
    wrong_priority = _wire(app, 'counted', priority='high', args=('c-priority',))
    huey.storage.enqueue(serialize(wrong_expires))
    huey.storage.enqueue(serialize(wrong_priority))
    unprintable = module.raise_unprintable('c-unprintable')
    unpicklable = module.return_lock('c-lock')
    pipeline = huey.enqueue(module.return_lock.s('c-pipe').then(module.counted, 'c-next'))
    after = module.add(1, 2)

    consumer = start_consumer(app, '-w', '2', *FAST)
    assert after.get(blocking=True, timeout=20) == 3
    letters = wait_until(lambda: len(huey.dead_letters()) == 2 and huey.dead_letters())
    reasons = sorted(letter.reason for letter in letters)
    assert 'field expires' in reasons[0] and 'field priority' in reasons[1]
    # an exception that cannot be formatted: stored as an error after one run
    with pytest.raises(Exception) as raised:
        unprintable.get(blocking=True, timeout=20)
    assert 'Unprintable' in raised.value.metadata['error']
    assert _counter(app, 'c-unprintable') == 1
    # a value that cannot be pickled: an error result, after one run
    with pytest.raises(Exception, match='TypeError'):
        unpicklable.get(blocking=True, timeout=20)
    assert _counter(app, 'c-lock') == 1
    # a pipeline step's value that cannot be pickled: the next step gets the error
    with pytest.raises(Exception, match='TypeError'):
        pipeline[1].get(blocking=True, timeout=20)
    assert _counter(app, 'c-pipe') == 1 and _counter(app, 'c-next') == 0
    assert _counter(app, 'c') == 0 and _counter(app, 'c-priority') == 0
    assert 'died' not in consumer.log()  # no worker was lost
    # nothing left leased or queued: the periodic task the scheduler enqueued at
    # start-up, and the acks that follow the results stored above, end soon after
    wait_until(
        lambda: huey.storage.leased_count() == 0 and len(huey) == 0,
        message='every message to be acknowledged',
    )


def test_sqlite_row_that_is_not_bytes_is_dead_lettered_once(tmp_path, start_consumer):
    from conftest import make_app_factory

    build = make_app_factory(tmp_path, 'sqlite')
    app = build()
    try:
        filename = app.huey.storage.filename
        assert app.huey.pending_count() == 0  # creates the schema
        with sqlite3.connect(filename) as connection:
            connection.execute(
                "INSERT INTO huey_queue (name, priority, data) VALUES (?, 0, 'text payload')",
                (app.huey.name,),
            )
        start_consumer(app, '-w', '2', *FAST)
        assert app.module.add(2, 3).get(blocking=True, timeout=20) == 5
        letters = wait_until(lambda: app.huey.dead_letters())
        assert len(letters) == 1 and 'str, not bytes' in letters[0].reason
        wait_until(
            lambda: app.huey.storage.leased_count() == 0 and len(app.huey) == 0,
            message='every message to be acknowledged',
        )
    finally:
        for each in build.apps:
            each.close()


@pytest.mark.mysql
def test_result_too_large_for_mariadb_is_stored_as_an_error_after_one_run():
    import pymysql  # installed with huey-storage-sql[mysql]: never a skip
    from huey import SqlHuey, TaskException

    host, port = require_service('mysql')
    name = 'huey_t_' + uuid.uuid4().hex[:12]
    admin = pymysql.connect(host=host, port=port, user='root', autocommit=True)
    admin.cursor().execute(f'CREATE DATABASE {name}')
    huey = SqlHuey('big', database=f'mysql://root@{host}:{port}/{name}')
    try:

        @huey.task()
        def big(counter):
            huey.storage.incr(counter)
            return os.urandom(20 * 1024 * 1024)  # over the 16 MiB default max packet

        result = big('runs')
        huey.execute_delivery(huey.reserve())
        with pytest.raises(TaskException, match='cannot be stored'):
            result.get()
        assert huey.storage.peek_counters(['runs'])[0] == 1
        assert huey.reserve() is None and huey.storage.leased_count() == 0
        assert huey.dead_letters() == []
    finally:
        huey.storage.close()
        admin.cursor().execute(f'DROP DATABASE {name}')
        admin.close()
