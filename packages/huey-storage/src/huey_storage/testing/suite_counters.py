"""Conformance tests: reading counters back with ``peek_counters``.

Counting itself (``incr``, ``delete_counter``, ``flush_counters``) is checked
in ``suite_data``; these tests pin down the read: order, missing counters,
TTLs, odd keys, and that reading never creates or changes anything.
"""

from __future__ import annotations

import uuid

from huey_storage.base import EmptyData
from huey_storage.testing._helpers import wait_until

__all__ = ['CounterReadContract', 'SharedCounterReadContract']

SHORT_TTL = 0.2  # seconds; tests poll (with a deadline) until such counters are gone

#: Keys that trip naive backends: glob and LIKE wildcards, separators,
#: whitespace, non-ASCII, a long one.
ODD_KEYS = ['a*', 'b?', '[c]', 'd%', 'e_', 'f:g.h', 'sp ace', 'ünï', 'x' * 300]


class CounterReadContract:
    """``peek_counters``: a batch read of counters, apart from data keys."""

    def test_peek_counters_reads_each_counter_in_order(self, storage):
        storage.incr('a', 3)
        storage.incr('b', -2)
        storage.incr('c', 2**40)
        assert storage.peek_counters(['c', 'missing', 'a', 'b', 'a']) == [2**40, 0, 3, -2, 3]

    def test_peek_counters_of_no_keys_is_empty(self, storage):
        assert storage.peek_counters([]) == []

    def test_peek_counters_creates_nothing(self, storage):
        assert storage.peek_counters(['never']) == [0]
        assert storage.incr('never', 5) == 5  # still started from 0
        assert storage.result_store_size() == 0
        assert storage.peek_data('never') is EmptyData

    def test_peek_counters_ignores_data_keys(self, storage):
        storage.put_data('k', b'41')
        storage.incr('other')
        assert storage.peek_counters(['k', 'other']) == [0, 1]
        storage.incr('k')
        assert storage.peek_counters(['k']) == [1]
        assert storage.peek_data('k') == b'41'

    def test_peek_counters_after_delete_and_flush(self, storage):
        storage.incr('a', 5)
        storage.incr('b', 6)
        storage.delete_counter('a')
        assert storage.peek_counters(['a', 'b']) == [0, 6]
        storage.flush_counters()
        assert storage.peek_counters(['a', 'b']) == [0, 0]

    def test_peek_counters_sees_a_counter_expire_and_keeps_its_ttl(self, storage):
        storage.incr('short', 4, ttl=SHORT_TTL)
        storage.incr('lasting', 9)
        assert storage.peek_counters(['short', 'lasting']) == [4, 9]
        # reading over and over does not extend the TTL
        wait_until(
            lambda: storage.peek_counters(['short']) == [0],
            message=f'a counter with ttl={SHORT_TTL} expiring while read',
        )
        assert storage.peek_counters(['short', 'lasting']) == [0, 9]
        assert storage.incr('short') == 1  # expired means gone, not revived

    def test_peek_counters_with_odd_keys(self, storage):
        for number, key in enumerate(ODD_KEYS, 1):
            storage.incr(key, number)
        assert storage.peek_counters(ODD_KEYS) == list(range(1, len(ODD_KEYS) + 1))
        assert storage.peek_counters(['a', 'b', 'c', 'd', 'e', 'f:g']) == [0] * 6

    def test_peek_counters_many_keys(self, storage):
        keys = [f'many:{number}' for number in range(600)]
        for number in range(0, 600, 7):
            storage.incr(keys[number], number + 1)
        expected = [number + 1 if number % 7 == 0 else 0 for number in range(600)]
        assert storage.peek_counters(keys) == expected


class SharedCounterReadContract:
    """``peek_counters`` across handles: one store, names kept apart."""

    def test_peek_counters_sees_another_handles_counts(self, storage, storage_factory):
        other = storage_factory()
        try:
            other.incr('shared', 2)
            storage.incr('shared', 3)
            assert storage.peek_counters(['shared']) == [5]
            assert other.peek_counters(['shared']) == [5]
        finally:
            other.close()

    def test_peek_counters_are_per_name(self, storage, other_storage_factory):
        other = other_storage_factory('other-' + uuid.uuid4().hex[:8])
        try:
            other.incr('k', 7)
            assert storage.peek_counters(['k']) == [0]
            assert other.peek_counters(['k']) == [7]
        finally:
            other.flush_all()
            other.close()
