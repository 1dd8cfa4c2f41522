"""MariaDB/MySQL specifics: exact keys, lost connections, deadlocks retried."""

from __future__ import annotations

import threading
import time

import peewee
import pytest
from huey_storage import EmptyData
from huey_storage_sql import SqlStorage

pytestmark = pytest.mark.mysql


def test_keys_compare_exactly(mysql_target):
    # MySQL's usual text collations would treat all of these as one key.
    storage = SqlStorage('keys', database=mysql_target.url())
    keys = ['key', 'KEY', 'key ', 'kéy', 'keý']
    for index, key in enumerate(keys):
        storage.put_data(key, b'%d' % index)
    assert storage.peek_data_many(keys) == [b'0', b'1', b'2', b'3', b'4']
    assert storage.pop_data('key ') == b'2'
    assert storage.peek_data('key') == b'0'
    assert storage.peek_data('key ') is EmptyData
    storage.close()


def test_reconnects_after_the_server_dropped_the_connection(mysql_target):
    storage = SqlStorage('dropped', database=mysql_target.database())
    storage.enqueue(b'kept')
    old_id = storage.database.execute_sql('SELECT CONNECTION_ID()').fetchone()[0]
    admin = mysql_target.admin()
    with admin.cursor() as cursor:
        cursor.execute(f'KILL CONNECTION {old_id}')
    admin.close()
    try:  # the call that finds the connection dead may fail...
        storage.queue_size()
    except (peewee.OperationalError, peewee.InterfaceError):
        pass
    # ...the next ones run on a new connection
    assert storage.queue_size() == 1
    assert storage.database.execute_sql('SELECT CONNECTION_ID()').fetchone()[0] != old_id
    storage.close()


def _race_acks_against_a_requeue(storage, acker, requeuer) -> tuple[int, int]:
    storage.enqueue_many((b'%d' % i, None) for i in range(100))
    leases = [storage.lease(60) for _ in range(100)]
    outcome, errors = {}, []

    def ack_all() -> None:
        try:
            outcome['acked'] = sum(acker.ack(lease.receipt) for lease in leases)
        except Exception as exc:  # reported below
            errors.append(exc)

    def requeue() -> None:
        try:
            outcome['requeued'] = requeuer.requeue_expired_leases(time.time() + 3600)
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=ack_all), threading.Thread(target=requeue)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    return outcome['acked'], outcome['requeued']


@pytest.mark.parametrize('isolation', ['url-read-committed', 'database-repeatable-read'])
def test_acks_racing_a_requeue_are_retried_not_raised(mysql_target, isolation):
    """InnoDB deadlocks between a many-row requeue and single-row acks (they lock
    two indexes in opposite orders); the loser is retried transparently."""

    def make() -> SqlStorage:
        if isolation == 'url-read-committed':
            return SqlStorage('race', database=mysql_target.url())
        return SqlStorage('race', database=mysql_target.database())

    storage, acker, requeuer = make(), make(), make()
    for _ in range(5):
        acked, requeued = _race_acks_against_a_requeue(storage, acker, requeuer)
        assert acked + requeued == 100
        assert storage.queue_size() == requeued
        storage.flush_queue()
    for handle in (storage, acker, requeuer):
        handle.close()
