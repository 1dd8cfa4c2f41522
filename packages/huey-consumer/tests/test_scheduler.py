"""Scheduler timing with an injected clock: no test here sleeps."""

from __future__ import annotations

import datetime
import threading

import pytest
from huey_api import MemoryHuey
from huey_consumer.scheduler import Scheduler
from huey_crontab import crontab

# 2030-01-07 12:00:00 UTC, a Monday in the future (so scheduled etas are not past due)
NOON = datetime.datetime(2030, 1, 7, 12, 0, tzinfo=datetime.timezone.utc).timestamp()


def utc(ts: float) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(ts, datetime.timezone.utc).replace(tzinfo=None)


class RecordingHuey:
    """Stands in for Huey's execution API and records the scheduler's calls."""

    utc = True
    delivery = 'at-least-once'
    lease_timeout = 8.0

    def __init__(self) -> None:
        self.due_calls: list[float] = []
        self.periodic_calls: list[datetime.datetime] = []
        self.fail = False

    def enqueue_due(self, now):
        if self.fail:
            raise ConnectionError('storage down')
        self.due_calls.append(now)
        return 0

    def enqueue_periodic(self, now):
        if self.fail:
            raise ConnectionError('storage down')
        self.periodic_calls.append(now)
        return []


class FakeClock:
    """Time moves only when the scheduler waits; stops it after ``ticks`` waits."""

    def __init__(self, start: float, ticks: int) -> None:
        self.now = start
        self.waits: list[float] = []
        self.ticks = ticks

    def time(self) -> float:
        return self.now

    def monotonic(self) -> float:
        return self.now

    def wait(self, event: threading.Event, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        if len(self.waits) >= self.ticks:
            event.set()
        return event.is_set()


def test_every_tick_moves_due_tasks_with_the_tick_time():
    huey = RecordingHuey()
    scheduler = Scheduler(huey, interval=1, periodic=False)
    for offset in (0.0, 1.0, 2.0):
        scheduler.tick(NOON + offset)
    assert huey.due_calls == [NOON, NOON + 1, NOON + 2]
    assert huey.periodic_calls == []


def test_ticks_align_on_the_wall_clock():
    scheduler = Scheduler(RecordingHuey(), interval=15)
    assert scheduler.next_delay(NOON + 1) == pytest.approx(14)
    assert scheduler.next_delay(NOON + 14.5) == pytest.approx(0.5)
    assert scheduler.next_delay(NOON + 15) == pytest.approx(15)
    assert Scheduler(RecordingHuey(), interval=1).next_delay(NOON + 3.25) == pytest.approx(0.75)


def test_run_loop_with_injected_clock_ticks_each_interval():
    huey = RecordingHuey()
    clock = FakeClock(NOON + 0.5, ticks=5)
    scheduler = Scheduler(huey, interval=2, periodic=False, clock=clock, due_poll_interval=None)
    scheduler.run()
    assert huey.due_calls == [NOON + 0.5, NOON + 2, NOON + 4, NOON + 6, NOON + 8]
    assert clock.waits == [pytest.approx(1.5)] + [pytest.approx(2)] * 4


def test_periodic_fires_once_per_minute_on_the_minute():
    huey = RecordingHuey()
    clock = FakeClock(NOON + 58, ticks=125)
    Scheduler(huey, interval=1, clock=clock, due_poll_interval=None).run()
    # start-up minute, then 12:01, 12:02 and 12:03 (the run ends at 12:03:03)
    assert huey.periodic_calls == [utc(NOON), utc(NOON + 60), utc(NOON + 120), utc(NOON + 180)]
    assert len(huey.due_calls) == 125


def test_periodic_datetime_is_naive_local_time_when_huey_is_not_utc():
    huey = RecordingHuey()
    huey.utc = False
    Scheduler(huey).tick(NOON + 30)
    assert huey.periodic_calls == [datetime.datetime.fromtimestamp(NOON)]


def test_same_minute_never_fires_twice():
    huey = RecordingHuey()
    scheduler = Scheduler(huey)
    for second in range(0, 60, 7):
        scheduler.tick(NOON + second)
    assert huey.periodic_calls == [utc(NOON)]


def test_stalled_scheduler_fires_the_missed_time_once_and_never_replays():
    huey = RecordingHuey()
    scheduler = Scheduler(huey)
    scheduler.tick(NOON + 59.5)
    # process suspended for ten minutes: the next tick is at 12:10:20
    scheduler.tick(NOON + 620)
    scheduler.tick(NOON + 621)
    assert huey.periodic_calls == [utc(NOON), utc(NOON + 600)]


def test_a_late_tick_still_fires_its_minute_once():
    huey = RecordingHuey()
    scheduler = Scheduler(huey)
    scheduler.tick(NOON + 59.9)
    scheduler.tick(NOON + 61.7)  # the 12:01:00 tick came late
    scheduler.tick(NOON + 62)
    assert huey.periodic_calls == [utc(NOON), utc(NOON + 60)]


def test_clock_going_backwards_does_not_refire():
    huey = RecordingHuey()
    scheduler = Scheduler(huey)
    scheduler.tick(NOON + 130)
    scheduler.tick(NOON + 70)  # clock stepped back a minute
    scheduler.tick(NOON + 135)
    assert huey.periodic_calls == [utc(NOON + 120)]


def test_failed_periodic_enqueue_is_retried_at_the_next_tick():
    huey = RecordingHuey()
    scheduler = Scheduler(huey)
    huey.fail = True
    report = scheduler.tick(NOON + 1)
    assert report.errors == 2 and huey.periodic_calls == []
    huey.fail = False
    scheduler.tick(NOON + 2)
    assert huey.periodic_calls == [utc(NOON)]


def test_storage_errors_slow_the_loop_down():
    huey = RecordingHuey()
    huey.fail = True
    clock = FakeClock(NOON, ticks=6)
    Scheduler(huey, interval=1, periodic=False, clock=clock, due_poll_interval=None).run()
    assert clock.waits == [1.0, 1.0, 2.0, 4.0, 8.0, 15.0]


@pytest.mark.parametrize('interval', [0, 7, 45, 120, 1.5])
def test_interval_must_divide_a_minute(interval):
    with pytest.raises(
        ValueError,
        match='must be a number of seconds that divides a minute: one of 1, 2, 3, 4, 5, 6, 10',
    ):
        Scheduler(RecordingHuey(), interval=interval)


def test_with_a_real_huey_due_and_periodic_tasks_reach_the_queue():
    huey = MemoryHuey('scheduler-test')

    @huey.task()
    def add(a, b):
        return a + b

    @huey.periodic_task(crontab(minute='*/5'))
    def every_five():
        pass

    add.schedule((1, 2), eta=datetime.datetime.fromtimestamp(NOON + 30, datetime.timezone.utc))
    # a worker takes it early and puts it on the schedule
    huey.execute_delivery(huey.reserve(), now=NOON)
    assert huey.scheduled_count() == 1
    scheduler = Scheduler(huey)
    first = scheduler.tick(NOON + 3)  # 12:00 matches */5, add not due
    assert [t.name for t in first.periodic_enqueued] == [every_five.name]
    assert first.enqueued_due == 0
    second = scheduler.tick(NOON + 31)  # add due, 12:00 already evaluated
    assert second.enqueued_due == 1 and second.periodic_minute is None
    third = scheduler.tick(NOON + 61)  # 12:01 does not match */5
    assert third.periodic_minute == utc(NOON + 60) and third.periodic_enqueued == []
    assert sorted(t.name for t in huey.pending()) == sorted([every_five.name, add.name])
    huey.flush()


def test_due_tasks_are_polled_between_ticks():
    huey = RecordingHuey()
    clock = FakeClock(NOON, ticks=21)
    scheduler = Scheduler(huey, interval=1, periodic=False, clock=clock, due_poll_interval=0.1)
    scheduler.run()
    # one full tick at NOON, then nine polls every 0.1 s before the next tick
    assert huey.due_calls[:11] == [pytest.approx(NOON + n / 10) for n in range(11)]
    assert clock.waits[:10] == [pytest.approx(0.1)] * 10


class PeriodicFailsHuey(RecordingHuey):
    periodic_down = False

    def enqueue_periodic(self, now):
        if self.periodic_down:
            raise ConnectionError('storage down')
        return super().enqueue_periodic(now)


def test_loop_evaluates_periodic_tasks_once_a_minute_and_retries_a_failure_soon():
    huey = PeriodicFailsHuey()
    clock = FakeClock(NOON + 10, ticks=1000)
    scheduler = Scheduler(huey, interval=1, clock=clock, due_poll_interval=None)
    scheduler.loop()
    assert huey.periodic_calls == [utc(NOON)]
    assert scheduler._next_periodic == pytest.approx(NOON + 59.5)
    while clock.now < NOON + 59:
        scheduler.loop()
    huey.periodic_down = True  # the 12:01 evaluation fails: retried after the error delay
    scheduler.loop()
    assert clock.now == pytest.approx(NOON + 60)
    scheduler.loop()
    assert scheduler._next_periodic == pytest.approx(clock.monotonic())  # due at this tick
    huey.periodic_down = False
    scheduler.loop()
    assert huey.periodic_calls == [utc(NOON), utc(NOON + 60)]
