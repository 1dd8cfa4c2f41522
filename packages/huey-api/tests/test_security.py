"""Signing binds payloads to their queue or key, replays run once, revocations
are signed and expire, locks release only their own holder, JSON cannot run code.

Each runs on the in-memory storage and again on the real SQLite and Redis
storages (skipped in huey-api's own env, required in the integration env).
"""

from __future__ import annotations

import datetime
import itertools
import time

import pytest
from conftest import REDIS_DB, requires
from huey import MemoryHuey, SignatureError, TaskException, chord
from huey.serializer import JSONSerializer, Serializer
from huey_api.constants import REVOKE_PREFIX
from huey_api.locks import lock_key
from huey_storage import EmptyData
from huey_storage.testing.services import require_service

_names = itertools.count()
KEY = 'a long random secret'


@pytest.fixture(params=['memory', 'sqlite', pytest.param('redis', marks=pytest.mark.redis)])
def make_huey(request, tmp_path):
    """``make_huey(**options)``: a Huey on the parametrized storage."""
    made = []

    def make(**options):
        name = f'sec-{next(_names)}'
        if request.param == 'memory':
            huey = MemoryHuey(name, **options)
        elif request.param == 'sqlite':
            requires('huey_storage_sqlite')
            from huey import SqliteHuey

            huey = SqliteHuey(name, filename=str(tmp_path / 'sec.db'), **options)
        else:
            requires('huey_storage_redis')
            host, port = require_service('redis')
            from huey import RedisHuey

            huey = RedisHuey(name, host=host, port=port, db=REDIS_DB, read_timeout=0.1, **options)
        made.append(huey)
        return huey

    yield make
    for huey in made:
        huey.flush()


def _counter_app(make_huey, **options):
    huey = make_huey(**options)

    @huey.task()
    def bump(key, *args, **kwargs):
        return huey.storage.incr(key)

    return huey, bump


def _run_queue(huey) -> int:
    ran = 0
    while (delivery := huey.reserve()) is not None:
        huey.execute_delivery(delivery)
        ran += 1
    return ran


# -- signatures bound to their key or queue ---------------------------------------


def test_a_signed_result_copied_to_another_key_is_rejected(make_huey):
    huey, bump = _counter_app(make_huey, signing_key=KEY)
    first, second = bump('runs'), bump('runs')
    _run_queue(huey)
    huey.storage.put_data(second.id, huey.storage.peek_data(first.id), is_result=True)
    with pytest.raises(SignatureError, match='copied from another key'):
        second.get()
    assert first.get() == 1


def test_a_value_put_at_one_key_cannot_be_read_at_another(make_huey):
    huey = make_huey(signing_key=KEY)
    huey.put('mine', {'ok': True})
    huey.storage.put_data('theirs', huey.storage.peek_data('mine'))
    with pytest.raises(SignatureError):
        huey.get('theirs')
    assert huey.get('mine') == {'ok': True}


def test_a_signed_message_moved_to_another_queue_is_dead_lettered(make_huey):
    producer, bump = _counter_app(make_huey, signing_key=KEY)
    other, _ = _counter_app(make_huey, signing_key=KEY)
    bump('runs')
    [data] = producer.storage.enqueued_items()
    other.storage.enqueue(data)
    assert other.reserve() is None
    [letter] = other.dead_letters()
    assert 'bad signature' in letter.reason


# -- replays ------------------------------------------------------------------


def test_a_replayed_message_runs_once(make_huey):
    huey, bump = _counter_app(make_huey, signing_key=KEY)
    bump('runs')
    [data] = huey.storage.enqueued_items()
    assert _run_queue(huey) == 1
    huey.storage.enqueue(data)  # the same signed bytes again
    huey.storage.enqueue(data)
    assert _run_queue(huey) == 0
    assert huey.storage.incr('runs', 0) == 1
    reasons = [letter.reason for letter in huey.dead_letters()]
    assert len(reasons) == 2 and all('replayed message' in r for r in reasons)


def test_two_calls_with_equal_arguments_are_not_replays(make_huey):
    huey, bump = _counter_app(make_huey, signing_key=KEY)
    task = bump.s('runs')
    huey.enqueue(task)
    huey.enqueue(task.copy(id=task.id))  # the same task, enqueued twice on purpose
    assert _run_queue(huey) == 2
    assert huey.dead_letters() == []


def test_a_redelivered_message_runs_again(make_huey):
    """A worker that died leaves its lease to expire: that is no replay."""
    huey, bump = _counter_app(make_huey, signing_key=KEY, lease_timeout=0.2)
    bump('runs')
    assert huey.reserve() is not None  # its worker "dies" here
    deadline = time.monotonic() + 10
    while not huey.requeue_expired_leases():
        assert time.monotonic() < deadline, 'the lease never expired'
        time.sleep(0.05)
    delivery = huey.reserve()
    assert delivery is not None and delivery.deliveries == 2
    huey.execute_delivery(delivery)
    assert huey.storage.incr('runs', 0) == 1 and huey.dead_letters() == []


def test_a_released_message_runs_when_taken_again(make_huey):
    huey, bump = _counter_app(make_huey, signing_key=KEY)
    bump('runs')
    huey.release(huey.reserve())  # SIGTERM gives it back
    assert _run_queue(huey) == 1
    assert huey.dead_letters() == []


def test_retries_and_scheduled_tasks_are_signed_afresh(make_huey):
    huey = make_huey(signing_key=KEY)

    @huey.task(retries=2)
    def flaky():
        if huey.storage.incr('attempts') < 3:
            raise ValueError('not yet')
        return 'done'

    result = flaky()  # fails twice, retried each time
    scheduled = flaky.schedule(delay=0.01)  # taken early, scheduled, taken again
    deadline = time.monotonic() + 10
    while huey.pending_count() or huey.scheduled_count() or not scheduled.is_ready():
        assert time.monotonic() < deadline, 'the tasks did not finish'
        huey.enqueue_due()
        _run_queue(huey)
    assert result.get() == 'done' and scheduled.get() == 'done'
    assert huey.storage.incr('attempts', 0) == 4
    assert huey.dead_letters() == []


def test_a_stale_message_is_dead_lettered_and_requeue_signs_it_afresh(make_huey):
    huey, bump = _counter_app(make_huey, signing_key=KEY, replay_window=0.2)
    result = bump('runs')
    signed_at = time.time()
    while time.time() < signed_at + 0.3:  # the message ages past the window
        time.sleep(0.02)
    assert huey.reserve() is None
    [letter] = huey.dead_letters()
    assert 'stale signed message' in letter.reason
    assert huey.requeue_dead_letter(letter.id) is True
    assert _run_queue(huey) == 1
    assert result.get() == 1


def test_a_forged_dead_letter_is_requeued_unsigned_and_refused_again(make_huey):
    huey, bump = _counter_app(make_huey, signing_key=KEY)
    huey.storage.enqueue(Serializer().serialize(bump.s('x').to_message()))
    assert huey.reserve() is None
    [letter] = huey.dead_letters()
    assert huey.requeue_dead_letter(letter.id) is True
    assert huey.reserve() is None
    assert 'bad signature' in huey.dead_letters()[0].reason
    assert huey.storage.incr('x', 0) == 0


@pytest.mark.parametrize('serializer', ['pickle', 'json'])
def test_a_signed_chord_and_pipeline_complete(make_huey, serializer):
    huey = make_huey(signing_key=KEY, serializer=serializer)

    @huey.task()
    def add(a, b):
        return a + b

    @huey.task()
    def total(values):
        return sum(values)

    result = huey.enqueue(chord([add.s(1, 2), add.s(3, 4)], total.s()))
    pipeline = huey.enqueue(add.s(1, 1).then(add, 10))
    assert _run_queue(huey) == 5  # members, first step, then callback and second step
    assert result.get() == 10 and result.results.get() == [3, 7]
    assert pipeline.get() == [2, 12]
    assert huey.dead_letters() == []


def test_claims_are_not_listed_as_results(make_huey):
    huey, bump = _counter_app(make_huey, signing_key=KEY)
    result = bump('runs')
    _run_queue(huey)
    assert list(huey.all_results()) == [result.id]
    assert huey.result_count() == 1


# -- revocations ----------------------------------------------------------------


def test_a_forged_revocation_is_ignored(make_huey):
    huey, bump = _counter_app(make_huey, signing_key=KEY)
    result = bump('runs')
    huey.revoke_by_id('some-other-id')  # sets the something-was-revoked flag
    huey.storage.put_data(REVOKE_PREFIX + result.id, b'|0')  # unsigned, as before
    assert not huey.is_revoked(result.id)
    assert _run_queue(huey) == 1 and result.get() == 1


def test_a_signed_revocation_copied_to_another_id_is_ignored(make_huey):
    huey, bump = _counter_app(make_huey, signing_key=KEY)
    revoked, other = bump('runs'), bump('runs')
    huey.revoke_by_id(revoked.id)
    value = huey.storage.peek_data(REVOKE_PREFIX + revoked.id)
    huey.storage.put_data(REVOKE_PREFIX + other.id, value)
    assert huey.is_revoked(revoked.id) and not huey.is_revoked(other.id)
    assert _run_queue(huey) == 2
    assert other.get() == 1 and revoked.get() is None


def test_a_revocation_by_id_expires(make_huey):
    huey, bump = _counter_app(make_huey)
    huey.revoke_id_ttl = 0.2  # the default is 30 days
    huey.revoke_by_id('never-runs')
    assert huey.is_revoked('never-runs')
    deadline = time.monotonic() + 10
    while huey.storage.peek_data(REVOKE_PREFIX + 'never-runs') is not EmptyData:
        assert time.monotonic() < deadline, 'the revocation never expired'
        time.sleep(0.05)
    assert not huey.is_revoked('never-runs')
    huey.revoke_all(bump)  # revocations of a task name stay
    assert huey.is_revoked(bump)


def test_a_revocation_until_a_past_time_stores_nothing(make_huey):
    huey = make_huey()
    huey.revoke_by_id('x', revoke_until=time.time() - 60)
    assert huey.storage.peek_data(REVOKE_PREFIX + 'x') is EmptyData
    assert not huey.is_revoked('x')


# -- locks ------------------------------------------------------------------------


def test_a_lock_released_late_leaves_the_next_holders_lock(make_huey):
    huey = make_huey()
    first = huey.lock_task('report', ttl=0.2)
    second = huey.lock_task('report', ttl=60)
    assert first.acquire()
    deadline = time.monotonic() + 10
    while not second.acquire():  # first's lock expires, second takes it
        assert time.monotonic() < deadline, 'the lock never expired'
        time.sleep(0.05)
    assert first.release() is False  # the late first holder
    assert huey.is_locked('report')
    assert second.release() is True
    assert not huey.is_locked('report')


def test_a_lock_holds_a_random_token_and_clear_removes_any_holder(make_huey):
    huey = make_huey()
    with huey.lock_task('job'):
        token = huey.storage.peek_data(lock_key(huey, 'job'))
        assert len(token) == 32 and token != b'1'
        assert huey.lock_task('job').clear() is True
    assert not huey.is_locked('job')


# -- the JSON serializer ------------------------------------------------------------

JSON_VALUES = [
    None,
    True,
    7,
    2.5,
    float('inf'),
    'text ✓',
    b'\x00\xffbytes',
    [1, (2, 3)],
    (1, [2], {'k': (3,)}),
    {'a': 1, 2: 'int key', (1, 2): 'tuple key', '$huey': 'tag-like key'},
    datetime.datetime(2026, 1, 2, 3, 4, 5, 6),
    datetime.datetime(2026, 1, 2, tzinfo=datetime.timezone.utc),
    datetime.date(2026, 1, 2),
    datetime.time(4, 5, 6),
    datetime.timedelta(days=-1, seconds=5, microseconds=7),
]


@pytest.mark.parametrize('value', JSON_VALUES, ids=repr)
def test_json_round_trips_its_types_exactly(value):
    for serializer in (JSONSerializer(), JSONSerializer(compression=True, signing_key=KEY)):
        back = serializer.deserialize(serializer.serialize(value))
        assert back == value and type(back) is type(value)


def test_json_refuses_what_it_cannot_encode_naming_the_argument(make_huey):
    huey, bump = _counter_app(make_huey, serializer='json')
    with pytest.raises(TypeError, match=r'cannot encode args\[1\]: set \{1\}'):
        bump('runs', {1})
    with pytest.raises(TypeError, match=r"cannot encode kwargs\['when'\]\[0\]: object"):
        huey.enqueue(bump.s(key='runs', when=[object()]))
    assert huey.pending_count() == 0


def test_json_carries_every_part_of_a_message(make_huey):
    huey = make_huey(serializer='json', signing_key=KEY)
    seen = []

    @huey.task()
    def on_failure(*args):
        seen.append(args)

    @huey.task(expires=datetime.timedelta(hours=1))
    def fail(when, raw):
        raise ValueError(f'bad {when:%Y} {raw!r}')

    @huey.task(retries=1, retry_delay=0.01, retry_backoff=2)
    def step(a, b=0):
        if huey.storage.incr('step-attempts') == 1:
            raise ValueError('retried once')
        return a + b

    when = datetime.datetime(2026, 5, 1)
    failing = fail.s(when, b'\x01').error(on_failure.s('ctx'))
    huey.enqueue(failing)
    pipeline = huey.enqueue(step.s(1, b=2, delay=0.01).then(step, 10))
    deadline = time.monotonic() + 10
    while not seen or huey.pending_count() or huey.scheduled_count():
        assert time.monotonic() < deadline, 'the tasks did not finish'
        huey.enqueue_due()
        _run_queue(huey)
    assert pipeline.get() == [3, 13]
    [(ctx, error)] = seen
    assert ctx == 'ctx' and isinstance(error, TaskException)
    assert error.metadata['type'] == 'builtins.ValueError'
    assert "bad 2026 b'\\x01'" in error.metadata['message']
    with pytest.raises(TaskException, match='ValueError'):
        huey.result(failing.id)


def test_json_never_runs_code_on_decoding(make_huey):
    huey, bump = _counter_app(make_huey, serializer='json')
    import pickle

    huey.storage.enqueue(pickle.dumps(bump.s('x').to_message()))
    huey.storage.enqueue(b'{"$huey": "unknown", "v": 1}')
    assert huey.reserve() is None
    reasons = [letter.reason for letter in huey.dead_letters()]
    assert len(reasons) == 2 and all('cannot deserialize' in r for r in reasons)


def test_unknown_serializer_names_are_refused():
    with pytest.raises(ValueError, match="serializer='yaml': use 'pickle', 'json'"):
        MemoryHuey('x', serializer='yaml')
