"""Several processes on one database, and fork() safety, on PostgreSQL and MariaDB."""

from __future__ import annotations

import gc
import multiprocessing
import queue as queue_module
import threading
import time

import pytest
from huey_storage_sql import SqlStorage

STOP = b'<stop>'
PRODUCERS = 4
CONSUMERS = 4  # the last one uses dequeue(), the others lease() and ack()
SCHEDULERS = 2
DIRECT = 200  # messages per producer through enqueue / enqueue_many
SCHEDULED = 50  # messages per producer through the schedule and enqueue_due


@pytest.fixture(
    params=[
        pytest.param('postgres', marks=pytest.mark.postgres),
        pytest.param('mysql-skip-locked', marks=pytest.mark.mysql),
        pytest.param('mysql-for-update', marks=pytest.mark.mysql),
    ]
)
def make_storage(request):
    """``make_storage(name) -> SqlStorage``, a new Database object per call."""
    if request.param == 'postgres':
        target = request.getfixturevalue('pg_target')
        return lambda name: SqlStorage(name, database=target.database(), read_timeout=0.2)
    target = request.getfixturevalue('mysql_target')
    skip_locked = request.param == 'mysql-skip-locked'
    return lambda name: SqlStorage(name, database=target.database(), skip_locked=skip_locked)


def _connection_id(storage) -> int:
    if storage.database.__class__.__name__.startswith('Postgres'):
        return storage.database.execute_sql('SELECT pg_backend_pid()').fetchone()[0]
    return storage.database.execute_sql('SELECT CONNECTION_ID()').fetchone()[0]


def test_parent_connections_survive_a_forked_child(make_storage):
    storage = make_storage('forks')
    storage.enqueue(b'from-parent')
    if storage.blocking:
        storage._listening()  # the LISTEN connection is inherited too
    parent_id = _connection_id(storage)
    ids = {}
    ready, forked = threading.Event(), threading.Event()

    def other_thread() -> None:  # holds its own connection across the fork
        ids['before'] = _connection_id(storage)
        ready.set()
        forked.wait(60)
        ids['after'] = _connection_id(storage)

    thread = threading.Thread(target=other_thread)
    thread.start()
    assert ready.wait(30)

    def child() -> None:
        assert _connection_id(storage) not in (parent_id, ids['before'])
        assert storage.dequeue() == b'from-parent'
        storage.enqueue(b'from-child')
        # Even closing the inherited connections politely (psycopg2 sends Terminate,
        # PyMySQL COM_QUIT) must not reach the parent's sessions: they were detached.
        for inherited in storage._guard._inherited:
            inherited.close()
        storage._guard._inherited.clear()
        gc.collect()
        storage.close()

    process = multiprocessing.get_context('fork').Process(target=child)
    process.start()
    process.join(60)
    forked.set()
    thread.join(60)
    assert process.exitcode == 0, 'the child failed (traceback in stderr)'
    assert _connection_id(storage) == parent_id  # the same session, still usable
    assert ids['after'] == ids['before']
    assert storage.dequeue() == b'from-child'
    if storage.blocking:
        with storage._listener._conn.cursor() as cursor:
            cursor.execute('SELECT 1')
    storage.flush_all()
    storage.close()


@pytest.mark.slow
def test_processes_share_one_queue_exactly_once(make_storage):
    name = 'crowd'
    storage = make_storage(name)
    storage.flush_all()  # tables exist before the crowd starts
    context = multiprocessing.get_context('fork')
    reports = context.Queue()
    schedulers_stop = context.Event()

    def produce(producer: int) -> None:
        handle = make_storage(name)
        batch = []
        for i in range(DIRECT):
            message = b'%d-%d' % (producer, i)
            if i % 2:
                handle.enqueue(message, priority=i % 3)
            else:
                batch.append((message, None))
            if len(batch) == 20:
                handle.enqueue_many(batch)
                batch = []
        handle.enqueue_many(batch)
        for i in range(SCHEDULED):
            handle.add_to_schedule(b'%d-s%d' % (producer, i), time.time() - 1, i % 2)
        handle.close()

    def schedule() -> None:
        handle = make_storage(name)
        moved = 0
        while not schedulers_stop.is_set():
            moved += handle.enqueue_due(time.time())
            time.sleep(0.005)
        reports.put(('scheduler', moved))
        handle.close()

    def consume(consumer: int) -> None:
        handle = make_storage(name)
        received = []
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if consumer == CONSUMERS - 1:
                message = handle.dequeue()
            else:
                lease = handle.lease(120)
                message = None if lease is None else lease.data
                if lease is not None and not handle.ack(lease.receipt):
                    raise AssertionError(f'ack of {lease!r} failed')
            if message is None:
                if not handle.blocking:
                    time.sleep(0.002)
                continue
            if message == STOP:
                break
            received.append(message)
        reports.put(('consumer', received))
        handle.close()

    producers = [context.Process(target=produce, args=(p,)) for p in range(PRODUCERS)]
    schedulers = [context.Process(target=schedule) for _ in range(SCHEDULERS)]
    consumers = [context.Process(target=consume, args=(c,)) for c in range(CONSUMERS)]
    everyone = producers + schedulers + consumers
    try:
        for process in everyone:
            process.start()
        for process in producers:
            process.join(120)
            assert process.exitcode == 0, 'a producer failed (see its stderr)'
        deadline = time.monotonic() + 60
        while storage.schedule_size() and time.monotonic() < deadline:
            time.sleep(0.01)
        schedulers_stop.set()
        for _ in consumers:
            storage.enqueue(STOP, priority=-1)  # after every real message
        received, moved = [], 0
        for _ in schedulers + consumers:
            try:
                kind, value = reports.get(timeout=120)
            except queue_module.Empty:
                pytest.fail('a process never reported (see its stderr)')
            if kind == 'consumer':
                received.extend(value)
            else:
                moved += value
        for process in schedulers + consumers:
            process.join(60)
            assert process.exitcode == 0, 'a process failed (see its stderr)'
    finally:
        for process in everyone:
            if process.is_alive():
                process.kill()
    expected = sorted(
        [b'%d-%d' % (p, i) for p in range(PRODUCERS) for i in range(DIRECT)]
        + [b'%d-s%d' % (p, i) for p in range(PRODUCERS) for i in range(SCHEDULED)]
    )
    assert len(received) == len(expected)
    assert sorted(received) == expected  # every message exactly once
    assert moved == PRODUCERS * SCHEDULED  # every scheduled item moved once
    assert storage.queue_size() == 0
    assert storage.leased_count() == 0
    assert storage.schedule_size() == 0
    storage.close()
