"""``group``: several task signatures enqueued in one storage round trip."""
from __future__ import annotations

import pytest
from huey import MemoryHuey, ResultGroup, group
from huey_storage import MemoryStorage


class CountingStorage(MemoryStorage):
    """A real MemoryStorage that counts enqueue calls."""

    def __init__(self, name, **kwargs):
        super().__init__(name, **kwargs)
        self.enqueue_calls = []

    def enqueue(self, data, priority=None):
        self.enqueue_calls.append('enqueue')
        return super().enqueue(data, priority)

    def enqueue_many(self, items):
        self.enqueue_calls.append('enqueue_many')
        return super().enqueue_many(items)


def run_all(huey):
    while (delivery := huey.reserve()) is not None:
        huey.execute_delivery(delivery)


@pytest.mark.parametrize('style', ['function', 'method'])
def test_group_enqueues_in_one_round_trip_and_returns_results_in_order(style):
    huey = MemoryHuey('group', storage_class=CountingStorage)

    @huey.task()
    def add(a, b):
        return a + b

    @huey.task()
    def mul(a, b):
        return a * b

    signatures = [add.s(1, 2), mul.s(3, 4), add.s(10, 20)]
    results = group(*signatures) if style == 'function' else huey.group(signatures)
    assert isinstance(results, ResultGroup)
    assert huey.storage.enqueue_calls == ['enqueue_many']
    run_all(huey)
    assert results.get(blocking=True, timeout=5) == [3, 12, 30]


def test_group_rejects_tasks_of_different_hueys():
    one, two = MemoryHuey('one'), MemoryHuey('two')

    @one.task()
    def a():
        pass

    @two.task()
    def b():
        pass

    with pytest.raises(ValueError, match='different Huey'):
        group(a.s(), b.s())
    with pytest.raises(TypeError, match=r'\.s\(\.\.\.\)'):
        group(a)
