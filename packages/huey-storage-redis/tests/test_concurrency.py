"""Several handles (separate connection pools) racing on one storage's scripts."""

from __future__ import annotations

import collections
import threading
import time

import pytest
from huey_storage_redis import PriorityRedisStorage, RedisStorage

pytestmark = pytest.mark.redis

HANDLES = 4


def _race(targets) -> None:
    barrier = threading.Barrier(len(targets))
    errors = []

    def run(target):
        try:
            barrier.wait()
            target()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(target,), daemon=True) for target in targets]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
        assert not thread.is_alive(), 'a racing thread hung'
    if errors:
        raise errors[0]


def _drain_leases(storage) -> list:
    leases = []
    while (lease := storage.lease(60)) is not None:
        leases.append(lease)
    return leases


@pytest.mark.parametrize('cls', [RedisStorage, PriorityRedisStorage])
def test_concurrent_reapers_never_requeue_a_lease_twice(make_storage, cls):
    storage = make_storage(cls, blocking=False)
    handles = [make_storage(cls, name=storage.name, blocking=False) for _ in range(HANDLES)]
    count = 1500  # more than one script batch per reaper
    storage.enqueue_many((b'%d' % i, i % 3) for i in range(count))
    for _ in range(count):
        storage.lease(0.001)
    requeued = []
    _race(
        [lambda h=h: requeued.append(h.requeue_expired_leases(time.time() + 60)) for h in handles]
    )
    assert sum(requeued) == count
    assert storage.leased_count() == 0
    leases = _drain_leases(storage)
    assert sorted(lease.data for lease in leases) == sorted(b'%d' % i for i in range(count))
    assert {lease.deliveries for lease in leases} == {2}


@pytest.mark.parametrize('cls', [RedisStorage, PriorityRedisStorage])
def test_concurrent_schedulers_never_move_an_item_twice(make_storage, cls):
    storage = make_storage(cls, blocking=False)
    handles = [make_storage(cls, name=storage.name, blocking=False) for _ in range(HANDLES)]
    count = 1500
    now = time.time()
    for i in range(count):
        storage.add_to_schedule(b'%d' % i, now - count + i, priority=i % 2)
    moved = []
    _race([lambda h=h: moved.append(sum(h.enqueue_due(now) for _ in range(3))) for h in handles])
    assert sum(moved) == count
    messages = collections.Counter(lease.data for lease in _drain_leases(storage))
    assert set(messages) == {b'%d' % i for i in range(count)}
    assert max(messages.values()) == 1


def test_concurrent_read_schedule_hands_each_item_out_once(make_storage):
    storage = make_storage(blocking=False)
    handles = [make_storage(name=storage.name) for _ in range(HANDLES)]
    now = time.time()
    for i in range(1200):
        storage.add_to_schedule(b'%d' % i, now - 1)
    read = []
    _race([lambda h=h: read.extend(h.read_schedule(now)) for h in handles])
    assert sorted(read) == sorted(b'%d' % i for i in range(1200))


def test_reaper_racing_acks_and_dead_letters(make_storage):
    storage = make_storage(blocking=False)
    reaper = make_storage(name=storage.name)
    storage.enqueue_many((b'%d' % i, None) for i in range(300))
    leases = [storage.lease(0.001) for _ in range(300)]
    outcomes = {}

    def settle():
        for i, lease in enumerate(leases):
            if i % 2:
                outcomes[lease.data] = storage.ack(lease.receipt)
            else:
                outcomes[lease.data] = storage.dead_letter(lease.receipt, 'poison') is not None

    requeued = []
    _race([settle, lambda: requeued.append(reaper.requeue_expired_leases(time.time() + 60))])
    settled = sum(outcomes.values())
    assert settled + requeued[0] == 300
    assert storage.queue_size() == requeued[0]
    assert (
        len(storage.dead_letters())
        + sum(1 for i, lease in enumerate(leases) if i % 2 and outcomes[lease.data])
        == settled
    )
