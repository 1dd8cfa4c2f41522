"""Conformance tests: leases (at-least-once delivery) and dead letters."""

from __future__ import annotations

import time

import pytest

from huey_storage.base import BaseStorage, DeadLetter, EmptyData, Lease
from huey_storage.testing._helpers import wait_until

__all__ = ['DeadLetterContract', 'LeaseContract', 'LeaseOwnerContract']

FUTURE = 3600.0  # seconds ahead: "every lease has expired by then"


class LeaseContract:
    """lease, ack, extend_leases, release, requeue_expired_leases, leased_count."""

    def test_lease_hides_the_message(self, storage):
        storage.enqueue(b'a')
        storage.enqueue(b'b')
        lease = storage.lease(60)
        assert isinstance(lease, Lease)
        assert lease.data == b'a'
        assert lease.deliveries == 1
        assert isinstance(lease.receipt, str) and lease.receipt
        assert storage.queue_size() == 1
        assert storage.leased_count() == 1
        assert storage.enqueued_items() == [b'b']
        assert storage.dequeue() == b'b'
        assert storage.dequeue() is None
        assert storage.lease(60) is None
        assert storage.leased_count() == 1

    def test_lease_with_data_reads_a_key_with_the_message(self, storage):
        assert storage.lease_with_data(60, 'flag') == (None, EmptyData)
        storage.put_data('flag', b'on')
        assert storage.lease_with_data(60, 'flag') == (None, EmptyData)
        storage.enqueue(b'a')
        storage.enqueue(b'b')
        lease, value = storage.lease_with_data(60, 'flag')
        assert (lease.data, lease.deliveries, value) == (b'a', 1, b'on')
        assert storage.leased_count() == 1
        assert storage.peek_data('flag') == b'on'
        storage.delete_data('flag')
        second, missing = storage.lease_with_data(60, 'flag')
        assert (second.data, missing) == (b'b', EmptyData)
        assert storage.ack(lease.receipt) and storage.ack(second.receipt)
        assert storage.leased_count() == 0

    def test_ack_and_lease_acknowledges_and_may_take_the_next(self, storage):
        storage.enqueue(b'a')
        storage.enqueue(b'b')
        storage.put_data('flag', b'on')
        first = storage.lease(60)
        acked, second, value = storage.ack_and_lease(first.receipt, ('r', b'1'), 60, 'flag')
        assert acked is True
        assert storage.peek_data('r') == b'1'
        assert storage.result_items() == {'flag': b'on', 'r': b'1'}
        if second is None:  # a backend that only acknowledges here
            assert value is EmptyData
            second = storage.lease(60)
        else:
            assert value == b'on'
        assert second.data == b'b'
        assert storage.leased_count() == 1
        started = time.monotonic()
        acked, third, value = storage.ack_and_lease(second.receipt, None, 60, 'flag')
        assert (acked, third, value) == (True, None, EmptyData)
        assert time.monotonic() - started < 0.5  # an empty queue is not waited on
        assert storage.leased_count() == 0
        assert storage.ack_and_lease(second.receipt, None, 60, 'flag')[0] is False

    def test_lease_many_takes_waiting_messages_in_order(self, storage):
        assert storage.lease_many(3, 60, 'flag') == ([], EmptyData)
        for item in (b'a', b'b', b'c', b'd'):
            storage.enqueue(item)
        storage.put_data('flag', b'on')
        leases, value = storage.lease_many(3, 60, 'flag')
        assert value == b'on'
        assert 1 <= len(leases) <= 3  # the default leases one
        assert [lease.data for lease in leases] == [b'a', b'b', b'c'][: len(leases)]
        assert all(lease.deliveries == 1 for lease in leases)
        assert len({lease.receipt for lease in leases}) == len(leases)
        assert storage.leased_count() == len(leases)
        assert storage.queue_size() == 4 - len(leases)
        rest = []
        while storage.queue_size():  # a partial batch: fewer waiting than asked for
            rest += storage.lease_many(10, 60, 'flag')[0]
        assert [lease.data for lease in leases + rest] == [b'a', b'b', b'c', b'd']
        assert storage.lease_many(3, 60, 'flag') == ([], EmptyData)
        for lease in leases + rest:  # each lease is its own
            assert storage.ack(lease.receipt) is True
            assert storage.ack(lease.receipt) is False
        assert storage.leased_count() == 0

    def test_lease_many_leases_count_deliveries(self, storage):
        storage.enqueue(b'a')
        storage.enqueue(b'b')
        leases, _ = storage.lease_many(2, 60, 'flag')
        for lease in leases:
            assert storage.release(lease.receipt) is True
        again = []
        while storage.queue_size():
            again += storage.lease_many(2, 60, 'flag')[0]
        assert sorted((lease.data, lease.deliveries) for lease in again) == [
            (b'a', 1 + (len(leases) > 0)),
            (b'b', 1 + (len(leases) > 1)),
        ]
        for lease in again:
            storage.ack(lease.receipt)
        storage.enqueue(b'c')
        (lease,), _ = storage.lease_many(5, 60, 'flag')
        assert storage.requeue_expired_leases(time.time() + FUTURE) == 1
        assert storage.lease_many(5, 60, 'flag')[0][0].deliveries == 2

    def test_batched_leases_leave_the_others_their_share(self, storage):
        for i in range(5):
            storage.enqueue(b'%d' % i)
        leases, _ = storage.lease_many(10, 60, 'flag', share=2)
        assert 1 <= len(leases) <= 3  # at most half of five, rounded up
        waiting = 5 - len(leases)
        _, more, _ = storage.ack_many([(leases[0].receipt, None)], 10, 60, 'flag', share=4)
        assert len(more) <= -(-waiting // 4)
        assert storage.leased_count() == len(leases) - 1 + len(more)

    def test_give_back_returns_unstarted_leases_to_the_head_in_order(self, storage):
        for item in (b'a', b'b', b'c', b'd'):
            storage.enqueue(item)
        taken = [storage.lease(60) for _ in range(3)]
        assert storage.give_back([lease.receipt for lease in taken[1:]]) == 2
        assert storage.give_back([taken[1].receipt]) == 0  # no longer held
        assert storage.enqueued_items() == [b'b', b'c', b'd']
        assert storage.leased_count() == 1
        native = type(storage).give_back is not BaseStorage.give_back
        again = storage.lease(60)  # natively as if never leased; the default releases
        assert (again.data, again.deliveries) == (b'b', 1 if native else 2)
        assert storage.give_back([]) == 0

    def test_ack_many_stores_each_result_with_its_ack(self, storage):
        for item in (b'a', b'b', b'c'):
            storage.enqueue(item)
        taken = [storage.lease(60) for _ in range(3)]
        stale = storage.lease(60)
        assert stale is None
        acks = [(taken[0].receipt, ('r0', b'0')), (taken[1].receipt, None)]
        acks.append((taken[2].receipt, ('r2', b'2')))
        acks.append(('no-such-receipt', ('r3', b'3')))  # a lost lease's result is stored too
        acked, leases, value = storage.ack_many(acks)
        assert (acked, leases, value) == (3, [], EmptyData)
        assert storage.result_items() == {'r0': b'0', 'r2': b'2', 'r3': b'3'}
        assert storage.leased_count() == 0
        assert storage.ack_many([(taken[0].receipt, None)]) == (0, [], EmptyData)
        assert storage.ack_many([]) == (0, [], EmptyData)

    def test_ack_many_may_take_waiting_messages_without_waiting(self, storage):
        for item in (b'a', b'b', b'c', b'd'):
            storage.enqueue(item)
        storage.put_data('flag', b'on')
        first = storage.lease(60)
        acked, leases, value = storage.ack_many([(first.receipt, ('r', b'1'))], 2, 60, 'flag')
        assert acked == 1 and storage.peek_data('r') == b'1'
        assert len(leases) <= 2  # the default takes at most one
        assert value == (b'on' if leases else EmptyData)
        assert [lease.data for lease in leases] == [b'b', b'c'][: len(leases)]
        assert storage.leased_count() == len(leases)
        rest = [storage.lease(60) for _ in range(storage.queue_size())]
        started = time.monotonic()
        acks = [(lease.receipt, None) for lease in leases + rest]
        assert storage.ack_many(acks, 3, 60, 'flag') == (len(acks), [], EmptyData)
        assert time.monotonic() - started < 0.5  # an empty queue is not waited on
        assert storage.leased_count() == 0

    def test_receipts_are_unique(self, storage):
        for i in range(20):
            storage.enqueue(b'%d' % i)
        receipts = {storage.lease(60).receipt for _ in range(20)}
        assert len(receipts) == 20
        assert storage.leased_count() == 20

    def test_ack_once(self, storage):
        storage.enqueue(b'a')
        lease = storage.lease(60)
        assert storage.ack(lease.receipt) is True
        assert storage.ack(lease.receipt) is False
        assert storage.leased_count() == 0
        assert storage.queue_size() == 0
        assert storage.requeue_expired_leases(time.time() + FUTURE) == 0
        assert storage.dequeue() is None

    def test_ack_unknown_receipt(self, storage):
        assert storage.ack('no-such-receipt') is False
        assert storage.release('no-such-receipt') is False
        assert storage.dead_letter('no-such-receipt', 'why') is None
        assert storage.dead_letters() == []

    def test_ack_with_result_stores_it(self, storage):
        storage.enqueue(b'task')
        lease = storage.lease(60)
        assert storage.ack(lease.receipt, result=('result-key', b'42')) is True
        assert storage.leased_count() == 0
        assert storage.peek_data('result-key') == b'42'
        assert storage.result_items() == {'result-key': b'42'}
        assert storage.result_store_size() == 1

    def test_ack_with_result_after_the_lease_was_lost(self, storage):
        storage.enqueue(b'task')
        lease = storage.lease(60)
        assert storage.requeue_expired_leases(time.time() + FUTURE) == 1
        assert storage.ack(lease.receipt, result=('late', b'v')) is False
        assert storage.peek_data('late') == b'v'
        assert storage.result_store_size() == 1
        assert storage.queue_size() == 1  # the requeued copy is still there

    def test_requeue_expired_leases(self, storage):
        storage.enqueue(b'a')
        storage.enqueue(b'b')
        lease = storage.lease(60)
        assert storage.requeue_expired_leases(time.time()) == 0
        assert storage.leased_count() == 1
        assert storage.requeue_expired_leases(time.time() + FUTURE) == 1
        assert storage.leased_count() == 0
        assert storage.enqueued_items() == [b'a', b'b']  # back at the head
        again = storage.lease(60)
        assert (again.data, again.deliveries) == (b'a', 2)
        assert again.receipt != lease.receipt
        assert storage.ack(lease.receipt) is False  # the old lease is gone
        assert storage.requeue_expired_leases(time.time() + FUTURE) == 1
        third = storage.lease(60)
        assert (third.data, third.deliveries) == (b'a', 3)
        assert storage.ack(third.receipt) is True
        assert storage.enqueued_items() == [b'b']

    def test_requeue_expired_leases_puts_all_at_the_head(self, storage):
        for item in (b'a', b'b', b'c', b'd'):
            storage.enqueue(item)
        first, second = storage.lease(60), storage.lease(60)
        assert (first.data, second.data) == (b'a', b'b')
        assert storage.requeue_expired_leases(time.time() + FUTURE) == 2
        # both ahead of the waiting messages; their order between them is open
        items = storage.enqueued_items()
        assert sorted(items[:2]) == [b'a', b'b']
        assert items[2:] == [b'c', b'd']

    def test_requeue_expired_leases_defaults_to_now(self, storage):
        storage.enqueue(b'short')
        storage.enqueue(b'long')
        storage.lease(0.05)
        storage.lease(60)
        requeued = []
        wait_until(
            lambda: requeued.append(storage.requeue_expired_leases()) or sum(requeued),
            message='a lease of 0.05 s expiring',
        )
        assert sum(requeued) == 1
        assert storage.leased_count() == 1
        lease = storage.lease(60)
        assert (lease.data, lease.deliveries) == (b'short', 2)

    def test_extend_leases_keeps_a_lease_alive(self, storage):
        storage.enqueue(b'extended')
        storage.enqueue(b'not-extended')
        kept = storage.lease(10)
        lost = storage.lease(10)
        assert storage.extend_leases([kept.receipt, 'no-such-receipt'], 1000) == 1
        assert storage.requeue_expired_leases(time.time() + 500) == 1
        assert storage.leased_count() == 1
        assert storage.enqueued_items() == [b'not-extended']
        assert storage.ack(lost.receipt) is False
        assert storage.requeue_expired_leases(time.time() + 2000) == 1
        assert storage.ack(kept.receipt) is False

    def test_extend_leases_of_nothing(self, storage):
        assert storage.extend_leases([], 10) == 0
        assert storage.extend_leases(['no-such-receipt'], 10) == 0

    def test_extend_leases_skips_acked_and_expired(self, storage):
        storage.enqueue(b'acked')
        storage.enqueue(b'expired')
        acked = storage.lease(60)
        expired = storage.lease(0.05)
        storage.ack(acked.receipt)
        deadline = time.time() + 0.05
        while time.time() <= deadline + 0.1:  # past the lease deadline, whatever the timing
            time.sleep(0.05)
        assert storage.extend_leases([acked.receipt, expired.receipt], 60) == 0
        assert storage.requeue_expired_leases() == 1

    def test_release_returns_to_the_head(self, storage):
        for item in (b'a', b'b', b'c'):
            storage.enqueue(item)
        lease = storage.lease(60)
        assert storage.release(lease.receipt) is True
        assert storage.release(lease.receipt) is False
        assert storage.ack(lease.receipt) is False
        assert storage.leased_count() == 0
        assert storage.enqueued_items() == [b'a', b'b', b'c']
        again = storage.lease(60)
        assert (again.data, again.deliveries) == (b'a', 2)

    def test_release_counts_a_delivery(self, storage):
        # a message given back by every shutdown must reach max_deliveries
        storage.enqueue(b'a')
        storage.lease(60)
        storage.requeue_expired_leases(time.time() + FUTURE)
        second = storage.lease(60)
        assert second.deliveries == 2
        storage.release(second.receipt)
        assert storage.lease(60).deliveries == 3


class LeaseOwnerContract:
    """lease_owner and heartbeat: a lapsed owner's leases come back at once."""

    LONG = 7200.0  # a lease deadline no test reaches

    def test_a_live_owners_leases_wait_for_their_deadline(self, storage):
        storage.heartbeat('consumer-1', 60)
        storage.lease_owner = 'consumer-1'
        storage.enqueue(b'a')
        storage.lease(self.LONG)
        assert storage.requeue_expired_leases() == 0
        assert storage.leased_count() == 1

    def test_a_lapsed_owners_leases_come_back_at_once(self, storage):
        storage.heartbeat('consumer-1', 60)
        storage.lease_owner = 'consumer-1'
        storage.enqueue(b'a')
        storage.enqueue(b'b')
        storage.lease(self.LONG)
        assert storage.requeue_expired_leases(time.time() + 120) == 1
        again = storage.lease(self.LONG)
        assert (again.data, again.deliveries) == (b'a', 2)

    def test_a_stopped_owner_lapses_at_once(self, storage):
        storage.heartbeat('consumer-1', 60)
        storage.lease_owner = 'consumer-1'
        storage.enqueue(b'a')
        storage.lease(self.LONG)
        storage.heartbeat('consumer-1', 0)
        assert storage.requeue_expired_leases(time.time() + 1) == 1
        assert storage.requeue_expired_leases(time.time() + 1) == 0

    def test_an_owner_never_heard_of_counts_as_lapsed(self, storage):
        storage.lease_owner = 'ghost'
        storage.enqueue(b'a')
        storage.lease(self.LONG)
        assert storage.requeue_expired_leases() == 1

    def test_a_beating_owner_survives_the_others_lapsing(self, storage):
        storage.heartbeat('alive', 600)
        storage.heartbeat('dead', 60)
        storage.enqueue(b'a')
        storage.enqueue(b'b')
        storage.lease_owner = 'alive'
        storage.lease(self.LONG)
        storage.lease_owner = 'dead'
        storage.lease(self.LONG)
        assert storage.requeue_expired_leases(time.time() + 120) == 1
        assert storage.enqueued_items() == [b'b']

    def test_leases_without_an_owner_only_expire(self, storage):
        storage.enqueue(b'a')
        storage.lease(self.LONG)
        assert storage.requeue_expired_leases(time.time() + 120) == 0
        assert storage.requeue_expired_leases(time.time() + self.LONG + 1) == 1

    def test_every_way_of_leasing_records_the_owner(self, storage):
        storage.lease_owner = 'ghost'
        for item in (b'a', b'b', b'c'):
            storage.enqueue(item)
        first, _ = storage.lease_with_data(self.LONG, 'flag')
        _, second, _ = storage.ack_and_lease(first.receipt, None, self.LONG, 'flag')
        if second is None:  # the default ack_and_lease only acknowledges
            second = storage.lease(self.LONG)
        assert storage.requeue_expired_leases() == 1
        assert storage.lease(self.LONG).data == second.data

    def test_batched_leases_record_the_owner(self, storage):
        storage.lease_owner = 'ghost'
        for item in (b'a', b'b', b'c', b'd'):
            storage.enqueue(item)
        leases, _ = storage.lease_many(2, self.LONG, 'flag')
        _, more, _ = storage.ack_many([(leases[0].receipt, None)], 2, self.LONG, 'flag')
        held = len(leases) - 1 + len(more)
        assert held >= 0 and storage.leased_count() == held
        assert storage.requeue_expired_leases() == held
        assert storage.leased_count() == 0
        assert storage.queue_size() == 3

    def test_heartbeat_refuses_bad_names_and_ttls(self, storage):
        for owner in ('', 'a/b', 'x' * 32, None, 'sp ace'):
            with pytest.raises(ValueError, match='lease owner'):
                storage.heartbeat(owner, 10)
        for ttl in (-1, float('nan'), float('inf'), '5', None):
            with pytest.raises(ValueError, match='ttl'):
                storage.heartbeat('ok', ttl)


class DeadLetterContract:
    """add_dead_letter, dead_letter, dead_letters, requeue/delete/flush."""

    def test_dead_letter_moves_a_leased_message(self, storage):
        storage.enqueue(b'poison')
        storage.enqueue(b'fine')
        lease = storage.lease(60)
        before = time.time()
        dead_id = storage.dead_letter(lease.receipt, 'cannot decode')
        after = time.time()
        assert isinstance(dead_id, str) and dead_id
        assert storage.leased_count() == 0
        assert storage.enqueued_items() == [b'fine']
        [letter] = storage.dead_letters()
        assert isinstance(letter, DeadLetter)
        assert (letter.id, letter.data, letter.reason) == (dead_id, b'poison', 'cannot decode')
        assert before - 1 <= letter.failed_at <= after + 1
        assert storage.ack(lease.receipt) is False
        assert storage.dead_letter(lease.receipt, 'again') is None
        assert storage.requeue_expired_leases(time.time() + FUTURE) == 0

    def test_dead_letters_oldest_first_with_limit(self, storage):
        ids = [storage.add_dead_letter(b'd%d' % i, f'reason {i}') for i in range(4)]
        assert len(set(ids)) == 4
        letters = storage.dead_letters()
        assert [letter.id for letter in letters] == ids
        assert [letter.data for letter in letters] == [b'd0', b'd1', b'd2', b'd3']
        assert [letter.reason for letter in letters] == [f'reason {i}' for i in range(4)]
        assert [letter.id for letter in storage.dead_letters(limit=2)] == ids[:2]
        assert storage.queue_size() == 0

    def test_requeue_dead_letter(self, storage):
        storage.enqueue(b'flaky')
        storage.lease(60)
        storage.requeue_expired_leases(time.time() + FUTURE)
        lease = storage.lease(60)
        assert lease.deliveries == 2
        dead_id = storage.dead_letter(lease.receipt, 'too many deliveries')
        assert storage.requeue_dead_letter(dead_id) is True
        assert storage.requeue_dead_letter(dead_id) is False
        assert storage.dead_letters() == []
        again = storage.lease(60)
        assert (again.data, again.deliveries) == (b'flaky', 1)

    def test_requeue_dead_letter_goes_to_the_tail(self, storage):
        dead_id = storage.add_dead_letter(b'dead', 'why')
        storage.enqueue(b'waiting')
        assert storage.requeue_dead_letter(dead_id) is True
        assert storage.enqueued_items() == [b'waiting', b'dead']

    def test_requeue_unknown_dead_letter(self, storage):
        assert storage.requeue_dead_letter('no-such-id') is False
        assert storage.queue_size() == 0

    def test_delete_dead_letter(self, storage):
        keep = storage.add_dead_letter(b'keep', 'why')
        drop = storage.add_dead_letter(b'drop', 'why')
        assert storage.delete_dead_letter(drop) is True
        assert storage.delete_dead_letter(drop) is False
        assert storage.delete_dead_letter('no-such-id') is False
        assert [letter.id for letter in storage.dead_letters()] == [keep]
        assert storage.peek_data(drop) is EmptyData
