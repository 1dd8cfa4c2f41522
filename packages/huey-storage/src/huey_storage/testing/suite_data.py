"""Conformance tests: key/value data, TTLs, counters, waiting and results."""

from __future__ import annotations

import threading
import time

import pytest

from huey_storage.base import EmptyData
from huey_storage.testing._helpers import wait_until

__all__ = ['DataContract']

SHORT_TTL = 0.2  # seconds; tests poll (with a deadline) until such keys are gone


class DataContract:
    """put/peek/pop/has/delete, put_if_empty, incr, peek_data_many, wait_data, results."""

    def test_put_peek_pop(self, storage):
        storage.put_data('k', b'v')
        assert storage.peek_data('k') == b'v'
        assert storage.peek_data('k') == b'v'  # peeking keeps it
        assert storage.has_data_for_key('k') is True
        assert storage.pop_data('k') == b'v'
        if not storage.destructive_reads:  # read again until it expires or is deleted
            assert storage.pop_data('k') == b'v'
            assert storage.delete_data('k') is True
        assert storage.pop_data('k') is EmptyData
        assert storage.peek_data('k') is EmptyData
        assert storage.has_data_for_key('k') is False

    def test_put_replaces(self, storage):
        storage.put_data('k', b'old')
        storage.put_data('k', b'new')
        assert storage.peek_data('k') == b'new'

    def test_keys_are_independent(self, storage):
        storage.put_data('a', b'1')
        storage.put_data('b', b'2')
        assert storage.pop_data('a') == b'1'
        assert storage.peek_data('b') == b'2'

    def test_delete_data(self, storage):
        storage.put_data('k', b'v')
        assert storage.delete_data('k') is True
        assert storage.delete_data('k') is False
        assert storage.peek_data('k') is EmptyData

    def test_delete_data_if_deletes_only_the_given_value(self, storage):
        storage.put_data('lock', b'token-a')
        assert storage.delete_data_if('lock', b'token-b') is False
        assert storage.peek_data('lock') == b'token-a'
        assert storage.delete_data_if('lock', b'token-a') is True
        assert storage.peek_data('lock') is EmptyData
        assert storage.delete_data_if('lock', b'token-a') is False

    def test_delete_data_if_leaves_a_lock_taken_after_expiry(self, storage):
        assert storage.put_if_empty('lock', b'first', ttl=SHORT_TTL) is True
        wait_until(
            lambda: storage.put_if_empty('lock', b'second', ttl=60) is True,
            message='a second holder taking the expired lock',
        )
        assert storage.delete_data_if('lock', b'first') is False  # the late first holder
        assert storage.peek_data('lock') == b'second'

    def test_peek_data_many(self, storage):
        storage.put_data('a', b'1')
        storage.put_data('c', b'3', is_result=True)
        values = storage.peek_data_many(['a', 'b', 'c', 'a'])
        assert values[0] == b'1' and values[2] == b'3' and values[3] == b'1'
        assert values[1] is EmptyData
        assert storage.peek_data_many([]) == []
        assert storage.peek_data('a') == b'1'  # nothing removed

    def test_put_if_empty(self, storage):
        assert storage.put_if_empty('lock', b'first') is True
        assert storage.put_if_empty('lock', b'second') is False
        assert storage.peek_data('lock') == b'first'
        assert storage.result_items() == {'lock': b'first'}  # every data key is listed
        assert storage.delete_data('lock') is True
        assert storage.put_if_empty('lock', b'third') is True
        assert storage.peek_data('lock') == b'third'

    def test_put_if_empty_on_a_result_key(self, storage):
        storage.put_data('r', b'result', is_result=True)
        assert storage.put_if_empty('r', b'other') is False
        assert storage.peek_data('r') == b'result'

    def test_put_if_empty_ttl_expires(self, storage):
        start = time.monotonic()
        assert storage.put_if_empty('lock', b'held', ttl=SHORT_TTL) is True
        present = storage.peek_data('lock')
        if time.monotonic() - start < SHORT_TTL / 2:  # only meaningful well before expiry
            assert present == b'held'
            assert storage.put_if_empty('lock', b'other', ttl=SHORT_TTL) is False
        wait_until(
            lambda: storage.peek_data('lock') is EmptyData,
            message=f'a put_if_empty key with ttl={SHORT_TTL} expiring',
        )
        assert storage.has_data_for_key('lock') is False
        # an expired key is listed and counted nowhere
        assert storage.result_keys() == [] and storage.result_items() == {}
        assert storage.result_store_size() == 0
        assert storage.pop_data('lock') is EmptyData
        assert storage.put_if_empty('lock', b'again') is True
        assert storage.peek_data('lock') == b'again'

    def test_put_data_clears_a_ttl(self, storage):
        assert storage.put_if_empty('k', b'expiring', ttl=SHORT_TTL) is True
        storage.put_data('k', b'permanent')
        deadline = time.time() + SHORT_TTL
        while time.time() <= deadline + 0.1:  # well past the old TTL
            time.sleep(0.05)
        assert storage.peek_data('k') == b'permanent'

    def test_incr(self, storage):
        assert storage.incr('counter') == 1
        assert storage.incr('counter', 2) == 3
        assert storage.incr('counter', -5) == -2
        assert storage.incr('counter', 0) == -2
        assert storage.incr('fresh', 7) == 7
        assert storage.incr('fresh', 0) == 7
        assert storage.result_store_size() == 0  # counters are not data keys

    def test_incr_many_adds_each_as_incr_would(self, storage):
        storage.incr('a', 2)
        storage.put_data('b', b'data')
        storage.incr_many([('a', 3, None), ('b', -1, None), ('a', 1, None), ('c', 0, None)])
        assert storage.peek_counters(['a', 'b', 'c']) == [6, -1, 0]
        assert storage.peek_data('b') == b'data'  # counters live apart from data
        storage.incr_many([])
        assert storage.incr('a') == 7

    def test_incr_many_ttls_expire(self, storage):
        storage.incr_many([('short', 2, SHORT_TTL), ('lasting', 1, None)])
        assert storage.peek_counters(['short', 'lasting']) == [2, 1]
        wait_until(
            lambda: storage.peek_counters(['short']) == [0],
            message=f'a counter added with ttl={SHORT_TTL} expiring',
        )
        assert storage.peek_counters(['lasting']) == [1]

    def test_incr_many_checks_every_ttl_before_adding(self, storage):
        with pytest.raises(ValueError, match='ttl'):
            storage.incr_many([('a', 1, None), ('b', 1, 0)])
        assert storage.peek_counters(['a', 'b']) == [0, 0]

    def test_counters_live_apart_from_data(self, storage):
        assert storage.incr('k') == 1
        assert storage.has_data_for_key('k') is False
        assert storage.peek_data('k') is EmptyData
        storage.put_data('k', b'value')
        assert storage.incr('k') == 2
        assert storage.pop_data('k') == b'value'
        assert storage.incr('k') == 3
        storage.delete_data('k')  # a data delete leaves the counter
        assert storage.incr('k') == 4

    def test_delete_counter_and_flush_counters(self, storage):
        storage.incr('a', 5)
        storage.incr('b', 5)
        storage.delete_counter('a')
        storage.delete_counter('missing')  # nothing to delete: no error
        assert storage.incr('a') == 1
        assert storage.incr('b') == 6
        storage.put_data('kept', b'v')
        storage.flush_counters()
        assert storage.incr('a') == 1 and storage.incr('b') == 1
        assert storage.peek_data('kept') == b'v'

    def test_incr_ttl_expires(self, storage):
        assert storage.incr('counter', ttl=SHORT_TTL) == 1
        wait_until(
            lambda: storage.incr('counter', 0) == 0,
            message=f'a counter with ttl={SHORT_TTL} expiring',
        )
        assert storage.incr('counter') == 1

    def test_peek_many_returns_the_keys_holding_values(self, storage):
        storage.put_data('a', b'1')
        storage.put_data('c', b'3')
        assert storage.peek_many(['a', 'b', 'c']) == {'a': b'1', 'c': b'3'}
        assert storage.peek_many(['b']) == {}

    def test_wait_result(self, storage):
        assert storage.wait_result('answer', timeout=0.1) is False
        storage.put_data('answer', b'42', is_result=True)
        assert storage.wait_result('answer', timeout=5) is True
        assert storage.peek_data('answer') == b'42'  # still there

    def test_wait_data_returns_a_value_put_by_another_thread(self, storage):
        def put_later():
            time.sleep(0.05)
            storage.put_data('answer', b'42', is_result=True)

        writer = threading.Thread(target=put_later)
        writer.start()
        try:
            assert storage.wait_data('answer', timeout=10) == b'42'
        finally:
            writer.join()
        popped = storage.peek_data('answer') is EmptyData
        assert popped is storage.destructive_reads

    def test_wait_data_without_pop_keeps_the_value(self, storage):
        writer = threading.Thread(target=storage.put_data, args=('answer', b'42'))
        writer.start()
        try:
            assert storage.wait_data('answer', timeout=10, pop=False) == b'42'
        finally:
            writer.join()
        assert storage.peek_data('answer') == b'42'

    def test_wait_data_on_a_present_key(self, storage):
        storage.put_data('here', b'v')
        assert storage.wait_data('here', timeout=0) == b'v'
        assert storage.has_data_for_key('here') is not storage.destructive_reads

    def test_wait_data_times_out(self, storage):
        start = time.monotonic()
        assert storage.wait_data('never', timeout=0.1) is EmptyData
        assert time.monotonic() - start >= 0.09
        assert storage.wait_data('never', timeout=0) is EmptyData

    def test_result_items_list_every_data_key(self, storage):
        storage.put_data('r1', b'one', is_result=True)
        storage.put_data('plain', b'p')
        storage.put_if_empty('lock', b'1', ttl=60)
        storage.incr('counter')
        assert storage.result_store_size() == 3
        assert storage.result_items() == {'r1': b'one', 'plain': b'p', 'lock': b'1'}
        assert sorted(storage.result_keys()) == ['lock', 'plain', 'r1']
        storage.flush_results()
        assert storage.result_store_size() == 0
        assert storage.result_items() == {}
        assert storage.incr('counter') == 2  # counters stay

    def test_flush_data_removes_every_data_key_but_not_counters(self, storage):
        storage.put_data('r', b'one', is_result=True)
        storage.put_data('plain', b'p')
        storage.put_if_empty('lock', b'1', ttl=60)
        storage.incr('counter')
        storage.flush_data()
        assert storage.result_store_size() == 0
        for key in ('r', 'plain', 'lock'):
            assert storage.peek_data(key) is EmptyData
        assert storage.incr('counter') == 2

    def test_flush_all_removes_counters_too(self, storage):
        storage.incr('counter')
        storage.flush_all()
        assert storage.incr('counter') == 1

    def test_popping_or_deleting_a_result_untracks_it(self, storage):
        storage.put_data('popped', b'1', is_result=True)
        storage.put_data('deleted', b'2', is_result=True)
        storage.put_data('kept', b'3', is_result=True)
        assert storage.pop_data('popped') == b'1'
        assert storage.delete_data('deleted') is True
        kept = {'kept': b'3'} if storage.destructive_reads else {'kept': b'3', 'popped': b'1'}
        assert storage.result_items() == kept
        assert storage.result_store_size() == len(kept)

    def test_replacing_a_result_keeps_one_entry(self, storage):
        storage.put_data('r', b'old', is_result=True)
        storage.put_data('r', b'new', is_result=True)
        assert storage.result_store_size() == 1
        assert storage.result_items() == {'r': b'new'}
