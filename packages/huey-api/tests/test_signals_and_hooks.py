"""Signals and pre/post execute hooks."""

from __future__ import annotations

import threading
import time

import pytest
from huey import signals as S


def test_all_signal_constants_exist():
    for name in (
        'SIGNAL_CANCELED',
        'SIGNAL_COMPLETE',
        'SIGNAL_ERROR',
        'SIGNAL_EXECUTING',
        'SIGNAL_EXPIRED',
        'SIGNAL_LOCKED',
        'SIGNAL_RETRYING',
        'SIGNAL_REVOKED',
        'SIGNAL_SCHEDULED',
        'SIGNAL_INTERRUPTED',
        'SIGNAL_DEAD_LETTERED',
    ):
        assert getattr(S, name) in S.SIGNALS


def test_signal_sequence_for_success(huey, run_all):
    seen = []
    huey.signal()(lambda signal, task, *args: seen.append((signal, args)))

    @huey.task()
    def ok():
        return 1

    ok()
    run_all(huey)
    assert seen == [(S.SIGNAL_ENQUEUED, ()), (S.SIGNAL_EXECUTING, ()), (S.SIGNAL_COMPLETE, ())]


def test_error_signal_carries_exception(huey, run_all):
    seen = []

    @huey.signal(S.SIGNAL_ERROR)
    def on_error(signal, task, exc):
        seen.append(exc)

    @huey.task()
    def bad():
        raise OSError('disk')

    bad()
    run_all(huey)
    assert [type(e) for e in seen] == [OSError]


def test_scheduled_signal_when_a_worker_schedules_a_future_eta(huey, run_one):
    seen = []
    huey.signal(S.SIGNAL_ENQUEUED, S.SIGNAL_SCHEDULED)(
        lambda signal, task: seen.append((signal, task.id))
    )

    @huey.task()
    def later():
        pass

    result = later.schedule(delay=60)
    assert seen == [(S.SIGNAL_ENQUEUED, result.id)]
    run_one(huey)
    assert seen[1:] == [(S.SIGNAL_SCHEDULED, result.id)]


def test_disconnect_signal(huey, run_all):
    seen = []

    def receiver(signal, task, *args):
        seen.append(signal)

    huey.signal(S.SIGNAL_COMPLETE)(receiver)
    huey.disconnect_signal(receiver, S.SIGNAL_COMPLETE)

    @huey.task()
    def ok():
        return 1

    ok()
    run_all(huey)
    assert seen == []


def test_failing_receiver_is_logged_not_raised(huey, run_all, caplog):
    @huey.signal(S.SIGNAL_COMPLETE)
    def broken(signal, task):
        raise RuntimeError('receiver bug')

    @huey.task()
    def ok():
        return 1

    result = ok()
    run_all(huey)
    assert result() == 1 and 'receiver bug' in caplog.text


def test_unknown_signal_name_rejected(huey):
    with pytest.raises(ValueError, match="'nope'"):
        huey.signal('nope')(lambda *a: None)


def test_post_execute_hook_gets_value_and_exception(huey, run_all):
    seen = []

    @huey.post_execute()
    def after(task, value, exc):
        seen.append((value, type(exc).__name__ if exc else None))

    @huey.task()
    def ok():
        return 'v'

    @huey.task()
    def bad():
        raise KeyError('k')

    ok()
    bad()
    run_all(huey)
    assert seen == [('v', None), (None, 'KeyError')]
    assert huey.unregister_post_execute('after') is True


def test_enqueued_signal_once_per_task_for_map_and_schedule(huey):
    seen = []
    huey.signal(S.SIGNAL_ENQUEUED)(lambda signal, task: seen.append(task.id))

    @huey.task()
    def work(x):
        return x

    group = work.map([1, 2, 3])
    later = work.s(4)
    later.eta = 9999999999.0
    huey.enqueue_many([later])
    assert seen == [r.id for r in group] + [later.id]


def test_complete_receivers_read_the_result_unless_they_say_they_never_do(huey, run_all):
    seen = {}

    @huey.task()
    def add(a, b):
        return a + b

    def reader(signal, task):
        seen['reader'] = huey.result(task.id, preserve=True)

    def logger(signal, task):
        seen['logger'] = huey.result(task.id, preserve=True)

    logger.reads_results = False  # stored with the acknowledgement instead
    huey.signal('complete')(logger)
    add(1, 2)
    run_all(huey)
    assert seen == {'logger': None}
    assert huey._signals.complete_reads_result is False
    huey.signal('complete')(reader)
    assert huey._signals.complete_reads_result is True
    result = add(2, 3)
    run_all(huey)
    assert seen == {'logger': 5, 'reader': 5} and result.get() == 5


def test_a_lone_receiver_that_never_raises_is_called_directly(huey, run_all):
    seen, completed = [], []

    def recorder(signal, task, *args):
        seen.append((signal, *map(type, args)))

    recorder.never_raises = True  # it catches its own errors (huey-monitor's recorder)
    huey.signal()(recorder)
    assert huey._signals.send == recorder  # no dispatch loop in between

    @huey.task()
    def bad():
        raise OSError('disk')

    bad()
    run_all(huey)
    assert seen == [(S.SIGNAL_ENQUEUED,), (S.SIGNAL_EXECUTING,), (S.SIGNAL_ERROR, OSError)]

    # Another receiver, even on one signal, brings the loop back.
    other = huey.signal(S.SIGNAL_COMPLETE)(lambda signal, task: completed.append(signal))
    assert huey._signals.send != recorder
    huey.disconnect_signal(other)
    assert huey._signals.send == recorder
    # A lone receiver on some signals only is called directly for those alone.
    huey.disconnect_signal(recorder)
    huey.signal(S.SIGNAL_COMPLETE)(recorder)
    assert huey._signals.send == recorder
    seen.clear()

    @huey.task()
    def ok():
        return 1

    ok()
    run_all(huey)
    assert seen == [(S.SIGNAL_COMPLETE,)] and completed == []


def test_a_receiver_may_disconnect_itself_and_connect_another_while_a_signal_is_sent(huey, run_all):
    calls = []

    def second(signal, task):
        calls.append(('second', signal))

    def first(signal, task):
        calls.append(('first', signal))
        huey.disconnect_signal(first)
        huey.signal(S.SIGNAL_COMPLETE)(second)

    huey.signal(S.SIGNAL_EXECUTING, S.SIGNAL_COMPLETE)(first)
    huey.signal(S.SIGNAL_EXECUTING)(second)

    @huey.task()
    def ok():
        return 1

    ok()
    run_all(huey)
    # the executing signal reached both receivers it started with; complete
    # reached only the one connected by then
    assert calls == [
        ('first', S.SIGNAL_EXECUTING),
        ('second', S.SIGNAL_EXECUTING),
        ('second', S.SIGNAL_COMPLETE),
    ]


@pytest.mark.parametrize('fails', [False, True])
def test_running_tasks_holds_an_attempt_from_its_start_until_its_outcome(huey, run_all, fails):
    seen = {}

    @huey.task()
    def work():
        (attempt,) = huey.running_tasks.values()
        seen['inside'] = attempt
        if fails:
            raise ValueError('boom')
        return 1

    def at_the_end(signal, task, *args):
        seen[signal] = huey.running_tasks.get(id(task))

    huey.signal(S.SIGNAL_COMPLETE, S.SIGNAL_ERROR)(at_the_end)
    before = time.time()
    result = work()
    run_all(huey)
    started, ident, task = seen['inside']
    assert task.id == result.id and ident == threading.get_ident()
    assert before <= started <= time.time()
    # a receiver of the attempt's end still finds its start, then it is gone
    assert seen[S.SIGNAL_ERROR if fails else S.SIGNAL_COMPLETE] == seen['inside']
    assert huey.running_tasks == {}


def test_a_completion_feed_gets_each_completed_attempt_before_its_signal(huey, run_all):
    fed, order = [], []

    def feed(completion):
        fed.append(completion)
        order.append('feed')

    huey.signal(S.SIGNAL_COMPLETE)(lambda signal, task: order.append('signal'))
    huey.add_completion_feed(feed)
    huey.add_completion_feed(feed)  # once only

    @huey.task()
    def work(fail=False):
        seen['start'] = next(iter(huey.running_tasks.values()))[0]
        if fail:
            raise ValueError('boom')

    seen = {}
    result = work()
    run_all(huey)
    (completion,) = fed
    ended, started, ident, name, task_id = completion
    assert (started, ident, name, task_id) == (
        seen['start'],
        threading.get_ident(),
        work.name,
        result.id,
    )
    assert started <= ended <= time.time()
    assert order == ['feed', 'signal']

    work(fail=True)  # a failure is not a completion
    run_all(huey)
    assert len(fed) == 1

    huey.remove_completion_feed(feed)
    huey.remove_completion_feed(feed)  # removing twice is harmless
    work()
    run_all(huey)
    assert len(fed) == 1
