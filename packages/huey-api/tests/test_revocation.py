"""Revoking and restoring task instances and task functions."""

from __future__ import annotations

import datetime
import threading
import time

import pytest
from huey import Huey
from huey.signals import SIGNAL_REVOKED
from huey_api.constants import REVOCATION_COUNT, REVOKED_FLAG
from huey_storage import EmptyData, MemoryStorage


@pytest.fixture
def add(huey):
    @huey.task()
    def add(a, b):
        return a + b

    return add


def test_revoked_instance_is_skipped_and_signalled(huey, add, run_all):
    revoked = []
    huey.signal(SIGNAL_REVOKED)(lambda signal, task: revoked.append(task.id))
    skipped = add(1, 1)
    kept = add(2, 2)
    skipped.revoke()
    run_all(huey)
    assert skipped() is None and kept() == 4 and revoked == [skipped.id]


def test_revoke_by_id_and_restore_by_id(huey, add, run_all):
    result = add(1, 1)
    huey.revoke_by_id(result.id)
    assert huey.is_revoked(result.id)
    assert huey.restore_by_id(result.id) is True
    assert not huey.is_revoked(result.id)
    run_all(huey)
    assert result() == 2


def test_revoke_until_expires(huey, add):
    until = datetime.datetime.now() + datetime.timedelta(seconds=30)
    add.revoke(revoke_until=until)
    assert add.is_revoked()
    assert add.is_revoked(timestamp=time.time() + 29)
    assert not add.is_revoked(timestamp=time.time() + 31)
    task = add.s(1, 2)
    assert huey.execute(task, timestamp=time.time() + 31) == 3


def test_revoke_once_is_consumed_by_one_execution(huey, add, run_all):
    add.revoke(revoke_once=True)
    assert add.is_revoked()
    first, second = add(1, 1), add(2, 2)
    run_all(huey)
    assert first() is None and second() == 4
    assert not add.is_revoked()


def test_is_revoked_with_peek_false_consumes_revoke_once(huey, add):
    task = add.s(1, 2)
    huey.revoke(task, revoke_once=True)
    assert huey.is_revoked(task, peek=False) is True
    assert huey.is_revoked(task) is False


def test_revoke_all_and_restore_all_by_task_class(huey, add):
    huey.revoke_all(add.task_class)
    assert huey.is_revoked(add.s(1, 2))
    assert huey.restore_all(add.task_class) is True
    assert huey.restore_all(add.task_class) is False
    assert not huey.is_revoked(add)


def test_is_revoked_rejects_other_types(huey):
    with pytest.raises(TypeError, match='not a task'):
        huey.is_revoked(42)


class _CountingStorage(MemoryStorage):
    """A real MemoryStorage that counts revocation reads."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.revocation_reads = 0

    def peek_data_many(self, keys):
        self.revocation_reads += 1
        return super().peek_data_many(keys)


def test_revocation_check_costs_nothing_until_something_is_revoked():
    huey = Huey('flag', storage_class=_CountingStorage)

    @huey.task()
    def add(a, b):
        return a + b

    first = add(1, 2)
    huey.execute_delivery(huey.reserve())
    assert first() == 3
    assert huey.storage.revocation_reads == 0

    # while a revocation exists, every execution checks (another process
    # revoking is seen through the flag stored with the revocation)
    add.revoke()
    add.revoke(revoke_once=True)  # replaces the first: one revocation
    second = add(2, 3)
    delivery = huey.reserve()
    assert delivery.check_revoked
    huey.execute_delivery(delivery)
    assert second() is None
    assert huey.storage.revocation_reads == 1
    # the revoke-once was used up: the last revocation is gone, so is the cost
    third = add(3, 4)
    delivery = huey.reserve()
    assert not delivery.check_revoked
    huey.execute_delivery(delivery)
    assert third() == 7
    assert huey.storage.revocation_reads == 1


# -- the revocation flag is cleared once no revocation is left ----------------


class _PausingStorage(MemoryStorage):
    """A real MemoryStorage whose clearer can be held at one step, so another
    thread's revoke() runs in between (the interleavings the protocol covers)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.pause_at = None  # 'count' (before reading the counter) or 'flag'
        self.paused = threading.Event()
        self.resume = threading.Event()

    def _hold(self, step):
        if self.pause_at == step and threading.current_thread().name == 'clearer':
            self.paused.set()
            assert self.resume.wait(10), 'test never resumed the clearer'

    def peek_counters(self, keys):
        if REVOCATION_COUNT in keys:
            self._hold('count')
        return super().peek_counters(keys)

    def delete_data(self, key):
        if key == REVOKED_FLAG:
            self._hold('flag')
        return super().delete_data(key)


def _flag(huey):
    return huey.storage.peek_data(REVOKED_FLAG) is not EmptyData


def test_flag_is_cleared_when_the_last_revocation_goes(huey, add):
    first, second = add.s(1, 2), add.s(3, 4)
    huey.revoke_by_id(first.id)
    huey.revoke_by_id(second.id)
    add.revoke()
    assert huey.restore_all(add) and huey.restore_by_id(first.id) and _flag(huey)
    assert huey.restore_by_id(second.id)
    assert not _flag(huey)
    assert huey.reserve() is None
    add(5, 6)
    assert not huey.reserve().check_revoked


def test_lapsed_and_used_up_revocations_clear_the_flag(huey, add, run_all):
    add.revoke(revoke_once=True)
    until = add.s(7, 8)
    huey.revoke_by_id(until.id, revoke_until=time.time() + 3600)
    add(1, 1)
    run_all(huey)  # the revoke-once is used up; the timed one is left
    assert _flag(huey)
    huey.enqueue(until)
    run_all(huey, now=time.time() + 7200)  # lapsed: deleted when read
    assert not _flag(huey)


def test_flag_written_by_an_earlier_version_is_kept(huey, add):
    # earlier versions wrote b'1' and did not count their revocations
    huey.storage.put_data(REVOKED_FLAG, b'1')
    huey.storage.put_data('r:old-id', b'|0')
    huey.revoke_by_id('new-id')
    assert huey.restore_by_id('new-id')
    assert _flag(huey) and huey.is_revoked('old-id')


@pytest.mark.parametrize('pause_at', ['count', 'flag'])
def test_a_revocation_written_while_the_flag_is_cleared_is_never_missed(pause_at):
    huey = Huey('race', storage_class=_PausingStorage)

    @huey.task()
    def add(a, b):
        return a + b

    storage = huey.storage
    huey.revoke_by_id('gone')
    storage.pause_at = pause_at
    # the clearer restores the last revocation and is held (with the mark)
    # before it reads the counter, or after reading 0 and before deleting
    clearer = threading.Thread(target=huey.restore_by_id, args=('gone',), name='clearer')
    clearer.start()
    assert storage.paused.wait(10)
    revoked = add.s(1, 2)
    writer = threading.Thread(target=huey.revoke_by_id, args=(revoked.id,))
    writer.start()
    # the writer counted and wrote its revocation, then waits for the clearer
    deadline = time.monotonic() + 10
    while storage.peek_data(revoked.revoke_id) is EmptyData:
        assert time.monotonic() < deadline, 'the writer never wrote its revocation'
        writer.join(0.01)
    assert writer.is_alive()
    storage.resume.set()
    clearer.join(10)
    writer.join(10)
    assert not clearer.is_alive() and not writer.is_alive()
    assert _flag(huey)
    huey.enqueue(revoked)
    delivery = huey.reserve()
    assert delivery.check_revoked
    huey.execute_delivery(delivery)
    assert huey.result(revoked.id) is None and huey.is_revoked(revoked.id)


@pytest.mark.parametrize('backend', ['sqlite', pytest.param('redis', marks=pytest.mark.redis)])
def test_flag_is_cleared_on_real_storages(backend, tmp_path):
    from conftest import REDIS_DB, requires
    from huey_storage.testing.services import require_service

    if backend == 'sqlite':
        requires('huey_storage_sqlite')
        from huey import SqliteHuey

        huey = SqliteHuey('flag', filename=str(tmp_path / 'flag.db'))
    else:
        requires('huey_storage_redis')
        requires('redis')
        from huey import RedisHuey

        host, port = require_service('redis')
        huey = RedisHuey(f'flag-{time.time_ns()}', host=host, port=port, db=REDIS_DB)
    try:

        @huey.task()
        def add(a, b):
            return a + b

        kept = add.s(1, 2)
        huey.revoke_by_id(kept.id, revoke_once=True)
        add.revoke()
        huey.enqueue(kept)
        delivery = huey.reserve()
        assert delivery.check_revoked
        huey.execute_delivery(delivery)  # the revoke-once is used up
        assert _flag(huey) and huey.restore_all(add)
        assert not _flag(huey)
        huey.enqueue(add.s(3, 4))
        assert not huey.reserve().check_revoked
    finally:
        huey.flush()
        huey.storage.close()
