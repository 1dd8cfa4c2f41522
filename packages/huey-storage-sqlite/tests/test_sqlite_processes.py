"""Many processes on one file: exactly-once delivery, crashes, no lock errors."""

from __future__ import annotations

import multiprocessing
import os
import queue as queue_module
import signal
import time

import _sqlite_workers as workers
import pytest
from huey_storage_sqlite import SqliteStorage

PRODUCERS = 4
CONSUMERS = 4
PER_PRODUCER = 400
SCHEDULED = 40


def _context(method: str):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f'the {method!r} start method is not available here')
    return multiprocessing.get_context(method)


def _collect(reports, count: int, timeout: float = 120) -> list[tuple]:
    collected = []
    deadline = time.monotonic() + timeout
    while len(collected) < count:
        try:
            collected.append(reports.get(timeout=max(deadline - time.monotonic(), 0.1)))
        except queue_module.Empty:
            pytest.fail(f'only {len(collected)} of {count} processes reported in {timeout} s')
    return collected


def _stop(processes) -> None:
    for process in processes:
        if process.is_alive():
            process.kill()
        process.join(10)


@pytest.mark.parametrize('method', ['fork', 'spawn'])
def test_producers_and_consumers_deliver_each_message_once(method, tmp_path):
    """4 producer and 4 consumer processes, all started at once on a new file."""
    context = _context(method)
    filename = str(tmp_path / 'shared.db')
    name = 'multi'
    reports = context.Queue()
    producers = [
        context.Process(
            target=workers.produce, args=(filename, name, i, PER_PRODUCER, SCHEDULED, reports)
        )
        for i in range(PRODUCERS)
    ]
    consumers = [
        context.Process(target=workers.consume, args=(filename, name, i, reports))
        for i in range(CONSUMERS)
    ]
    try:
        for process in producers + consumers:  # they race to create the schema too
            process.start()
        produced = _collect(reports, PRODUCERS)
        assert [errors for *_, errors in produced if errors] == []
        storage = SqliteStorage(name, filename=filename)
        storage.enqueue_due(time.time() + 1)  # whatever the consumers left scheduled
        for _ in consumers:
            storage.enqueue(workers.STOP)
        consumed = _collect(reports, CONSUMERS)
        for process in producers + consumers:
            process.join(30)
            assert process.exitcode == 0
    finally:
        _stop(producers + consumers)
    errors = [error for *_, errors in consumed for error in errors]
    assert errors == []  # no "database is locked", no failed ack, in any process
    received = sorted(message for _, _, messages, _ in consumed for message in messages)
    assert received == workers.expected_messages(PRODUCERS, PER_PRODUCER, SCHEDULED)
    assert storage.queue_size() == 0
    assert storage.leased_count() == 0
    assert storage.schedule_size() == 0
    assert storage.result_store_size() > 0
    storage.close()


@pytest.mark.parametrize('method', ['fork', 'spawn'])
def test_leases_of_a_killed_consumer_come_back(method, make_storage, db_path):
    context = _context(method)
    storage = make_storage('crash')
    for i in range(5):
        storage.enqueue(b'm%d' % i)
    reports = context.Queue()
    victim = context.Process(target=workers.lease_and_hang, args=(db_path, 'crash', 3, reports))
    victim.start()
    try:
        leased = reports.get(timeout=60)
        assert leased == [b'm0', b'm1', b'm2']
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(30)
        assert victim.exitcode == -signal.SIGKILL
    finally:
        _stop([victim])
    assert storage.leased_count() == 3
    assert storage.requeue_expired_leases() == 0  # their 30 s leases are still running
    assert storage.requeue_expired_leases(time.time() + 31) == 3
    again = [storage.lease(60) for _ in range(5)]
    assert [lease.data for lease in again] == [b'm0', b'm1', b'm2', b'm3', b'm4']
    assert [lease.deliveries for lease in again] == [2, 2, 2, 1, 1]
    assert all(storage.ack(lease.receipt) for lease in again)


def test_a_process_killed_inside_a_write_transaction_releases_the_lock(make_storage, db_path):
    context = _context('fork')
    reports = context.Queue()
    victim = context.Process(target=workers.hold_write_lock, args=(db_path, reports))
    victim.start()
    try:
        reports.get(timeout=60)
        os.kill(victim.pid, signal.SIGKILL)
        victim.join(30)
    finally:
        _stop([victim])
    storage = make_storage('victim', timeout=1.0)
    storage.enqueue(b'after')  # the lock died with its holder
    assert storage.enqueued_items() == [b'committed', b'after']  # its insert rolled back


def test_enqueue_is_committed_when_it_returns(make_storage, db_path):
    """A process that exits right after enqueue (no close) loses nothing."""
    context = _context('fork')
    process = context.Process(target=workers.enqueue_and_exit, args=(db_path, 'durable'))
    process.start()
    process.join(30)
    assert process.exitcode == 0
    storage = make_storage('durable')
    assert storage.dequeue() == b'survives'
    assert storage.peek_data('key') == b'value'


def test_storage_pickles_for_spawn(make_storage):
    import pickle

    storage = make_storage('pickled', timeout=2.5, cache_mb=4)
    storage.enqueue(b'x')
    copy = pickle.loads(pickle.dumps(storage))
    try:
        assert (copy.name, copy.filename, copy.timeout, copy.cache_mb) == (
            'pickled',
            storage.filename,
            2.5,
            4,
        )
        assert copy.dequeue() == b'x'
    finally:
        copy.close()
