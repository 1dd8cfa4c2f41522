"""Conformance tests: many threads on one storage, through one or several handles.

Each race is a function taking the ``storage`` and ``handles(count)``, a callable
returning the handles the racing threads use. ``ConcurrencyContract`` runs every
race with all threads sharing the ``storage`` handle; ``SharedConcurrencyContract``
runs them again with a handle per thread from ``storage_factory``, as separate
consumers would.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Callable

import pytest

from huey_storage.base import BaseStorage, EmptyData
from huey_storage.testing._helpers import drain, run_threads

__all__ = ['ConcurrencyContract', 'SharedConcurrencyContract']

PRODUCERS = 4
CONSUMERS = 4
PER_PRODUCER = 500
ROUNDS = 20  # repetitions of the "only one wins" races

#: ``handles(count)``: the storage handles ``count`` racing threads use, one each.
Handles = Callable[[int], 'list[BaseStorage]']


def _enqueue_and_lease_deliver_each_message_once(storage: BaseStorage, handles: Handles) -> None:
    producers = handles(PRODUCERS)
    consumers = handles(CONSUMERS)
    total = PRODUCERS * PER_PRODUCER
    delivered: list[list[bytes]] = [[] for _ in range(CONSUMERS)]
    acked = collections.Counter()
    done = threading.Event()
    lock = threading.Lock()

    def produce(producer: int) -> None:
        handle = producers[producer]
        for i in range(PER_PRODUCER):
            handle.enqueue(b'%d-%d' % (producer, i))

    def consume(consumer: int) -> None:
        handle = consumers[consumer]
        deadline = time.monotonic() + 30
        while not done.is_set():
            if time.monotonic() > deadline:
                raise AssertionError(f'consumer {consumer} timed out')
            lease = handle.lease(60)
            if lease is None:
                time.sleep(0.001)
                continue
            assert lease.deliveries == 1
            delivered[consumer].append(lease.data)
            assert handle.ack(lease.receipt) is True
            with lock:
                acked['n'] += 1
                if acked['n'] == total:
                    done.set()

    run_threads(
        [lambda p=p: produce(p) for p in range(PRODUCERS)]
        + [lambda c=c: consume(c) for c in range(CONSUMERS)]
    )
    counts = collections.Counter(message for batch in delivered for message in batch)
    expected = {b'%d-%d' % (p, i) for p in range(PRODUCERS) for i in range(PER_PRODUCER)}
    assert set(counts) == expected
    assert max(counts.values()) == 1
    assert storage.queue_size() == 0
    assert storage.leased_count() == 0
    # FIFO: each consumer got each producer's messages in the order they were sent
    for batch in delivered:
        for p in range(PRODUCERS):
            mine = [int(m.split(b'-')[1]) for m in batch if m.startswith(b'%d-' % p)]
            assert mine == sorted(mine)


def _dequeue_delivers_each_message_once(storage: BaseStorage, handles: Handles) -> None:
    handles = handles(4)
    storage.enqueue_many((b'%d' % i, None) for i in range(1000))
    taken: list[list[bytes]] = [[] for _ in handles]
    run_threads([lambda t=t: taken[t].extend(drain(handles[t])) for t in range(4)])
    everything = [m for batch in taken for m in batch]
    assert sorted(everything) == sorted(b'%d' % i for i in range(1000))


def _pop_data_has_one_winner(storage: BaseStorage, handles: Handles) -> None:
    handles = handles(4)
    for round_ in range(ROUNDS):
        key = f'popped-{round_}'
        storage.put_data(key, b'prize')
        barrier = threading.Barrier(len(handles))
        won = []

        def pop(handle, key=key, barrier=barrier, won=won):
            barrier.wait()
            value = handle.pop_data(key)
            if value is not EmptyData:
                won.append(value)

        run_threads([lambda h=h: pop(h) for h in handles])
        assert won == ([b'prize'] if storage.destructive_reads else [b'prize'] * len(handles))


def _put_if_empty_has_one_winner(storage: BaseStorage, handles: Handles) -> None:
    handles = handles(4)
    for round_ in range(ROUNDS):
        key = f'lock-{round_}'
        barrier = threading.Barrier(len(handles))
        won = []

        def grab(n, key=key, barrier=barrier, won=won):
            barrier.wait()
            if handles[n].put_if_empty(key, b'%d' % n, ttl=60):
                won.append(b'%d' % n)

        run_threads([lambda n=n: grab(n) for n in range(len(handles))])
        assert len(won) == 1
        assert storage.peek_data(key) == won[0]


def _incr_loses_no_update(storage: BaseStorage, handles: Handles) -> None:
    handles = handles(4)

    def bump(handle):
        for _ in range(200):
            handle.incr('counter')

    run_threads([lambda h=h: bump(h) for h in handles])
    assert storage.incr('counter', 0) == 800


def _enqueue_due_moves_each_item_once(storage: BaseStorage, handles: Handles) -> None:
    handles = handles(2)
    now = time.time()
    for i in range(200):
        storage.add_to_schedule(b'%d' % i, now - 200 + i)
    barrier = threading.Barrier(2)
    moved = []

    def move(handle):
        barrier.wait()
        moved.append(sum(handle.enqueue_due(now) for _ in range(5)))

    run_threads([lambda h=h: move(h) for h in handles])
    assert sum(moved) == 200
    assert storage.schedule_size() == 0
    assert sorted(drain(storage)) == sorted(b'%d' % i for i in range(200))


def _requeue_expired_leases_requeues_once(storage: BaseStorage, handles: Handles) -> None:
    handles = handles(2)
    storage.enqueue_many((b'%d' % i, None) for i in range(100))
    for _ in range(100):
        storage.lease(60)
    barrier = threading.Barrier(2)
    requeued = []

    def requeue(handle):
        barrier.wait()
        requeued.append(handle.requeue_expired_leases(time.time() + 3600))

    run_threads([lambda h=h: requeue(h) for h in handles])
    assert sum(requeued) == 100
    assert storage.leased_count() == 0
    assert sorted(drain(storage)) == sorted(b'%d' % i for i in range(100))


def _ack_and_requeue_never_duplicate(storage: BaseStorage, handles: Handles) -> None:
    acker, requeuer = handles(2)
    storage.enqueue_many((b'%d' % i, None) for i in range(100))
    leases = [storage.lease(60) for _ in range(100)]
    acked = []
    requeued = []

    def ack_all():
        acked.append(sum(acker.ack(lease.receipt) for lease in leases))

    def requeue():
        requeued.append(requeuer.requeue_expired_leases(time.time() + 3600))

    run_threads([ack_all, requeue])
    # every message was either acknowledged or requeued, never both
    assert acked[0] + requeued[0] == 100
    assert storage.queue_size() == requeued[0]
    assert storage.leased_count() == 0


class ConcurrencyContract:
    """Exactly-once delivery and atomic data operations, threads sharing one handle."""

    @pytest.fixture
    def one_handle(self, storage) -> Handles:
        return lambda count: [storage] * count

    def test_concurrent_enqueue_and_lease_deliver_each_message_once(self, storage, one_handle):
        _enqueue_and_lease_deliver_each_message_once(storage, one_handle)

    def test_concurrent_dequeue_delivers_each_message_once(self, storage, one_handle):
        _dequeue_delivers_each_message_once(storage, one_handle)

    def test_concurrent_pop_data_has_one_winner(self, storage, one_handle):
        _pop_data_has_one_winner(storage, one_handle)

    def test_concurrent_put_if_empty_has_one_winner(self, storage, one_handle):
        _put_if_empty_has_one_winner(storage, one_handle)

    def test_concurrent_incr_loses_no_update(self, storage, one_handle):
        _incr_loses_no_update(storage, one_handle)

    def test_concurrent_enqueue_due_moves_each_item_once(self, storage, one_handle):
        _enqueue_due_moves_each_item_once(storage, one_handle)

    def test_concurrent_requeue_expired_leases_requeues_once(self, storage, one_handle):
        _requeue_expired_leases_requeues_once(storage, one_handle)

    def test_concurrent_ack_and_requeue_never_duplicate(self, storage, one_handle):
        _ack_and_requeue_never_duplicate(storage, one_handle)


class SharedConcurrencyContract:
    """The same races with a handle per thread from ``storage_factory``."""

    @pytest.fixture
    def handle_per_thread(self, storage_factory) -> Handles:
        return lambda count: [storage_factory() for _ in range(count)]

    def test_per_thread_enqueue_and_lease_deliver_each_message_once(
        self, storage, handle_per_thread
    ):
        _enqueue_and_lease_deliver_each_message_once(storage, handle_per_thread)

    def test_per_thread_dequeue_delivers_each_message_once(self, storage, handle_per_thread):
        _dequeue_delivers_each_message_once(storage, handle_per_thread)

    def test_per_thread_pop_data_has_one_winner(self, storage, handle_per_thread):
        _pop_data_has_one_winner(storage, handle_per_thread)

    def test_per_thread_put_if_empty_has_one_winner(self, storage, handle_per_thread):
        _put_if_empty_has_one_winner(storage, handle_per_thread)

    def test_per_thread_incr_loses_no_update(self, storage, handle_per_thread):
        _incr_loses_no_update(storage, handle_per_thread)

    def test_per_thread_enqueue_due_moves_each_item_once(self, storage, handle_per_thread):
        _enqueue_due_moves_each_item_once(storage, handle_per_thread)

    def test_per_thread_requeue_expired_leases_requeues_once(self, storage, handle_per_thread):
        _requeue_expired_leases_requeues_once(storage, handle_per_thread)

    def test_per_thread_ack_and_requeue_never_duplicate(self, storage, handle_per_thread):
        _ack_and_requeue_never_duplicate(storage, handle_per_thread)
