"""The contract's error clauses and accepted argument forms, alike on every storage."""

from __future__ import annotations

import datetime
import math
import time

import pytest

__all__ = ['ValidationContract']

BAD_TTLS = [0, -1, math.nan, math.inf]


class ValidationContract:
    """Priorities, TTLs and timestamps are checked the same way by every storage."""

    @pytest.mark.parametrize('priority', ['high', b'1', [1], True])
    def test_a_priority_of_the_wrong_type_raises_type_error(self, storage, priority):
        with pytest.raises(TypeError):
            storage.enqueue(b'm', priority)
        with pytest.raises(TypeError):
            storage.add_to_schedule(b'm', time.time(), priority)
        assert storage.queue_size() == 0 and storage.schedule_size() == 0

    @pytest.mark.parametrize('priority', [math.nan, math.inf, 2**63])
    def test_an_impossible_priority_raises_value_error(self, storage, priority):
        with pytest.raises(ValueError):
            storage.enqueue(b'm', priority)
        assert storage.queue_size() == 0

    def test_a_float_priority_is_truncated(self, storage):
        storage.enqueue(b'm', 1.5)  # accepted (as huey does), kept as 1
        assert storage.dequeue() == b'm'

    @pytest.mark.parametrize('ttl', BAD_TTLS)
    def test_a_ttl_that_is_not_positive_raises_value_error(self, storage, ttl):
        with pytest.raises(ValueError):
            storage.put_if_empty('k', b'v', ttl)
        with pytest.raises(ValueError):
            storage.incr('c', 1, ttl=ttl)
        assert storage.has_data_for_key('k') is False

    def test_a_ttl_of_the_wrong_type_raises_type_error(self, storage):
        with pytest.raises(TypeError):
            storage.put_if_empty('k', b'v', '60')

    def test_schedule_times_may_be_datetimes(self, storage):
        now = datetime.datetime.now()  # naive: local time
        second = datetime.timedelta(seconds=1)
        storage.add_to_schedule(b'later', now + 60 * second)
        storage.add_to_schedule(b'due', now - second)
        assert storage.read_schedule(now) == [b'due']
        assert storage.enqueue_due(now + 120 * second) == 1
        assert storage.dequeue() == b'later'

    def test_a_schedule_time_of_the_wrong_type_raises_type_error(self, storage):
        with pytest.raises(TypeError):
            storage.add_to_schedule(b'm', '2030-01-01')
        assert storage.schedule_size() == 0
