"""Process bodies for the multi-process tests (module level, so 'spawn' can import them).

Each worker reports ``(role, index, received, errors)`` on a multiprocessing
queue instead of raising, so the test sees every error, "database is locked"
included, whatever process hit it.
"""

from __future__ import annotations

import os
import time
import traceback

from huey_storage_sqlite import SqliteStorage

STOP = b'<stop>'


def produce(filename: str, name: str, index: int, count: int, scheduled: int, reports) -> None:
    errors = []
    try:
        storage = SqliteStorage(name, filename=filename)
        for i in range(count):
            if i % 10 == 9:  # some in batches, most one by one
                storage.enqueue_many(
                    [(b'p%d-%d-batch' % (index, i), None), (b'p%d-%d' % (index, i), None)]
                )
            else:
                storage.enqueue(b'p%d-%d' % (index, i))
        now = time.time()
        for i in range(scheduled):
            storage.add_to_schedule(b's%d-%d' % (index, i), now)
        storage.close()
    except BaseException:
        errors.append(traceback.format_exc())
    reports.put(('producer', index, [], errors))


def expected_messages(producers: int, count: int, scheduled: int) -> list[bytes]:
    messages = []
    for index in range(producers):
        for i in range(count):
            messages.append(b'p%d-%d' % (index, i))
            if i % 10 == 9:
                messages.append(b'p%d-%d-batch' % (index, i))
        messages.extend(b's%d-%d' % (index, i) for i in range(scheduled))
    return sorted(messages)


def consume(filename: str, name: str, index: int, reports) -> None:
    received: list[bytes] = []
    errors = []
    try:
        storage = SqliteStorage(name, filename=filename)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            storage.enqueue_due(time.time())
            storage.requeue_expired_leases()
            lease = storage.lease(60)
            if lease is None:
                time.sleep(0.001)
                continue
            result = (f'result-{lease.receipt}', lease.data) if len(received) % 2 else None
            if not storage.ack(lease.receipt, result=result):
                errors.append(f'ack of {lease!r} failed')
            if lease.data == STOP:
                break
            received.append(lease.data)
        else:
            errors.append(f'consumer {index} never saw STOP')
        storage.close()
    except BaseException:
        errors.append(traceback.format_exc())
    reports.put(('consumer', index, received, errors))


def lease_and_hang(filename: str, name: str, count: int, reports) -> None:
    """Lease ``count`` messages, say so, then wait to be killed."""
    storage = SqliteStorage(name, filename=filename)
    leased = [storage.lease(30) for _ in range(count)]
    reports.put([lease.data for lease in leased if lease is not None])
    while True:
        time.sleep(1)


def hold_write_lock(filename: str, reports) -> None:
    """Start a write transaction, say so, then wait to be killed holding the lock."""
    storage = SqliteStorage('victim', filename=filename)
    storage.enqueue(b'committed')
    conn = storage._pool.get()
    conn.execute('BEGIN IMMEDIATE')
    conn.execute("INSERT INTO huey_queue (name, data) VALUES ('victim', x'00')")
    reports.put(os.getpid())
    while True:
        time.sleep(1)


def enqueue_and_exit(filename: str, name: str) -> None:
    """Enqueue, then end the process without closing anything (like a crash)."""
    storage = SqliteStorage(name, filename=filename)
    storage.enqueue(b'survives')
    storage.put_data('key', b'value')
    os._exit(0)
