"""Events, counters and heartbeats recorded through each real storage."""

from __future__ import annotations

import json
import socket

import huey_monitor
import pytest
from conftest import wait_until
from huey.exceptions import RetryTask
from huey_monitor import MonitorSettings
from huey_monitor.recorder import Recorder
from huey_monitor.records import Keys


def run_one(huey) -> None:
    """Run the next waiting task here, as a consumer worker would."""
    delivery = wait_until(huey.reserve, 10, 'a task to reserve')
    huey.execute_delivery(delivery)


def signals_of(events, task_id) -> list[str]:
    return [e.signal for e in sorted(events, key=lambda e: e.ts) if e.task_id == task_id]


@pytest.mark.parametrize(
    'option, value',
    [('max_events', 0), ('slot_size', 'many'), ('flush_interval', 0), ('max_age', -1)],
)
def test_settings_name_the_bad_value(option, value):
    with pytest.raises(ValueError, match=f'{option}={value!r}'):
        MonitorSettings(**{option: value})


def test_task_events_counters_and_timings(make_app):
    app = make_app()
    huey, monitor, module = app.huey, app.monitor, app.module
    ok = module.add(1, 2)
    bad = module.fail('boom')
    run_one(huey)
    run_one(huey)
    assert ok.get() == 3
    monitor.flush()

    events = monitor.events()
    assert signals_of(events, ok.id) == ['enqueued', 'executing', 'complete']
    assert signals_of(events, bad.id) == ['enqueued', 'executing', 'error']
    error = next(e for e in events if e.signal == 'error')
    assert error.error == "ValueError('boom')"
    assert error.name == module.fail.name
    complete = next(e for e in events if e.signal == 'complete')
    assert complete.duration is not None and 0 <= complete.duration < 5

    totals = monitor.totals()
    assert totals[module.add.name]['complete'] == 1
    assert totals[module.add.name]['enqueued'] == 1
    assert totals[module.fail.name]['error'] == 1
    series = monitor.series(minutes=2)
    assert len(series['minute']) == 2
    assert sum(series['complete']) == 1 and sum(series['error']) == 1
    assert sum(series['enqueued']) == 2

    timing = {t.name: t for t in monitor.timings()}
    assert timing[module.add.name].count == 1
    assert timing[module.add.name].p50 == complete.duration
    histogram = monitor.durations()[module.add.name]
    assert histogram['count'] == 1
    assert histogram['buckets'][-1] == (float('inf'), 1)

    status = monitor.status()
    assert status['pending'] == 0 and status['dead_letters'] == 0
    assert status['results'] == 1  # the error (ok.get() consumed the value)


def test_an_attempt_running_at_a_flush_has_its_start_written_once(make_app):
    # An attempt is buffered when it ends; one still running at a flush gets its
    # EXECUTING event from the tasks in flight, and not a second one at its end.
    app = make_app()
    huey, monitor = app.huey, app.monitor
    seen_while_running = []

    @huey.task(retries=1, context=True)
    def flaky(task=None):
        monitor.flush()
        seen_while_running.append(signals_of(monitor.events(), task.id))
        if len(seen_while_running) == 1:
            raise ValueError('again')

    result = flaky()
    run_one(huey)  # error, then retrying: the same id goes back to the queue
    run_one(huey)
    monitor.flush()

    first = ['enqueued', 'executing']
    second = [*first, 'error', 'retrying', 'enqueued', 'executing']
    assert seen_while_running == [first, second]
    events = sorted((e for e in monitor.events() if e.task_id == result.id), key=lambda e: e.ts)
    assert [e.signal for e in events] == [*second, 'complete']
    timed = [e.signal for e in events if e.duration is not None]
    assert timed == ['error', 'complete']


def test_consumer_heartbeat_in_flight_and_exit(make_app, start_consumer):
    app = make_app()
    monitor, module = app.monitor, app.module
    consumer = start_consumer(app, '-w', '2')

    def registered():
        # Workers start one by one: the record follows their count.
        alive = [view for view in monitor.consumers() if view.alive]
        ours = alive and alive[0].record.pid == consumer.pid and alive[0].record.workers == 2
        return alive if ours else None

    view = wait_until(registered, 30, 'the consumer heartbeat with both workers')[0]
    assert view.record.host == socket.gethostname()

    running = module.slow(3)

    def in_flight():
        views = monitor.consumers()
        return views and running.id in {item.task_id for item in views[0].record.in_flight}

    wait_until(in_flight, 20, 'slow() to show as in flight')
    results = [module.add(i, i) for i in range(5)]
    assert [r.get(blocking=True, timeout=30) for r in results] == [0, 2, 4, 6, 8]
    assert running.get(blocking=True, timeout=30) == 3

    consumer_id = f'{socket.gethostname()}:{consumer.pid}'

    def completions():
        done = [e for e in monitor.events() if e.signal == 'complete']
        return done if len(done) == 6 else None

    done = wait_until(completions, 20, 'six complete events')
    assert {e.consumer for e in done} == {consumer_id}
    assert max(e.duration for e in done) >= 3
    assert consumer.stop() == 0
    assert monitor.consumers() == []  # unregistered on a clean stop


def test_event_log_keeps_only_the_newest(make_app):
    app = make_app('max_events=20, slot_size=5')
    monitor, module = app.monitor, app.module
    ids = []
    for batch in range(9):  # 3 a flush: slots fill across flushes
        ids.extend(module.add(batch, i).id for i in range(3))
        monitor.flush()
    events = monitor.events()
    assert [e.task_id for e in events] == ids[::-1][:20]
    settings = monitor.settings()
    assert settings.slots == 8
    stored = 0
    for value in app.huey.storage.peek_data_many(
        [Keys.event_slot(i, settings.slots) for i in range(settings.slots)]
    ):
        stored += len(json.loads(value)['events']) if value else 0
    assert 20 <= stored <= 2 * settings.max_events


def test_old_events_age_out(make_app):
    app = make_app('max_age=1')
    app.module.add(1, 1)
    app.monitor.flush()
    assert len(app.monitor.events()) == 1
    wait_until(lambda: not app.monitor.events(), 10, 'the event to age out')


def test_process_workers_each_heartbeat(make_app, start_consumer):
    app = make_app()
    monitor, module = app.monitor, app.module
    start_consumer(app, '-k', 'process', '-w', '2')
    views = wait_until(
        lambda: (
            [v for v in monitor.consumers() if v.alive] if len(monitor.consumers()) == 2 else None
        ),
        30,
        'a heartbeat from each worker process',
    )
    assert [v.record.workers for v in views] == [1, 1]
    pids = {v.record.pid for v in views}
    results = [module.add(i, 2) for i in range(6)]
    assert [r.get(blocking=True, timeout=30) for r in results] == [i + 2 for i in range(6)]

    def recorded():
        done = [e for e in monitor.events() if e.signal == 'complete']
        return done if len(done) == 6 else None

    done = wait_until(recorded, 20, 'six complete events')
    assert {int(e.consumer.rsplit(':', 1)[1]) for e in done} <= pids


def test_a_killed_consumer_shows_as_gone(make_app, start_consumer):
    app = make_app()
    monitor = app.monitor
    consumer = start_consumer(app, '-w', '1')
    wait_until(lambda: [v for v in monitor.consumers() if v.alive], 30, 'the heartbeat')
    consumer.kill()  # SIGKILL: no shutdown hook, the record stays behind
    (view,) = wait_until(
        lambda: [v for v in monitor.consumers() if not v.alive], 30, 'the consumer to go silent'
    )
    assert view.record.pid == consumer.pid
    assert monitor.consumers(include_gone=False) == []
    assert monitor.status()['consumers'] == 0


def test_a_slot_another_process_reused_is_not_overwritten(make_app):
    # Two recorders stand for two processes: A keeps a half-filled slot while B
    # writes enough slots to come round to it; A must move on (it reads the
    # slot counter with peek_counters), not overwrite B's newest events.
    app = make_app('max_events=20, slot_size=5')
    huey, module = app.huey, app.module
    settings = app.monitor.settings()
    first, second = Recorder(huey, settings), Recorder(huey, settings)
    tasks = [module.add.s(i, 0) for i in range(42)]
    first.on_signal('enqueued', tasks[0])
    first.flush()
    for start in range(1, 41, 5):  # 8 full slots: the ring of 8 comes round
        for task in tasks[start : start + 5]:
            second.on_signal('enqueued', task)
        second.flush()
    first.on_signal('enqueued', tasks[41])
    first.flush()
    shown = {event.task_id for event in app.monitor.events()}
    assert {task.id for task in tasks[36:42]} <= shown


def test_a_retry_task_attempt_has_its_duration_on_its_retrying_event(make_app):
    # RetryTask ends an attempt with RETRYING alone: that event is timed
    # (after an error, the error is, as above).
    app = make_app()
    huey, monitor = app.huey, app.monitor

    @huey.task(context=True)
    def again(task=None):
        if task.retries == 0 and not getattr(again, 'done', False):
            again.done = True
            raise RetryTask()

    result = again()
    run_one(huey)
    run_one(huey)
    monitor.flush()
    events = sorted((e for e in monitor.events() if e.task_id == result.id), key=lambda e: e.ts)
    assert [e.signal for e in events] == [
        'enqueued',
        'executing',
        'retrying',
        'enqueued',
        'executing',
        'complete',
    ]
    assert [e.signal for e in events if e.duration is not None] == ['retrying', 'complete']
    assert huey.running_tasks == {}


def test_a_busy_flush_counts_every_event_and_writes_only_the_newest(make_app):
    app = make_app('max_events=20, slot_size=20')  # a flush writes 20 events
    huey, monitor, module = app.huey, app.monitor, app.module
    added = [module.add(i, i) for i in range(30)]
    failed = [module.fail(str(i)) for i in range(5)]
    for _ in range(35):
        run_one(huey)
    monitor.flush()  # one flush: 35 enqueued, 30 completions (fed), 5 errors

    totals = {
        name: {k: n for k, n in counts.items() if n} for name, counts in monitor.totals().items()
    }
    assert totals[module.add.name] == {'enqueued': 30, 'complete': 30}
    assert totals[module.fail.name] == {'enqueued': 5, 'error': 5}
    histograms = monitor.durations()  # every attempt's duration, stored or not
    assert histograms[module.add.name]['count'] == 30
    assert histograms[module.fail.name]['count'] == 5
    assert sum(monitor.series(minutes=2)['complete']) == 30
    events = monitor.events()  # newest first
    assert len(events) == 20
    assert (events[0].task_id, events[0].signal) == (failed[-1].id, 'error')
    ends = [e for e in events if e.signal == 'complete']
    assert ends and all(e.duration is not None and e.duration >= 0 for e in ends)
    assert {e.task_id for e in ends} <= {r.id for r in added[-20:]}


def test_the_writer_folds_events_between_flushes_counting_all(make_app):
    app = make_app()
    huey, module = app.huey, app.module
    huey_monitor.disable(huey)  # again, with no flush due in the test
    monitor = huey_monitor.enable(huey, flush_interval=60, max_events=20, slot_size=20)
    recorder = monitor.recorder
    added = [module.add(i, i) for i in range(30)]
    for _ in range(30):
        run_one(huey)
    # taken out of the buffers within a fold interval, long before the flush
    wait_until(lambda: not recorder._pending and not recorder._completed, 10, 'the writer to fold')
    with recorder._write_lock:  # the fold that emptied them has finished
        assert recorder._folded == 60  # 30 enqueued, 30 completions: all counted
        assert len(recorder._completions_to_write) == 20  # only the newest kept
    stored = [n for counts in monitor.totals().values() for n in counts.values()]
    assert not any(stored)  # nothing stored before the flush

    assert monitor.flush() == 60
    totals = {
        name: {k: n for k, n in counts.items() if n} for name, counts in monitor.totals().items()
    }
    assert totals[module.add.name] == {'enqueued': 30, 'complete': 30}
    assert monitor.durations()[module.add.name]['count'] == 30
    ends = [e for e in monitor.events() if e.signal == 'complete']
    assert {e.task_id for e in ends} <= {r.id for r in added[-20:]}
    assert monitor.flush() == 0  # the tally went with the flush


def test_completions_come_from_the_feed_unless_arguments_are_captured():
    from huey import MemoryHuey
    from huey.signals import SIGNAL_COMPLETE

    huey = MemoryHuey('fed')
    settings = MonitorSettings()
    recorder = Recorder(huey, settings)
    recorder.listen()
    assert huey._executor.completion_feeds == (recorder._completed.append,)
    assert SIGNAL_COMPLETE not in huey._signals.wanted
    recorder.listen(False)
    assert huey._executor.completion_feeds == () and not huey._signals.wanted

    capturing = Recorder(huey, settings, capture_args=True)  # the task's arguments: the signal's
    capturing.listen()
    assert huey._executor.completion_feeds == ()
    assert SIGNAL_COMPLETE in huey._signals.wanted
    capturing.disconnect()
    recorder.disconnect()
