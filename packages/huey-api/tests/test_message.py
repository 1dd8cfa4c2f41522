"""The task message: one named type, the wire tuple it encodes to, and the
checks that refuse malformed messages with the field's name."""

from __future__ import annotations

import datetime
import pickle
import sys

import pytest
from huey import SerializationError, TaskException
from huey_api.message import Chord, Message


def _add(a, b):
    return a + b


def _total(base, values):
    return base + sum(values)


def _old_wire(task_id, name, args, retry=0.0, expires=None, on_complete=None, chord=None):
    """A message as earlier versions built it: a plain 11-tuple (12 for a chord member)."""
    wire = (task_id, name, None, 0, retry, None, expires, args, {}, on_complete, None)
    return wire if chord is None else wire + (chord,)


def test_messages_queued_by_earlier_versions_still_run(huey, run_all):
    add, total = huey.task()(_add), huey.task()(_total)
    deadline = datetime.datetime(2100, 1, 1).timestamp()
    step = _old_wire('step-2', add.name, (10,))
    wire = _old_wire('step-1', add.name, (1, 2), (0.0, 2, 30.0), (deadline, 3600), step)
    huey.storage.enqueue(huey.serializer.serialize(wire))
    callback = _old_wire('cb', total.name, (100,))
    member = _old_wire('member', add.name, (3, 4), chord=('chord-1', 0, 1, callback))
    huey.storage.enqueue(huey.serializer.serialize(member))

    task = huey.pending()[0]
    assert (task.retry_backoff, task.timeout, task.expires, task.expires_ts) == (
        2,
        30.0,
        3600,
        deadline,
    )
    assert task.to_message().encode() == wire  # the same tuple comes back out
    run_all(huey)
    assert huey.result('step-2') == 13
    assert huey.result('cb') == 107  # the chord's values were appended
    assert huey.result('member') == 7


def test_a_typical_message_pickles_to_the_same_bytes_as_before(huey):
    add = huey.task()(_add)
    task = add.s(1, 2)
    old = _old_wire(task.id, add.name, (1, 2))
    data = pickle.dumps(task.to_message().encode(), pickle.HIGHEST_PROTOCOL)
    assert data == pickle.dumps(old, pickle.HIGHEST_PROTOCOL)
    assert b'Message' not in data  # the named type never travels


@pytest.mark.parametrize(
    ('index', 'value', 'field'),
    [
        (0, 42, 'id'),
        (1, None, 'name'),
        (2, 'soon', 'eta'),
        (2, float('nan'), 'eta'),
        (3, -1, 'retries'),
        (3, '3', 'retries'),
        (4, 'slow', 'retry_delay'),
        (4, (1.0, -2, None), 'retry_backoff'),
        (4, (1.0, 0, 'long'), 'timeout'),
        (5, 'high', 'priority'),
        (6, 'never', 'expires'),
        (6, (1.0, object()), 'expires'),
        (7, [1, 2], 'args'),
        (8, {1: 2}, 'kwargs'),
        (9, ('x',), 'not a task message'),
    ],
)
def test_every_field_is_checked_and_named(index, value, field):
    wire = list(_old_wire('id-1', 'app.add', (1, 2)))
    wire[index] = value
    with pytest.raises(SerializationError, match=field):
        Message.decode(tuple(wire))


def test_chord_field_is_checked():
    callback = _old_wire('cb', 'app.total', ())
    assert Message.decode(_old_wire('m', 'app.add', (), chord=('c', 1, 2, callback))).chord == (
        Chord('c', 1, 2, Message.decode(callback))
    )
    for chord in [('c', 2, 2, callback), ('c', 0, 1, None), (1, 0, 1, callback), ('c', 0)]:
        with pytest.raises(SerializationError, match='field chord'):
            Message.decode(_old_wire('m', 'app.add', (), chord=chord))


def test_errors_about_huge_values_stay_short():
    wire = _old_wire('id-1', 'app.add', (1,))[:7] + (['x' * 10**6] * 1000, {}, None, None)
    with pytest.raises(SerializationError) as raised:
        Message.decode(wire)
    assert len(str(raised.value)) < 300


def test_a_long_pipeline_decodes_prints_and_ends(huey, run_all):
    add = huey.task()(_add)
    pipeline = add.s(0, 1)
    for _ in range(975):
        pipeline.then(add, 1)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(10_000)  # pickle recurses: a shallow producer can queue it
    try:
        huey.storage.enqueue(huey.serialize_task(pipeline))
    finally:
        sys.setrecursionlimit(limit)
    task = huey.pending()[0]  # decoding and repr walk the pipeline in loops
    assert len(task.chain()) == 976
    text = repr(task)
    assert text.count('->') == 3 and '(+972 steps)' in text
    run_all(huey)  # never raises: a step that cannot enqueue the rest ends it
    last = task.chain()[-1].id
    try:
        assert huey.result(last) == 976
    except TaskException as exc:
        assert 'RecursionError' in exc.metadata['error']


def test_a_payload_that_is_not_bytes_is_dead_lettered_with_its_type(huey):
    huey.storage.enqueue('written by something else')
    huey.storage.enqueue(huey.serializer.serialize(_old_wire('x', 'app.add', (), retry=None)))
    assert huey.reserve() is None and huey.storage.leased_count() == 0
    reasons = [letter.reason for letter in huey.dead_letters()]
    assert len(reasons) == 2
    assert any('str, not bytes' in reason for reason in reasons)
    assert any('field retry_delay' in reason for reason in reasons)
