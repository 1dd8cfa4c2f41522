"""PostgreSQL specifics: LISTEN/NOTIFY wake-ups, lost connections, releasing them."""

from __future__ import annotations

import threading
import time

import peewee
import pytest
from huey_storage import EmptyData
from huey_storage_sql import SqlStorage

pytestmark = pytest.mark.postgres

#: Far longer than any wake-up may take: returning well before it proves a notification.
LONG_READ_TIMEOUT = 10.0


@pytest.fixture
def consumer(pg_target):
    storage = SqlStorage('wake', database=pg_target.database(), read_timeout=LONG_READ_TIMEOUT)
    storage.flush_all()  # creates the tables
    yield storage
    storage.close()


@pytest.fixture
def producer(pg_target):
    storage = SqlStorage('wake', database=pg_target.database(), listen=False)
    yield storage
    storage.close()


def _read_in_thread(read):
    """Start ``read()`` in a thread; returns (thread, outcome dict)."""
    outcome = {}

    def run() -> None:
        started = time.monotonic()
        outcome['value'] = read()
        outcome['elapsed'] = time.monotonic() - started

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, outcome


def _wait_for_blocked_reader(storage, wait_until) -> None:
    """Until a reader of ``storage`` found the queue empty and sleeps on its socket."""
    wait_until(
        lambda: storage._listener is not None and storage._listener.polling,
        message='a reader blocked on the LISTEN connection',
    )


@pytest.mark.parametrize('read', ['lease', 'dequeue'])
def test_idle_read_wakes_on_enqueue_from_another_connection(consumer, producer, read, wait_until):
    assert consumer.blocking is True and producer.blocking is False
    operation = (lambda: consumer.lease(60)) if read == 'lease' else consumer.dequeue
    thread, outcome = _read_in_thread(operation)
    _wait_for_blocked_reader(consumer, wait_until)
    producer.enqueue(b'wake-up')
    thread.join(LONG_READ_TIMEOUT + 5)
    value = outcome['value']
    assert (value.data if read == 'lease' else value) == b'wake-up'
    # A poll at read_timeout would take 10 s; a notification takes milliseconds.
    assert outcome['elapsed'] < LONG_READ_TIMEOUT / 2


@pytest.mark.parametrize(
    'how',
    ['enqueue_many', 'enqueue_due', 'release', 'requeue_expired_leases', 'requeue_dead_letter'],
)
def test_every_way_into_the_queue_notifies(consumer, producer, how, wait_until):
    if how == 'release':
        producer.enqueue(b'wake-up')
        held = producer.lease(60)
    elif how == 'requeue_expired_leases':
        producer.enqueue(b'wake-up')
        producer.lease(0.001)
    elif how == 'requeue_dead_letter':
        dead_id = producer.add_dead_letter(b'wake-up', 'test')
    elif how == 'enqueue_due':
        producer.add_to_schedule(b'wake-up', time.time() - 1)
    thread, outcome = _read_in_thread(lambda: consumer.lease(60))
    _wait_for_blocked_reader(consumer, wait_until)
    if how == 'enqueue_many':
        producer.enqueue_many([(b'wake-up', None)])
    elif how == 'enqueue_due':
        assert producer.enqueue_due(time.time()) == 1
    elif how == 'release':
        assert producer.release(held.receipt) is True
    elif how == 'requeue_expired_leases':
        assert producer.requeue_expired_leases(time.time() + 1) == 1
    else:
        assert producer.requeue_dead_letter(dead_id) is True
    thread.join(LONG_READ_TIMEOUT + 5)
    assert outcome['value'].data == b'wake-up'
    assert outcome['elapsed'] < LONG_READ_TIMEOUT / 2


@pytest.mark.parametrize('how', ['put_data', 'ack'])
def test_wait_data_wakes_on_a_stored_value(consumer, producer, how, wait_until):
    if how == 'ack':
        producer.enqueue(b'task')
        lease = producer.lease(60)
    thread, outcome = _read_in_thread(lambda: consumer.wait_data('result', LONG_READ_TIMEOUT))
    _wait_for_blocked_reader(consumer, wait_until)
    if how == 'put_data':
        producer.put_data('result', b'42', is_result=True)
    else:
        assert producer.ack(lease.receipt, result=('result', b'42')) is True
    thread.join(LONG_READ_TIMEOUT + 5)
    assert outcome['value'] == b'42'
    assert outcome['elapsed'] < LONG_READ_TIMEOUT / 2
    # woken by the notification, not by the once-a-second re-check
    assert consumer._listener.generation(consumer._backend.data_channel) >= 1
    assert consumer.peek_data('result') is EmptyData  # popped


def test_wait_data_times_out_and_sees_values_stored_without_notification(consumer, producer):
    started = time.monotonic()
    assert consumer.wait_data('nothing', timeout=0.2) is EmptyData
    assert time.monotonic() - started >= 0.2
    assert producer.put_if_empty('lock', b'1') is True  # sends no notification...
    assert consumer.wait_data('lock', timeout=5, pop=False) == b'1'  # ...still found


def test_many_blocked_threads_share_one_listener(consumer, producer, wait_until):
    readers = [_read_in_thread(lambda: consumer.lease(60)) for _ in range(4)]
    _wait_for_blocked_reader(consumer, wait_until)
    producer.enqueue_many([(b'%d' % i, None) for i in range(4)])
    for thread, _ in readers:
        thread.join(LONG_READ_TIMEOUT + 5)
    assert sorted(outcome['value'].data for _, outcome in readers) == [b'0', b'1', b'2', b'3']
    assert all(outcome['elapsed'] < LONG_READ_TIMEOUT / 2 for _, outcome in readers)


def test_blocking_read_returns_none_after_read_timeout(pg_target):
    storage = SqlStorage('idle', database=pg_target.database(), read_timeout=0.3)
    started = time.monotonic()
    assert storage.lease(60) is None
    assert time.monotonic() - started >= 0.3
    storage.close()


def test_listen_false_never_blocks(pg_target):
    storage = SqlStorage(
        'polling', database=pg_target.database(), listen=False, read_timeout=LONG_READ_TIMEOUT
    )
    assert storage.blocking is False
    assert storage.lease(60) is None
    assert storage._listener is None
    storage.close()


def _backend_pid(storage) -> int:
    return storage.database.execute_sql('SELECT pg_backend_pid()').fetchone()[0]


def _terminate(pg_target, pid: int) -> None:
    with pg_target.admin() as conn, conn.cursor() as cursor:
        cursor.execute('SELECT pg_terminate_backend(%s)', (pid,))
    conn.close()


def test_reconnects_after_the_server_dropped_the_connection(pg_target, wait_until):
    storage = SqlStorage('dropped', database=pg_target.database(), listen=False)
    storage.enqueue(b'kept')
    old_pid = _backend_pid(storage)
    _terminate(pg_target, old_pid)
    try:  # the call that finds the connection dead may fail...
        storage.queue_size()
    except (peewee.OperationalError, peewee.InterfaceError):
        pass
    # ...the next ones run on a new connection
    assert storage.queue_size() == 1
    assert _backend_pid(storage) != old_pid
    storage.close()


def test_survives_losing_the_listen_connection(pg_target, consumer, producer, wait_until):
    thread, outcome = _read_in_thread(lambda: consumer.lease(60))
    _wait_for_blocked_reader(consumer, wait_until)
    listener = consumer._listener
    _terminate(pg_target, listener._conn.get_backend_pid())
    # The reader notices, reconnects its listener and still gets the next message.
    wait_until(
        lambda: consumer._listener is not listener and consumer._listener is not None,
        message='a new LISTEN connection',
    )
    _wait_for_blocked_reader(consumer, wait_until)
    producer.enqueue(b'after-reconnect')
    thread.join(LONG_READ_TIMEOUT * 2 + 5)
    assert outcome['value'].data == b'after-reconnect'


def test_close_releases_every_connection(pg_target, wait_until):
    name = pg_target.schema + '_app'
    storage = SqlStorage(
        'released', database=pg_target.database(application_name=name), read_timeout=0.05
    )

    def use() -> None:
        storage.enqueue(b'x')
        storage.lease(60)

    threads = [threading.Thread(target=use) for _ in range(5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    storage.dequeue()

    def connections() -> int:
        with pg_target.admin() as conn, conn.cursor() as cursor:
            cursor.execute(
                'SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = %s', (name,)
            )
            count = cursor.fetchone()[0]
        conn.close()
        return count

    assert connections() >= 2  # this thread's and the LISTEN connection, at least
    storage.close()
    wait_until(lambda: connections() == 0, message='every connection closed')
