"""schedule(), periodic tasks, start() and stop() with an injected clock."""

from __future__ import annotations

import datetime as dt
import logging

import gevent
import pytest
from huey_mini import crontab
from mini_support import FakeClock, wait_until


def test_schedule_with_delay_runs_only_once_the_clock_passes_it(make_mini, clock):
    mini = make_mini(interval=0.01, clock=clock)
    ran_at = []

    @mini.task()
    def fetch_url(url):
        ran_at.append(clock.now)
        return url.upper()

    mini.start()
    result = fetch_url.schedule(('https://google.com',), delay=30)
    clock.wait_for_reads(10)
    assert not result.ready()
    clock.advance(seconds=29)
    clock.wait_for_reads(10)
    assert not result.ready()
    clock.advance(seconds=1)
    assert result.get(timeout=5) == 'HTTPS://GOOGLE.COM'
    assert ran_at == [dt.datetime(2024, 5, 1, 10, 0, 30)]


def test_schedule_with_eta_kwargs_and_timedelta_delay(make_mini, clock):
    mini = make_mini(interval=0.01, clock=clock)

    @mini.task()
    def greet(name, punctuation='.'):
        return f'hello {name}{punctuation}'

    mini.start()
    at_eta = greet.schedule(
        args=['ann'], kwargs={'punctuation': '!'}, eta=dt.datetime(2024, 5, 1, 11, 0)
    )
    later = greet.schedule(('bob',), delay=dt.timedelta(hours=2))
    past = greet.schedule(('cy',), eta=dt.datetime(2000, 1, 1))
    assert past.get(timeout=5) == 'hello cy.'
    clock.set(dt.datetime(2024, 5, 1, 11, 0))
    assert at_eta.get(timeout=5) == 'hello ann!'
    clock.wait_for_reads(10)
    assert not later.ready()
    clock.advance(hours=1)
    assert later.get(timeout=5) == 'hello bob.'


def test_scheduled_tasks_run_in_eta_order(make_mini, clock):
    mini = make_mini(interval=0.01, clock=clock)
    order = []

    @mini.task()
    def record(label):
        order.append(label)

    results = [
        record.schedule((label,), delay=seconds)
        for label, seconds in [('c', 30), ('a', 10), ('b', 20), ('a2', 10)]
    ]
    mini.start()
    clock.advance(minutes=1)
    for result in results:
        result.get(timeout=5)
    assert order == ['a', 'a2', 'b', 'c']


def test_aware_eta_is_compared_in_local_time(make_mini):
    local_now = dt.datetime.now().replace(microsecond=0)
    clock = FakeClock(local_now)  # naive local time, like the default clock
    mini = make_mini(interval=0.01, clock=clock)

    @mini.task()
    def ping():
        return 'pong'

    mini.start()
    eta_utc = (local_now + dt.timedelta(minutes=5)).astimezone(dt.timezone.utc)
    result = ping.schedule(eta=eta_utc)
    clock.wait_for_reads(10)
    clock.advance(minutes=4, seconds=59)
    clock.wait_for_reads(10)
    assert not result.ready()
    clock.advance(seconds=1)
    assert result.get(timeout=5) == 'pong'


def test_scheduled_tasks_need_the_scheduler_and_survive_stop(make_mini, clock):
    mini = make_mini(interval=0.01, clock=clock)

    @mini.task()
    def job():
        return 'ran'

    result = job.schedule(delay=5)
    clock.advance(seconds=10)
    with pytest.raises(TimeoutError):  # yields for a while: nothing may run it
        result.get(timeout=0.1)
    assert not mini.running
    mini.start()
    assert mini.running
    assert result.get(timeout=5) == 'ran'

    second = job.schedule(delay=5)
    mini.stop()
    assert not mini.running
    clock.advance(seconds=10)
    reads = clock.reads
    with pytest.raises(TimeoutError):
        second.get(timeout=0.1)
    assert clock.reads == reads  # the scheduler really stopped
    assert '1 scheduled' in repr(mini)
    mini.start()
    assert second.get(timeout=5) == 'ran'


def test_start_is_idempotent_and_stop_without_start_is_harmless(make_mini, clock):
    mini = make_mini(interval=0.01, clock=clock)
    mini.stop()
    mini.start()
    first = mini._scheduler
    mini.start()
    assert mini._scheduler is first
    mini.stop()
    mini.stop()
    assert not mini.running


def test_schedule_argument_errors(make_mini):
    mini = make_mini()

    @mini.task()
    def job(*args):
        return args

    with pytest.raises(ValueError, match=r'job.schedule\(\) needs exactly one of eta= or delay='):
        job.schedule((1,))
    with pytest.raises(ValueError, match='needs exactly one'):
        job.schedule(eta=dt.datetime.now(), delay=1)
    with pytest.raises(ValueError, match='delay must be seconds or a timedelta'):
        job.schedule(delay='10')
    with pytest.raises(ValueError, match='eta must be a datetime'):
        job.schedule(eta=12345.0)
    with pytest.raises(ValueError, match='args must be a tuple or list'):
        job.schedule(args='abc', delay=1)
    with pytest.raises(ValueError, match='kwargs must be a dict'):
        job.schedule(kwargs=[1], delay=1)


def test_periodic_task_fires_once_per_matching_minute(make_mini, clock):
    mini = make_mini(interval=0.01, clock=clock)
    fired = []

    @mini.task(crontab(minute='*/5'))
    def every_five_minutes():
        fired.append(clock.now)

    assert every_five_minutes.periodic
    mini.start()
    wait_until(lambda: len(fired) == 1, what='the 10:00 run')
    clock.advance(seconds=30)  # still 10:00, many ticks: no second run
    clock.wait_for_reads(20)
    clock.advance(seconds=29)
    clock.wait_for_reads(20)
    assert len(fired) == 1
    clock.set(dt.datetime(2024, 5, 1, 10, 1, 0))  # not a multiple of 5
    clock.wait_for_reads(20)
    assert len(fired) == 1
    clock.set(dt.datetime(2024, 5, 1, 10, 5, 42))
    wait_until(lambda: len(fired) == 2, what='the 10:05 run')
    clock.wait_for_reads(20)
    assert fired == [dt.datetime(2024, 5, 1, 10, 0, 0), dt.datetime(2024, 5, 1, 10, 5, 42)]


def test_periodic_validator_gets_the_minute_and_restart_does_not_refire(make_mini, clock):
    mini = make_mini(interval=0.01, clock=clock)
    checked, fired = [], []
    clock.set(dt.datetime(2024, 5, 1, 4, 0, 17, 500))

    def at_four(moment):
        checked.append(moment)
        return moment.hour == 4 and moment.minute == 0

    @mini.task(at_four)
    def run_backup():
        fired.append(1)

    mini.start()
    wait_until(lambda: fired, what='the backup')
    assert checked == [dt.datetime(2024, 5, 1, 4, 0)]
    mini.stop()
    mini.start()  # same minute: not fired again
    clock.wait_for_reads(20)
    assert fired == [1] and len(checked) == 1


def test_seed_run_backup_at_4am(make_mini, clock):
    mini = make_mini(interval=0.01, clock=clock)
    backups = []

    @mini.task(crontab(minute='0', hour='4'))
    def run_backup():
        backups.append(clock.now)

    clock.set(dt.datetime(2024, 5, 1, 3, 59, 30))
    mini.start()
    clock.wait_for_reads(20)
    assert backups == []
    clock.set(dt.datetime(2024, 5, 1, 4, 0, 1))
    wait_until(lambda: backups, what='the 4am backup')
    clock.set(dt.datetime(2024, 5, 2, 4, 0, 0))
    wait_until(lambda: len(backups) == 2, what="the next day's backup")


def test_periodic_tasks_do_not_run_without_the_scheduler(make_mini, clock):
    mini = make_mini(interval=0.01, clock=clock)
    fired = []

    @mini.task(crontab())
    def every_minute():
        fired.append(1)

    clock.advance(minutes=3)
    gevent.sleep(0.05)  # a negative check: give a (wrongly) running scheduler a chance
    assert fired == [] and clock.reads == 0
    assert every_minute().get(timeout=5) is None  # still callable by hand
    assert fired == [1]


def test_failing_validator_and_failing_periodic_task_are_logged_not_fatal(make_mini, clock, caplog):
    mini = make_mini(interval=0.01, clock=clock)
    fired = []

    def broken(moment):
        raise RuntimeError('validator broke')

    @mini.task(broken)
    def never():
        fired.append('never')

    @mini.task(crontab())
    def flaky():
        fired.append('flaky')
        raise ValueError('task broke')

    with caplog.at_level(logging.ERROR, logger='huey_mini'):
        mini.start()
        wait_until(lambda: fired == ['flaky'])
        clock.advance(minutes=1)
        wait_until(lambda: fired == ['flaky', 'flaky'])
    assert mini.running
    messages = [r.getMessage() for r in caplog.records]
    assert any('validator of periodic task never failed' in m for m in messages)
    assert any('task flaky' in m and 'failed' in m for m in messages)


def test_a_failing_clock_is_logged_and_the_scheduler_keeps_going(make_mini, caplog):
    calls = [0]

    def clock():
        calls[0] += 1
        if calls[0] <= 2:
            raise OSError('clock broke')
        return dt.datetime(2024, 5, 1)

    mini = make_mini(interval=0.01, clock=clock)
    with caplog.at_level(logging.ERROR, logger='huey_mini'):
        mini.start()
        wait_until(lambda: calls[0] > 5)
    assert mini.running
    assert any('scheduler check failed' in r.getMessage() for r in caplog.records)


def test_newly_scheduled_earlier_task_wakes_a_sleeping_scheduler(make_mini):
    # The interval is an hour: only the wake-up on schedule() lets the task run.
    clock = FakeClock(dt.datetime(2024, 5, 1))
    mini = make_mini(interval=3600, clock=clock)

    @mini.task()
    def job():
        return 'woke'

    mini.start()
    wait_until(lambda: clock.reads >= 1, what='the first scheduler check')
    gevent.sleep(0.01)  # the scheduler is now asleep in its hour-long wait
    assert job.schedule(delay=0).get(timeout=10) == 'woke'


def test_real_clock_delay_never_runs_early(make_mini):
    mini = make_mini(interval=0.05)
    ran = []

    @mini.task()
    def stamp():
        ran.append(dt.datetime.now())
        return 'ok'

    mini.start()
    due = dt.datetime.now() + dt.timedelta(seconds=0.3)
    result = stamp.schedule(delay=0.3)
    assert result.get(timeout=10) == 'ok'
    assert ran[0] >= due


def test_rewinding_the_last_checked_minute_makes_the_scheduler_check_again(make_mini, clock):
    # huey's own tests rewind ``_last_check`` and watch ``_run_t`` survive a broken validator.
    mini = make_mini(interval=0.01, clock=clock)
    checked = []

    def broken(moment):
        checked.append(moment)
        raise ZeroDivisionError('validator broke')

    mini.task(broken)(lambda: None)
    assert mini._run_t is None
    mini.start()
    wait_until(lambda: len(checked) == 1, what='the first check')
    assert mini._last_check == dt.datetime(2024, 5, 1, 10, 0)
    mini._last_check -= dt.timedelta(minutes=1)
    wait_until(lambda: len(checked) == 2, what='the check after rewinding')
    assert not mini._run_t.dead
    mini.stop()
    assert mini._run_t is None
