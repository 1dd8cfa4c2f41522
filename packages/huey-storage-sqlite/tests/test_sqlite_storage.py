"""SQLite-specific behaviour: persistence, schema, threads, TTL cleanup, busy retries."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import threading
import time

import pytest
from huey_storage.base import EmptyData
from huey_storage_sqlite import schema_statements
from huey_storage_sqlite.schema import SCHEMA_OBJECTS
from huey_storage_sqlite.storage import HAS_RETURNING


def _tables(filename: str) -> set[str]:
    conn = sqlite3.connect(filename)
    try:
        return {row[0] for row in conn.execute('SELECT name FROM sqlite_master')}
    finally:
        conn.close()


def test_everything_persists_across_reopen(make_storage):
    first = make_storage('persist')
    first.enqueue(b'leased', priority=3)
    first.enqueue(b'waiting')
    lease = first.lease(60)
    first.add_to_schedule(b'later', time.time() + 3600, priority=2)
    first.put_data('result', b'r', is_result=True)
    first.put_if_empty('lock', b'1', ttl=3600)
    first.incr('counter', 5)
    dead_id = first.add_dead_letter(b'dead', 'why')
    first.close()

    second = make_storage('persist')
    assert second.enqueued_items() == [b'waiting']
    assert second.leased_count() == 1
    assert second.ack(lease.receipt) is True  # receipts survive a restart
    assert second.scheduled_items() == [b'later']
    assert second.result_items() == {'result': b'r', 'lock': b'1'}
    assert second.has_data_for_key('lock') is True
    assert second.incr('counter') == 6
    assert [letter.id for letter in second.dead_letters()] == [dead_id]


def test_enqueue_is_visible_to_another_connection_at_once(make_storage, db_path):
    storage = make_storage('visible')
    storage.enqueue(b'x')
    other = sqlite3.connect(db_path)
    try:
        assert other.execute('SELECT data FROM huey_queue').fetchall() == [(b'x',)]
    finally:
        other.close()


def test_schema_is_created_on_first_use(make_storage, db_path):
    storage = make_storage()
    assert not set(SCHEMA_OBJECTS) & _tables(db_path)  # nothing until first use
    storage.queue_size()
    assert set(SCHEMA_OBJECTS) <= _tables(db_path)


def test_schema_ahead_of_time_with_the_command_line(tmp_path):
    filename = str(tmp_path / 'ahead.db')
    completed = subprocess.run(
        [sys.executable, '-m', 'huey_storage_sqlite', filename],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    assert set(SCHEMA_OBJECTS) <= _tables(filename)
    printed = subprocess.run(
        [sys.executable, '-m', 'huey_storage_sqlite', '--sql'],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert 'CREATE TABLE IF NOT EXISTS huey_queue' in printed.stdout


def test_schema_statements_can_be_run_by_hand(tmp_path, make_storage):
    filename = str(tmp_path / 'by-hand.db')
    conn = sqlite3.connect(filename)
    for statement in schema_statements():
        conn.execute(statement)
    conn.commit()
    conn.close()
    storage = make_storage(filename=filename)
    storage.enqueue(b'x')
    assert storage.dequeue() == b'x'


def test_names_share_one_file(make_storage):
    first, second = make_storage('first'), make_storage('second')
    first.enqueue(b'1')
    second.enqueue(b'2')
    first.put_data('k', b'first')
    second.put_data('k', b'second')
    assert (first.dequeue(), second.dequeue()) == (b'1', b'2')
    assert (first.peek_data('k'), second.peek_data('k')) == (b'first', b'second')


def test_each_thread_has_its_own_connection_and_close_closes_them(make_storage):
    storage = make_storage()
    mine = storage._pool.get()
    theirs = []
    thread = threading.Thread(target=lambda: theirs.append(storage._pool.get()))
    thread.start()
    thread.join()
    assert theirs[0] is not mine
    storage.close()
    for conn in (mine, theirs[0]):
        with pytest.raises(sqlite3.ProgrammingError):
            conn.execute('SELECT 1')
    storage.enqueue(b'reopened')  # usable again after close()
    assert storage.dequeue() == b'reopened'


def test_connections_of_finished_threads_are_closed(make_storage):
    storage = make_storage()
    for _ in range(20):
        thread = threading.Thread(target=storage.queue_size)
        thread.start()
        thread.join()
    storage.queue_size()
    assert len(storage._pool._open) <= 2


def test_expired_keys_are_absent_then_swept(make_storage):
    storage = make_storage()
    assert storage.put_if_empty('lock', b'1', ttl=0.01) is True
    conn = storage._pool.get()
    deadline = time.monotonic() + 5
    while storage.has_data_for_key('lock'):
        assert time.monotonic() < deadline, 'a 0.01 s TTL never expired'
        time.sleep(0.01)
    assert storage.peek_data('lock') is EmptyData
    assert storage.pop_data('lock') is EmptyData
    assert storage.delete_data('lock') is False
    assert conn.execute('SELECT COUNT(*) FROM huey_kv').fetchone()[0] == 1  # still on disk
    storage._next_sweep = 0.0
    storage.put_if_empty('other', b'1', ttl=60)  # sweeps expired keys of every name
    assert conn.execute('SELECT key FROM huey_kv').fetchall() == [('other',)]


def test_counters_have_a_table_of_their_own(make_storage):
    storage = make_storage()
    storage.put_data('text', b'abc')
    assert storage.incr('text') == 1  # the data key is another thing
    assert storage.peek_data('text') == b'abc'
    rows = storage.conn.execute('SELECT key, value FROM huey_counters').fetchall()
    assert rows == [('text', 1)]


def test_waits_for_a_lock_held_longer_than_the_busy_timeout(make_storage, db_path):
    storage = make_storage(timeout=0.05)
    storage.create_schema()
    holder = sqlite3.connect(db_path, isolation_level=None, check_same_thread=False)
    holder.execute('BEGIN IMMEDIATE')
    released = threading.Event()

    def release_later() -> None:
        time.sleep(0.3)  # several busy timeouts of the storage
        holder.execute('COMMIT')
        released.set()

    thread = threading.Thread(target=release_later)
    thread.start()
    try:
        storage.enqueue(b'patient')  # busy -> retried with backoff, never surfaced
    finally:
        thread.join()
        holder.close()
    assert released.is_set()
    assert storage.dequeue() == b'patient'


def test_a_lock_held_forever_fails_after_a_bounded_wait(make_storage, db_path):
    storage = make_storage(timeout=0.05)
    storage.create_schema()
    holder = sqlite3.connect(db_path, isolation_level=None)
    holder.execute('BEGIN IMMEDIATE')
    try:
        with pytest.raises(sqlite3.OperationalError, match='locked'):
            storage.enqueue(b'never')
    finally:
        holder.execute('ROLLBACK')
        holder.close()
    assert storage.queue_size() == 0


def test_failed_transaction_leaves_nothing_behind(make_storage):
    storage = make_storage()
    storage.enqueue(b'first')

    def fail_half_way(conn):
        conn.execute('DELETE FROM huey_queue')
        raise ValueError('half way')

    with pytest.raises(ValueError):
        storage._transaction(fail_half_way)
    assert storage._pool.get().in_transaction is False
    assert storage.dequeue() == b'first'  # the delete was rolled back
    storage.enqueue(b'next')
    assert storage.dequeue() == b'next'


def test_the_latest_returned_message_goes_to_the_very_head(make_storage):
    storage = make_storage()
    for item in (b'a', b'b', b'c', b'd'):
        storage.enqueue(item)
    a, b, _c = storage.lease(60), storage.lease(60), storage.lease(60)
    assert storage.release(a.receipt) is True
    assert storage.release(b.receipt) is True  # ahead of a, which is waiting again
    assert storage.enqueued_items() == [b'b', b'a', b'd']
    storage.requeue_expired_leases(time.time() + 3600)  # c: ahead of everything waiting
    assert storage.enqueued_items() == [b'c', b'b', b'a', b'd']
    again = storage.lease(60)
    storage.enqueue(b'e')
    storage.release(again.receipt)  # released after a far-future requeue: still first
    assert storage.enqueued_items() == [b'c', b'b', b'a', b'd', b'e']


@pytest.mark.parametrize(
    'statement',
    [
        '_NEXT_WAITING',
        '_LEASE',
        '_DEQUEUE',
        '_ACK',
        '_RELEASE',
        '_ANY_LAPSED',
        '_REQUEUE_LAPSED',
        '_PEEK',
        '_POP',
        '_ANY_DUE',
        '_DELETE_DUE',
        '_LEASE_MANY',
        '_LEASE_MANY_SELECT',
        '_GIVE_BACK',
    ],
)
def test_hot_statements_use_an_index(make_storage, statement):
    """O(log n): no full table scan and no sort, whatever the queue length."""
    from huey_storage_sqlite import storage as module

    sql = getattr(module, statement)
    conn = make_storage()._pool.get()
    params = [1] * sql.count('?')
    plan = ' / '.join(row[-1] for row in conn.execute('EXPLAIN QUERY PLAN ' + sql, params))
    assert 'SCAN' not in plan and 'TEMP B-TREE' not in plan, plan


# The queue table and indexes of earlier versions of this package.
_FORMER_QUEUE = (
    'CREATE TABLE huey_queue (id INTEGER PRIMARY KEY, name TEXT NOT NULL, '
    'priority INTEGER NOT NULL DEFAULT 0, receipt TEXT, lease_deadline REAL, '
    'deliveries INTEGER NOT NULL DEFAULT 1, {column}data BLOB NOT NULL)'
)
_FORMER_INDEXES = (
    'CREATE INDEX huey_queue_waiting ON huey_queue (name, priority DESC, {key}id) '
    'WHERE receipt IS NULL',
    'CREATE INDEX huey_queue_leased ON huey_queue (name, lease_deadline) WHERE receipt IS NOT NULL',
)


def _former_file(db_path, with_returned_at: bool) -> sqlite3.Connection:
    conn = sqlite3.connect(db_path, isolation_level=None)
    for statement in (_FORMER_QUEUE, *_FORMER_INDEXES):
        if with_returned_at:
            statement = statement.format(
                column='returned_at REAL NOT NULL DEFAULT 0, ', key='returned_at DESC, '
            )
        conn.execute(statement.format(column='', key=''))
    return conn


def test_a_queue_table_from_before_returned_at_is_upgraded(make_storage, db_path):
    conn = _former_file(db_path, with_returned_at=False)
    conn.execute("INSERT INTO huey_queue (name, data) VALUES ('old', x'01')")
    assert 'returned_at' not in {row[1] for row in conn.execute('PRAGMA table_info(huey_queue)')}
    conn.close()
    storage = make_storage('old')
    lease = storage.lease(60)
    assert lease.data == b'\x01'
    assert storage.release(lease.receipt) is True
    assert storage.dequeue() == b'\x01'


def test_the_former_queue_indexes_are_replaced_and_the_queue_kept(make_storage, db_path):
    conn = _former_file(db_path, with_returned_at=True)
    conn.execute(
        "INSERT INTO huey_queue (name, data, receipt, lease_deadline) VALUES ('old', x'01', "
        "'1.ab', 1e12), ('old', x'02', NULL, NULL), ('old', x'03', NULL, NULL)"
    )
    conn.close()
    storage = make_storage('old')
    assert storage.leased_count() == 1 and storage.enqueued_items() == [b'\x02', b'\x03']
    assert {'huey_queue_waiting', 'huey_queue_leased'}.isdisjoint(_tables(db_path))
    assert set(SCHEMA_OBJECTS) <= _tables(db_path)
    assert storage.ack('1.ab') is True
    assert storage.lease(60).data == b'\x02'


def test_a_nan_lease_timeout_is_refused(make_storage):
    """SQLite would store a NaN deadline as NULL, the mark of a waiting row."""
    storage = make_storage()
    storage.enqueue_many([(b'a', None), (b'b', None)])
    with pytest.raises(ValueError, match='NaN'):
        storage.lease(float('nan'))
    lease = storage.lease(60)
    with pytest.raises(ValueError, match='NaN'):
        storage.ack_and_lease(lease.receipt, None, float('nan'), 'flag')
    with pytest.raises(ValueError, match='NaN'):
        storage.extend_leases([lease.receipt], float('nan'))
    assert storage.leased_count() == 1 and storage.queue_size() == 1


def test_a_foreign_huey_queue_table_is_refused_and_left_alone(make_storage, db_path):
    conn = sqlite3.connect(db_path, isolation_level=None)
    conn.execute('CREATE TABLE huey_queue (id INTEGER PRIMARY KEY, name TEXT, order_key INT)')
    conn.close()
    with pytest.raises(ValueError, match='order_key'):
        make_storage().enqueue(b'x')
    conn = sqlite3.connect(db_path)
    try:
        columns = [row[1] for row in conn.execute('PRAGMA table_info(huey_queue)')]
    finally:
        conn.close()
    assert columns == ['id', 'name', 'order_key']


@pytest.mark.parametrize('returning', [True, False] if HAS_RETURNING else [False])
def test_ack_and_lease_takes_the_next_message_in_the_same_transaction(make_storage, returning):
    storage = make_storage()
    storage._returning = returning
    storage.enqueue_many([(b'a', None), (b'b', None)])
    storage.put_data('flag', b'on')
    first = storage.lease(60)
    acked, second, flag = storage.ack_and_lease(first.receipt, ('result', b'1'), 60, 'flag')
    assert (acked, second.data, second.deliveries, flag) == (True, b'b', 1, b'on')
    assert storage.peek_data('result') == b'1'
    # the new lease is a real one: it can be acknowledged once
    assert storage.ack_and_lease(second.receipt, None, 60, 'flag') == (True, None, EmptyData)
    assert storage.ack(second.receipt) is False
    assert storage.leased_count() == 0 and storage.queue_size() == 0


@pytest.mark.parametrize('returning', [True, False] if HAS_RETURNING else [False])
def test_batched_leases_take_the_whole_batch_in_queue_order(make_storage, returning):
    storage = make_storage()
    storage._returning = returning
    storage.enqueue_many([(b'low', 0), (b'a', 5), (b'b', 5), (b'c', 5), (b'high', 9)])
    storage.put_data('flag', b'on')
    leases, flag = storage.lease_many(4, 60, 'flag')
    assert [lease.data for lease in leases] == [b'high', b'a', b'b', b'c'] and flag == b'on'
    assert storage.give_back([leases[1].receipt, leases[2].receipt]) == 2
    # given back to the head in the order given, as never leased
    acked, again, _ = storage.ack_many([(leases[0].receipt, ('r', b'1'))], 3, 60, 'flag')
    assert acked == 1 and storage.peek_data('r') == b'1'
    assert [(lease.data, lease.deliveries) for lease in again] == [
        (b'a', 1),
        (b'b', 1),
        (b'low', 1),
    ]
    assert storage.leased_count() == 4 and storage.queue_size() == 0


def test_a_share_of_the_waiting_messages_is_taken(make_storage):
    storage = make_storage()
    storage.enqueue_many([(b'%d' % i, None) for i in range(7)])
    leases, _ = storage.lease_many(10, 60, 'flag', share=3)
    assert len(leases) == 3  # a third of seven, rounded up
    _, more, _ = storage.ack_many([(leases[0].receipt, None)], 10, 60, 'flag', share=4)
    assert len(more) == 1  # a quarter of four
    # counting the waiting rows reads at most count x share index entries
    from huey_storage_sqlite.storage import _WAITING_UP_TO

    plan = ' / '.join(
        row[-1]
        for row in storage._pool.get().execute('EXPLAIN QUERY PLAN ' + _WAITING_UP_TO, ['n', 9])
    )
    assert 'SEARCH huey_queue USING COVERING INDEX huey_queue_order' in plan, plan


def test_a_batch_is_one_transaction(make_storage):
    storage = make_storage()
    storage.enqueue_many([(b'%d' % i, None) for i in range(6)])
    leases, _ = storage.lease_many(3, 60, 'flag')
    statements = []
    conn = storage._pool.get()
    conn.set_trace_callback(statements.append)
    storage.ack_many(
        [(lease.receipt, (f'r{n}', b'v')) for n, lease in enumerate(leases)], 3, 60, 'flag'
    )
    conn.set_trace_callback(None)
    assert [s.split()[0] for s in statements].count('BEGIN') == 1
    assert [s.split()[0] for s in statements].count('COMMIT') == 1
    assert storage.result_store_size() == 3 and storage.leased_count() == 3
