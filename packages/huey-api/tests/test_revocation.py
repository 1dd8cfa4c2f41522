"""Revoking and restoring task instances and task functions."""

from __future__ import annotations

import datetime
import time

import pytest
from huey import Huey
from huey.signals import SIGNAL_REVOKED
from huey_storage import MemoryStorage


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

    # once anything is revoked, every execution checks (another process
    # revoking is seen through the flag stored with the revocation)
    add.revoke(revoke_once=True)
    second = add(2, 3)
    delivery = huey.reserve()
    assert delivery.check_revoked
    huey.execute_delivery(delivery)
    assert second() is None
    assert huey.storage.revocation_reads == 1
    third = add(3, 4)
    huey.execute_delivery(huey.reserve())
    assert third() == 7
    assert huey.storage.revocation_reads == 2
