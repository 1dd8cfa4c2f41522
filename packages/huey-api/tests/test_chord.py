"""``chord``: a callback run once with every member's value, crash-safe under
at-least-once delivery. Members run in this process through the execution API."""

from __future__ import annotations

import threading
import time

import pytest
from huey import ChordResult, MemoryHuey, RetryTask, chord, group
from huey_api.result import SKIPPED, Error
from huey_storage import EmptyData, MemoryStorage


class FaultStorage(MemoryStorage):
    """A real MemoryStorage that can fail one call (a simulated crash of the
    worker at that point) and hold chord slot writes at a barrier."""

    def __init__(self, name, **kwargs):
        super().__init__(name, **kwargs)
        self.crash_on: set[str] = set()
        self.enqueue_calls: list[str] = []
        self.slot_barrier: threading.Barrier | None = None

    def _maybe_crash(self, method):
        if method in self.crash_on:
            self.crash_on.discard(method)
            raise ConnectionError(f'simulated crash in {method}')

    def ack(self, receipt, result=None):
        self._maybe_crash('ack')
        return super().ack(receipt, result)

    def enqueue(self, data, priority=None):
        self.enqueue_calls.append('enqueue')
        self._maybe_crash('enqueue')
        return super().enqueue(data, priority)

    def enqueue_many(self, items):
        self.enqueue_calls.append('enqueue_many')
        return super().enqueue_many(items)

    def put_data(self, key, value, is_result=False):
        super().put_data(key, value, is_result)
        if self.slot_barrier is not None and key.startswith('chord:'):
            self.slot_barrier.wait(5)


@pytest.fixture
def fhuey():
    instance = MemoryHuey('chord-faults', storage_class=FaultStorage)
    yield instance
    instance.flush()


def define(huey, calls=None):
    """``add``, ``tot`` (records its calls in ``calls``) and ``double``."""
    calls = [] if calls is None else calls

    @huey.task(name='add')
    def add(a, b):
        return a + b

    @huey.task(name='tot')
    def tot(results, extra=0):
        calls.append((list(results), extra))
        return sum(results) + extra

    @huey.task(name='double')
    def double(x):
        return 2 * x

    return add, tot, double


def chord_keys(huey, c):
    """The chord's bookkeeping keys still stored (data keys, and its counter)."""
    chord_id, _, size, _ = c.tasks[0].chord
    keys = [f'chord:{chord_id}:{i}' for i in range(size)]
    keys += [f'chord:{chord_id}:fired']
    values = huey.storage.peek_data_many(keys)
    found = {key.rpartition(':')[2] for key, value in zip(keys, values) if value is not EmptyData}
    if f'chord:{chord_id}:count' in huey.storage._counters:  # a MemoryStorage's counters
        found.add('count')
    return found


def test_chord_callback_gets_member_values_in_order_with_its_kwargs(huey, run_all):
    calls = []
    add, tot, _ = define(huey, calls)
    c = chord([add.s(1, 2), add.s(3, 4), add.s(5, 6)], tot.s(extra=100))
    assert len(huey) == 0  # built, not enqueued
    result = huey.enqueue(c)
    assert isinstance(result, ChordResult)
    assert len(huey) == 3  # only the members; the callback comes later
    assert result.callback.id == c.callback.id
    run_all(huey)
    assert calls == [([3, 7, 11], 100)]
    assert result.get() == 121
    assert result.results.get() == [3, 7, 11]
    assert result.pipeline_results is None
    assert chord_keys(huey, c) == {'fired'}  # slots and counter cleaned up


def test_chord_members_go_out_in_one_enqueue_many(fhuey, run_all):
    add, tot, _ = define(fhuey)
    fhuey.enqueue(chord([add.s(1, 2), add.s(3, 4)], tot.s()))
    assert fhuey.storage.enqueue_calls == ['enqueue_many']
    run_all(fhuey)
    assert fhuey.storage.enqueue_calls == ['enqueue_many', 'enqueue']  # + the callback


def test_group_then_is_a_chord(huey, run_all):
    calls = []
    add, tot, _ = define(huey, calls)
    result = huey.enqueue(group([add.s(1, 2), add.s(3, 4)]).then(tot, extra=5))
    run_all(huey)
    assert calls == [([3, 7], 5)]
    assert result.get() == 15


def test_chord_then_and_error_apply_to_the_callback(huey, run_all):
    add, tot, double = define(huey)
    failures = []

    @huey.task()
    def broken(results):
        raise ValueError(f'bad {results}')

    @huey.task()
    def on_error(tag, exc):
        failures.append((tag, str(exc)))

    result = huey.enqueue(chord([add.s(1, 2), add.s(3, 4)], tot.s()).then(double))
    assert len(result.pipeline_results) == 2
    run_all(huey)
    assert result.pipeline_results.get() == [10, 20]

    huey.enqueue(chord([add.s(1, 1)], broken.s()).error(on_error, 'cb'))
    run_all(huey)
    assert failures == [('cb', 'bad [2]')]


def test_empty_chord_runs_the_callback_with_an_empty_list(huey, run_all):
    calls = []
    _, tot, _ = define(huey, calls)
    result = huey.enqueue(chord([], tot.s(extra=1)))
    assert len(huey) == 1
    run_all(huey)
    assert calls == [([], 1)]
    assert result.get() == 1 and len(result.results) == 0


def test_retrying_member_contributes_its_final_value_once(huey, run_all):
    calls = []
    add, _, _ = define(huey)
    attempts = []

    @huey.task(retries=2)
    def flaky(x):
        attempts.append(x)
        if len(attempts) == 1:
            raise ValueError('first attempt fails')
        return x * 10

    @huey.task()
    def collect(results):
        calls.append(results)

    huey.enqueue(chord([flaky.s(4), add.s(1, 1)], collect.s()))
    run_all(huey)
    assert attempts == [4, 4]
    assert calls == [[40, 2]]


def test_retry_task_member_contributes_only_after_its_last_attempt(huey, run_all):
    calls = []
    attempts = []

    @huey.task()
    def again():
        attempts.append(1)
        if len(attempts) < 3:
            raise RetryTask()
        return 'done'

    @huey.task()
    def collect(results):
        calls.append(results)

    huey.enqueue(chord([again.s()], collect.s()))
    run_all(huey)
    assert len(attempts) == 3 and calls == [['done']]


def test_member_failing_for_good_leaves_its_error_in_its_slot(huey, run_all):
    calls = []
    add, _, _ = define(huey)

    @huey.task(retries=1)
    def boom():
        raise ValueError('boom')

    @huey.task()
    def collect(results):
        calls.append(results)

    result = huey.enqueue(chord([add.s(1, 2), boom.s()], collect.s()))
    run_all(huey)
    assert len(calls) == 1
    first, error = calls[0]
    assert first == 3
    assert isinstance(error, Error)
    assert error.metadata['error'] == "ValueError('boom')"
    assert error.metadata['task_id'] == list(result.results)[1].id
    assert error.metadata['retries'] == 0


def test_skipped_members_leave_skipped_and_a_cancelling_task_its_error(huey, run_all):
    from huey import CancelExecution

    calls = []
    add, _, _ = define(huey)

    @huey.task()
    def cancels():
        raise CancelExecution(retry=False)

    @huey.task()
    def collect(results):
        calls.append(results)

    expired = add.s(5, 5)
    expired.expires_ts = time.time() - 1
    result = huey.enqueue(chord([add.s(1, 2), add.s(2, 2), expired, cancels.s()], collect.s()))
    list(result.results)[1].revoke()

    @huey.pre_execute()
    def veto(task):
        if task.args == (7, 7):
            raise CancelExecution()

    huey.enqueue(chord([add.s(7, 7)], collect.s()))
    run_all(huey)
    [values, vetoed] = sorted(calls, key=len, reverse=True)
    assert values[:3] == [3, SKIPPED, SKIPPED] and vetoed == [SKIPPED]
    assert isinstance(values[3], Error) and 'CancelExecution' in values[3].metadata['error']


def test_member_pipeline_fills_its_slot_with_the_last_step(huey, run_all):
    calls = []
    add, _, double = define(huey)

    @huey.task()
    def boom(x):
        raise ValueError(x)

    @huey.task()
    def collect(results):
        calls.append(results)

    huey.enqueue(
        chord(
            [
                add.s(1, 2).then(double).then(double),
                add.s(1, 1).then(boom).then(double),
                add.s(0, 0),
            ],
            collect.s(),
        )
    )
    run_all(huey)
    assert len(calls) == 1
    assert calls[0][0] == 12 and calls[0][2] == 0
    assert isinstance(calls[0][1], Error) and calls[0][1].metadata['message'] == '2'


@pytest.mark.parametrize('options', [{'results': False}, {'store_none': False}])
def test_callback_gets_values_whatever_the_result_settings(options, run_all):
    huey = MemoryHuey('chord-no-results', **options)
    calls = []

    @huey.task()
    def echo(x):
        return x

    @huey.task()
    def collect(results):
        calls.append(results)

    returned = huey.enqueue(chord([echo.s(1), echo.s(None), echo.s('c')], collect.s()))
    assert isinstance(returned, ChordResult)
    run_all(huey)
    assert calls == [[1, None, 'c']]
    if options.get('results') is False:
        assert huey.result_count() == 0


def test_members_finishing_out_of_order(huey):
    calls = []
    add, tot, _ = define(huey, calls)
    c = chord([add.s(i, 0) for i in range(5)], tot.s())
    huey.enqueue(c)
    deliveries = [huey.reserve() for _ in range(5)]
    for delivery in (deliveries[3], deliveries[0], deliveries[4], deliveries[2]):
        huey.execute_delivery(delivery)
        assert len(huey) == 0 and calls == []
    huey.execute_delivery(deliveries[1])
    assert len(huey) == 1  # the callback, enqueued by the last member
    huey.execute_delivery(huey.reserve())
    assert calls == [([0, 1, 2, 3, 4], 0)]


def redeliver(huey):
    """Play the crashed worker's lease expiring: the message comes back."""
    assert huey.storage.requeue_expired_leases(time.time() + 3600) == 1
    delivery = huey.reserve()
    assert delivery is not None and delivery.deliveries == 2
    return delivery


def test_member_redelivered_after_a_crash_before_its_ack(fhuey, run_all):
    calls = []
    add, tot, _ = define(fhuey, calls)
    c = chord([add.s(1, 0), add.s(2, 0), add.s(3, 0)], tot.s())
    fhuey.enqueue(c)
    first = fhuey.reserve()
    fhuey.storage.crash_on.add('ack')
    with pytest.raises(ConnectionError):
        fhuey.execute_delivery(first)  # slot written and counted, never acked
    fhuey.execute_delivery(redeliver(fhuey))  # counted again: the counter over-counts
    run_all(fhuey)
    assert calls == [([1, 2, 3], 0)]
    assert chord_keys(fhuey, c) == {'fired'}


def _run_two_member_chord_crashing_last(fhuey, calls, crash_in: str):
    """Run a chord of two ``add`` members; the last one's worker dies in
    ``crash_in`` ('ack' or 'enqueue'). Returns the chord."""
    add, tot, _ = define(fhuey, calls)
    c = chord([add.s(1, 0), add.s(2, 0)], tot.s())
    fhuey.enqueue(c)
    fhuey.execute_delivery(fhuey.reserve())
    last = fhuey.reserve()
    fhuey.storage.crash_on.add(crash_in)
    with pytest.raises(ConnectionError):
        fhuey.execute_delivery(last)
    return c


def test_last_member_crashing_after_firing_does_not_fire_again(fhuey, run_all):
    calls = []
    c = _run_two_member_chord_crashing_last(fhuey, calls, 'ack')  # callback enqueued
    fhuey.execute_delivery(redeliver(fhuey))  # a late duplicate: chord already fired
    run_all(fhuey)
    assert calls == [([1, 2], 0)]
    assert chord_keys(fhuey, c) == {'fired'}  # the duplicate cleaned up after itself


def test_last_member_crashing_before_the_callback_is_enqueued_fires_on_redelivery(fhuey, run_all):
    calls = []
    # won the fired flag, died before enqueueing the callback
    c = _run_two_member_chord_crashing_last(fhuey, calls, 'enqueue')
    assert len(fhuey) == 0 and chord_keys(fhuey, c) == {'0', '1', 'count', 'fired'}
    fhuey.execute_delivery(redeliver(fhuey))
    run_all(fhuey)
    assert calls == [([1, 2], 0)]
    assert chord_keys(fhuey, c) == {'fired'}


def test_dead_lettered_member_leaves_an_error_and_the_chord_completes(run_all):
    huey = MemoryHuey('chord-dead', storage_class=FaultStorage, max_deliveries=1)
    calls = []
    add, _, _ = define(huey)

    @huey.task()
    def collect(results):
        calls.append(results)

    huey.enqueue(chord([add.s(1, 0), add.s(2, 0)], collect.s()))
    huey.execute_delivery(huey.reserve())
    huey.reserve()  # leased, then its worker is killed
    assert huey.storage.requeue_expired_leases(time.time() + 3600) == 1
    run_all(huey)  # delivery 2 > max_deliveries: dead-lettered
    assert len(huey.dead_letters()) == 1
    assert len(calls) == 1 and calls[0][0] == 1
    assert isinstance(calls[0][1], Error) and 'dead-lettered' in calls[0][1].metadata['error']


def test_unknown_callback_is_dead_lettered_not_lost(huey, run_all):
    calls = []
    add, tot, _ = define(huey, calls)
    huey.enqueue(chord([add.s(1, 0)], tot.s()))
    tot.unregister()
    run_all(huey)
    letters = huey.dead_letters()
    assert len(letters) == 1 and 'callback' in letters[0].reason
    huey.registry.register(tot.task_class)  # deploy the missing task, requeue
    assert huey.requeue_dead_letter(letters[0].id)
    assert run_all(huey) == 1
    assert calls == [([1], 0)]


def finish(instance, delivery, errors):
    try:
        instance.execute_delivery(delivery)
    except BaseException as exc:  # surfaced by the test
        errors.append(exc)


def test_two_consumers_finishing_the_last_members_together_fire_once():
    storage = FaultStorage('shared')
    calls = []
    lock = threading.Lock()
    hueys = [MemoryHuey('shared'), MemoryHuey('shared')]

    def register(instance):
        instance.storage = storage

        @instance.task(name='ident')
        def ident(x):
            return x

        @instance.task(name='collect')
        def collect(results):
            with lock:
                calls.append(results)

        return ident, collect

    ident, collect = register(hueys[0])
    register(hueys[1])
    producer = hueys[0]
    rounds = 20
    for _ in range(rounds):
        calls.clear()
        c = chord([ident.s(0), ident.s(1), ident.s(2)], collect.s())
        producer.enqueue(c)
        first = producer.reserve()
        first_copy = first.task.copy(id=first.task.id)
        producer.execute_delivery(first)
        producer.execute(first_copy)  # a duplicate run: the counter over-counts
        last = [hueys[0].reserve(), hueys[1].reserve()]
        # both last members write their slot before either counts, and both
        # counts may reach the size: only the fired flag keeps the callback single
        storage.slot_barrier = threading.Barrier(2)
        errors = []
        threads = [
            threading.Thread(target=finish, args=(h, d, errors)) for h, d in zip(hueys, last)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(10)
        storage.slot_barrier = None
        assert errors == []
        while (delivery := producer.reserve()) is not None:
            producer.execute_delivery(delivery)
        assert calls == [[0, 1, 2]]
        assert chord_keys(producer, c) == {'fired'}


def test_immediate_mode_returns_the_callback_value():
    huey = MemoryHuey('chord-immediate', immediate=True)
    calls = []
    add, tot, double = define(huey, calls)
    assert huey.enqueue(chord([add.s(1, 2), add.s(3, 4)], tot.s(extra=1))).get() == 11
    result = huey.enqueue(group([add.s(1, 1)]).then(tot).then(double))
    assert result.get() == 2 and result.pipeline_results[1] == 4
    assert huey.enqueue(chord([], tot.s())).get() == 0


def test_chord_member_messages_round_trip_and_bad_ones_are_rejected(huey):
    from huey import SerializationError

    add, tot, _ = define(huey)
    c = chord([add.s(1, 2)], tot.s(extra=3))
    huey.enqueue(c)
    message = c.tasks[0].to_message().encode()
    assert len(message) == 12 and len(add.s(1, 2).to_message().encode()) == 11
    decoded = huey.registry.decode(message)
    assert decoded.chord == c.tasks[0].chord and decoded.args == (1, 2)
    assert 'member 1/1' in repr(decoded)
    for bad in [
        message[:11] + ((1, 2),),
        message[:11] + (('id', 3, 2, ()),),
        message[:11] + (('id', 0, 1, None),),
    ]:
        with pytest.raises(SerializationError, match='field chord'):
            huey.registry.decode(bad)


def test_chord_rejects_bad_arguments():
    one, two = MemoryHuey('c-one'), MemoryHuey('c-two')
    a1, t1, _ = define(one)
    _, t2, _ = define(two)
    with pytest.raises(ValueError, match='different Huey'):
        chord([a1.s(1, 2)], t2.s())
    with pytest.raises(ValueError, match='different Huey'):
        two.enqueue(chord([a1.s(1, 2)], t1.s()))
    with pytest.raises(TypeError, match=r'\.s\(\.\.\.\)'):
        chord([a1], t1.s())
    with pytest.raises(TypeError, match='task function or a signature'):
        chord([a1.s(1, 2)], 'tot')
    assert chord([a1.s(1, 2)], t1).callback.name == 'tot'  # a task function is accepted


@pytest.mark.parametrize('fail_last', [False, True])
def test_every_member_result_is_stored_before_the_callback_is_enqueued(fhuey, run_all, fail_last):
    add, tot, _ = define(fhuey)

    @fhuey.task(name='boom')
    def boom():
        raise ValueError('boom')

    last = boom.s() if fail_last else add.s(5, 5)
    c = chord([add.s(1, 1), add.s(2, 2), last], tot.s())
    result = fhuey.enqueue(c)
    member_ids = {r.id for r in result.results}
    stored_when_fired = []
    enqueue = fhuey.storage.enqueue

    def watching_enqueue(data, priority=None):
        stored_when_fired.append(member_ids & set(fhuey.storage.result_items()))
        return enqueue(data, priority)

    fhuey.storage.enqueue = watching_enqueue
    run_all(fhuey)
    assert stored_when_fired[0] == member_ids  # the callback was the first enqueue
    assert result.results[0] == 2


def test_a_chord_member_may_be_a_chord(huey, run_all):
    add, tot, _ = define(huey)

    @huey.task()
    def collect(values):
        return values

    inner = chord([add.s(1, 1), add.s(2, 2)], collect.s()).then(tot)
    result = huey.enqueue(chord([add.s(0, 1), inner], collect.s()))
    run_all(huey)
    assert result.get() == [1, 6]
    assert result.results() == [1, 6]
