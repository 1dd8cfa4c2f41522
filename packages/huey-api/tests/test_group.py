"""``group``: several task signatures enqueued in one storage round trip."""

from __future__ import annotations

import pytest
from huey import MemoryHuey, ResultGroup, chord, group
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


@pytest.mark.parametrize('style', ['list', 'positional', 'method'])
def test_group_enqueues_in_one_round_trip_and_returns_results_in_order(style):
    huey = MemoryHuey('group', storage_class=CountingStorage)

    @huey.task()
    def add(a, b):
        return a + b

    @huey.task()
    def mul(a, b):
        return a * b

    signatures = [add.s(1, 2), mul.s(3, 4), add.s(10, 20)]
    if style == 'method':
        results = huey.group(signatures)
    else:
        g = group(signatures) if style == 'list' else group(*signatures)
        assert isinstance(g, group) and g.tasks == signatures
        assert huey.storage.enqueue_calls == [] and len(huey) == 0  # built, not enqueued
        results = huey.enqueue(g)
    assert isinstance(results, ResultGroup)
    assert huey.storage.enqueue_calls == ['enqueue_many']
    run_all(huey)
    assert results.get(blocking=True, timeout=5) == [3, 12, 30]


def test_empty_group_enqueues_nothing():
    huey = MemoryHuey('empty-group', storage_class=CountingStorage)
    results = huey.enqueue(group([]))
    assert len(results) == 0 and len(huey) == 0


def test_group_then_makes_a_chord_and_error_sets_a_handler_per_member():
    huey = MemoryHuey('group-then')
    seen = []

    @huey.task()
    def fail(n):
        raise ValueError(n)

    @huey.task()
    def tot(results, extra=0):
        return len(results) + extra

    @huey.task()
    def handler(tag, exc):
        seen.append((tag, str(exc)))

    g = group([fail.s(1), fail.s(2)]).error(handler, 'tag')
    handlers = [task.on_error for task in g.tasks]
    assert all(h.name == handler.name and h.args == ('tag',) for h in handlers)
    assert handlers[0].id != handlers[1].id
    c = g.then(tot, extra=5)
    assert isinstance(c, chord) and c.tasks == g.tasks
    assert c.callback.name == tot.name and c.callback.kwargs == {'extra': 5}
    result = huey.enqueue(c)
    run_all(huey)
    assert sorted(seen) == [('tag', '1'), ('tag', '2')]
    assert result.get() == 7


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
    with pytest.raises(ValueError, match='different Huey'):
        group([a.s(), b.s()])
    with pytest.raises(ValueError, match='different Huey'):
        two.enqueue(group([a.s()]))
    with pytest.raises(TypeError, match=r'\.s\(\.\.\.\)'):
        group(a)
    with pytest.raises(TypeError, match=r'\.s\(\.\.\.\)'):
        group([a.s(), 'a'])
    with pytest.raises(TypeError, match='a group or a chord'):
        one.enqueue('a')
