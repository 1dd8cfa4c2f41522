"""The database file is private to its owner, and results can expire."""

from __future__ import annotations

import os
import stat
import time

import pytest
from huey_storage import EmptyData
from huey_storage_sqlite import SqliteStorage


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_the_file_and_its_wal_are_created_private(make_storage, db_path):
    old_umask = os.umask(0o022)  # a usual umask: SQLite alone would make them 0644
    try:
        storage = make_storage()
        storage.enqueue(b'x')
    finally:
        os.umask(old_umask)
    assert _mode(db_path) == 0o600
    assert os.path.exists(db_path + '-wal')
    assert _mode(db_path + '-wal') == 0o600
    assert _mode(db_path + '-shm') == 0o600


def test_mode_gives_other_permissions(make_storage, db_path):
    storage = make_storage(mode=0o640)
    storage.enqueue(b'x')
    assert _mode(db_path) == 0o640


def test_mode_none_leaves_them_to_the_umask(make_storage, db_path):
    old_umask = os.umask(0o027)
    try:
        make_storage(mode=None).enqueue(b'x')
    finally:
        os.umask(old_umask)
    assert _mode(db_path) == 0o640


def test_an_existing_file_keeps_its_mode(make_storage, db_path):
    open(db_path, 'wb').close()
    os.chmod(db_path, 0o644)
    make_storage().enqueue(b'x')
    assert _mode(db_path) == 0o644


@pytest.mark.parametrize('mode', [-1, 0o1000, '600', True])
def test_a_bad_mode_is_refused(mode, db_path):
    with pytest.raises(ValueError, match=r'SqliteStorage\(mode='):
        SqliteStorage(filename=db_path, mode=mode)


def _wait_gone(storage, keys, timeout=10.0):
    deadline = time.monotonic() + timeout
    while storage.peek_data_many(keys) != [EmptyData] * len(keys):
        assert time.monotonic() < deadline, f'{keys} did not expire'
        time.sleep(0.02)


def test_results_expire_with_expire_time(make_storage):
    storage = make_storage(expire_time=0.3)
    storage.put_data('data', b'kept')  # not a result: stays
    storage.put_data('result', b'v', is_result=True)
    storage.enqueue(b'a')
    storage.enqueue(b'b')
    storage.ack(storage.lease(30).receipt, ('acked', b'v'))
    _, lease, _ = storage.ack_and_lease(storage.lease(30).receipt, ('both', b'v'), 30, 'x')
    assert storage.peek_data_many(['result', 'acked', 'both']) == [b'v'] * 3
    _wait_gone(storage, ['result', 'acked', 'both'])
    assert storage.peek_data('data') == b'kept'
    assert storage.pop_data('result') is EmptyData


def test_results_stay_without_expire_time(make_storage):
    storage = make_storage()
    storage.put_data('result', b'v', is_result=True)
    row = storage.conn.execute("SELECT expires_at FROM huey_kv WHERE key = 'result'").fetchone()
    assert row == (None,)


def test_a_bad_expire_time_is_refused(db_path):
    with pytest.raises(ValueError, match='SqliteStorage expire_time=0'):
        SqliteStorage(filename=db_path, expire_time=0)
