"""Every code example of the guide (seed 002) and the index (seed 001)."""

from __future__ import annotations

import datetime
import time

import pytest
from huey import MemoryHuey, TaskException, crontab
from huey.signals import SIGNAL_COMPLETE, SIGNAL_ERROR, SIGNAL_EXECUTING

# -- index: at a glance -----------------------------------------------------


def test_at_a_glance_task_retry_and_periodic_declarations(huey, run_all):
    calls = []

    @huey.task()
    def add_numbers(a, b):
        return a + b

    @huey.task(retries=2, retry_delay=60)
    def flaky_task(url):
        calls.append(url)
        raise ValueError(f'this might fail: {url}')

    @huey.periodic_task(crontab(minute='0', hour='3'))
    def nightly_backup():
        calls.append('backup')

    assert add_numbers(1, 2) is not None
    run_all(huey)
    result = flaky_task('http://x')
    run_all(huey)
    assert calls == ['http://x']
    [retry] = huey.scheduled()
    assert retry.retries == 1 and retry.eta_ts == pytest.approx(time.time() + 60, abs=5)
    assert huey.enqueue_periodic(datetime.datetime(2024, 1, 1, 3, 0)) != []
    assert huey.enqueue_periodic(datetime.datetime(2024, 1, 1, 4, 0)) == []
    run_all(huey)
    assert calls[-1] == 'backup'
    with pytest.raises(TaskException):
        result.get()


# -- guide: the add task ------------------------------------------------------


def test_guide_add_returns_result_resolved_after_consumer_runs(huey, run_all):
    # The guide uses SqliteHuey(filename='/tmp/demo.db'): see test_facade_optional.py.
    @huey.task()
    def add(a, b):
        return a + b

    r = add(1, 2)
    assert r() is None  # not executed yet
    run_all(huey)
    assert r() == 3
    r2 = add(1, 2)
    run_all(huey)
    assert r2(blocking=True, timeout=5) == 3


# -- scheduling -----------------------------------------------------------------


def test_schedule_with_delay_runs_only_when_due(huey, run_all):
    @huey.task()
    def add(a, b):
        return a + b

    r = add.schedule((3, 4), delay=10)
    run_all(huey)
    assert huey.scheduled_count() == 1 and huey.pending_count() == 0
    assert r() is None
    run_all(huey, now=time.time() + 11)
    assert r(blocking=True) == 7


def test_schedule_with_naive_local_eta_runs_in_ten_seconds(huey, run_all):
    @huey.task()
    def add(a, b):
        return a + b

    eta = datetime.datetime.now() + datetime.timedelta(seconds=10)
    r = add.schedule((4, 5), eta=eta)
    [task] = huey.pending()
    assert task.eta_ts == pytest.approx(time.time() + 10, abs=2)
    run_all(huey, now=time.time() + 5)
    assert r() is None
    run_all(huey, now=time.time() + 11)
    assert r(blocking=True) == 9


# -- periodic tasks ---------------------------------------------------------------


def test_periodic_task_every_three_minutes(huey, run_all, capsys):
    @huey.periodic_task(crontab(minute='*/3'))
    def every_three_minutes():
        print('This task runs every three minutes')

    assert huey.enqueue_periodic(datetime.datetime(2024, 5, 1, 10, 3)) != []
    assert huey.enqueue_periodic(datetime.datetime(2024, 5, 1, 10, 4)) == []
    run_all(huey)
    assert capsys.readouterr().out == 'This task runs every three minutes\n'
    assert huey.result_count() == 0  # periodic return values are discarded


def test_crontab_every_ten_minutes_in_two_windows():
    validate = crontab(minute='*/10', hour='9-11,16-18')
    assert validate(datetime.datetime(2024, 5, 1, 9, 10))
    assert validate(datetime.datetime(2024, 5, 1, 17, 50))
    assert not validate(datetime.datetime(2024, 5, 1, 12, 0))
    assert not validate(datetime.datetime(2024, 5, 1, 9, 15))


# -- retries --------------------------------------------------------------------


def test_flaky_task_retried_error_then_ok_after_reset(huey, run_one):
    outcomes = iter([False, True])

    @huey.task(retries=2)
    def flaky_task():
        if not next(outcomes):
            raise Exception('failing!')
        return 'OK'

    result = flaky_task()
    run_one(huey)
    with pytest.raises(TaskException) as info:
        result.get()
    assert 'failing!' in info.value.metadata['error']
    [retry] = huey.pending()  # retried immediately, one retry used
    assert retry.id == result.id and retry.retries == 1
    run_one(huey)
    result.reset()
    assert result.get() == 'OK'


def test_flaky_task_with_retry_delay_waits_between_attempts(huey, run_all, run_one):
    attempts = []

    @huey.task(retries=2, retry_delay=10)
    def flaky_task():
        attempts.append(time.time())
        raise Exception('failing!')

    flaky_task()
    run_all(huey)
    assert len(attempts) == 1 and huey.scheduled_count() == 1
    assert huey.enqueue_due(time.time() + 5) == 0  # not due yet
    assert huey.enqueue_due(time.time() + 11) == 1
    run_one(huey, now=time.time() + 11)
    assert len(attempts) == 2 and huey.scheduled_count() == 1
    assert huey.enqueue_due(time.time() + 11) == 1
    run_one(huey, now=time.time() + 11)
    assert len(attempts) == 3 and huey.scheduled_count() == 0 and len(huey) == 0


def test_retry_task_exception_retries_without_consuming_retries(huey, run_all):
    from huey import RetryTask

    attempts = []

    @huey.task()
    def needs_retry():
        attempts.append(1)
        if len(attempts) < 3:
            raise RetryTask()
        return len(attempts)

    result = needs_retry()
    run_all(huey)
    assert result() == 3


# -- canceling or pausing tasks ----------------------------------------------------------


def test_revoke_and_restore_one_scheduled_task(huey):
    @huey.task()
    def add(a, b):
        return a + b

    res = add.schedule((1, 2), delay=60)
    res.revoke()
    assert res.is_revoked() is True
    res.restore()
    assert res.is_revoked() is False


def test_revoke_and_restore_all_instances_of_a_task(huey, run_all):
    @huey.task()
    def add(a, b):
        return a + b

    add.revoke()
    assert add.is_revoked() is True
    res = add(1, 2)
    assert res.is_revoked() is True
    run_all(huey)
    assert res() is None
    add.restore()
    assert add.is_revoked() is False
    res = add(1, 2)
    run_all(huey)
    assert res() == 3


def test_revoke_periodic_task_until_three_hours_from_now(huey, run_all):
    sent = []

    @huey.periodic_task(crontab(minute='0', hour='*'))
    def send_notification_emails():
        sent.append(1)

    now = datetime.datetime.now()
    eta = now + datetime.timedelta(hours=3)
    send_notification_emails.revoke(revoke_until=eta)
    assert send_notification_emails.is_revoked()
    assert not send_notification_emails.is_revoked(timestamp=eta + datetime.timedelta(seconds=1))
    huey.enqueue_periodic(datetime.datetime(2024, 1, 1, 5, 0))
    run_all(huey)
    assert sent == []
    # three hours later the task runs again
    later = eta + datetime.timedelta(seconds=1)
    [task] = huey.read_periodic(datetime.datetime(2024, 1, 1, 8, 0))
    huey.execute(task, timestamp=later)
    assert sent == [1]


def test_revoke_once_skips_only_the_next_run(huey, run_all):
    sent = []

    @huey.periodic_task(crontab(minute='0', hour='*'))
    def send_notification_emails():
        sent.append(1)

    send_notification_emails.revoke(revoke_once=True)
    huey.enqueue_periodic(datetime.datetime(2024, 1, 1, 5, 0))
    run_all(huey)
    assert sent == [] and not send_notification_emails.is_revoked()
    huey.enqueue_periodic(datetime.datetime(2024, 1, 1, 6, 0))
    run_all(huey)
    assert sent == [1]


# -- pipelines ------------------------------------------------------------------


def test_pipeline_equivalent_forms_of_enqueueing(huey, run_all):
    @huey.task()
    def add(a, b):
        return a + b

    task = add.s(1, 2)
    result = huey.enqueue(task)
    other = add(1, 2)
    run_all(huey)
    assert result() == other() == 3


def test_pipeline_add_then_add(huey, run_all):
    @huey.task()
    def add(a, b):
        return a + b

    add_task = add.s(1, 2)
    pipeline = add_task.then(add, 3).then(add, 4).then(add, 5)
    result_group = huey.enqueue(pipeline)
    run_all(huey)
    assert result_group.get(blocking=True, preserve=True) == [3, 6, 10, 15]
    assert [r.get(blocking=True) for r in result_group] == [3, 6, 10, 15]


def test_pipeline_fib_tuples_extend_args(huey, run_all):
    @huey.task()
    def fib(a, b=1):
        a, b = a + b, a
        return (a, b)

    pipe = fib.s(1).then(fib).then(fib).then(fib)
    results = huey.enqueue(pipe)
    run_all(huey)
    assert results(True) == [(2, 1), (3, 2), (5, 3), (8, 5)]


# -- locking ---------------------------------------------------------------------


def test_lock_task_decorator_under_periodic_task(huey, run_all):
    runs = []

    @huey.periodic_task(crontab(minute='*/5'))
    @huey.lock_task('reports-lock')
    def generate_report():
        runs.append(1)

    with huey.lock_task('reports-lock'):  # a report is still running
        huey.enqueue_periodic(datetime.datetime(2024, 1, 1, 0, 5))
        run_all(huey)
    assert runs == []
    huey.enqueue_periodic(datetime.datetime(2024, 1, 1, 0, 10))
    run_all(huey)
    assert runs == [1]


def test_lock_task_context_manager_inside_task(huey, run_all):
    from huey import TaskLockedException

    done = []

    @huey.periodic_task(crontab(minute='0'))
    def backup():
        done.append('code')
        with huey.lock_task('db-backup'):
            done.append('db')

    huey.enqueue_periodic(datetime.datetime(2024, 1, 1, 1, 0))
    run_all(huey)
    assert done == ['code', 'db']
    with huey.lock_task('db-backup'):
        with pytest.raises(TaskLockedException):
            with huey.lock_task('db-backup'):
                pass


# -- signals ----------------------------------------------------------------------


def test_signal_handler_prints_every_signal(huey, run_all):
    printed = []

    @huey.signal()
    def print_signal_args(signal, task, exc=None):
        if signal == SIGNAL_ERROR:
            printed.append(f'{signal} - {task.id} - exception: {exc}')
        else:
            printed.append(f'{signal} - {task.id}')

    @huey.task()
    def fails():
        raise ValueError('nope')

    result = fails()
    run_all(huey)
    assert f'{SIGNAL_EXECUTING} - {result.id}' in printed
    assert f'{SIGNAL_ERROR} - {result.id} - exception: nope' in printed
    assert not any(line.startswith(SIGNAL_COMPLETE) for line in printed)


# -- immediate mode -----------------------------------------------------------------


def test_immediate_mode_enabled_in_constructor_or_attribute():
    huey = MemoryHuey('app', immediate=True)
    assert huey.immediate
    huey = MemoryHuey('app')
    huey.immediate = True
    assert huey.immediate
    huey.immediate = False
    assert not huey.immediate


def test_immediate_mode_shell_session():
    huey = MemoryHuey()
    live = huey.storage
    huey.immediate = True
    assert huey.storage is not live

    @huey.task()
    def add(a, b):
        return a + b

    result = add(1, 2)
    assert result() == 3
    add.revoke(revoke_once=True)
    result = add(2, 3)
    assert result() is None
    assert add(3, 4)() == 7

    result = add.schedule((4, 5), delay=60)
    assert result() is None
    [scheduled] = huey.scheduled()
    assert repr(scheduled).startswith(f'{__name__}.add: {result.id} @')
    huey.immediate = False
    assert huey.storage is live


# -- tips and tricks ------------------------------------------------------------------


def test_call_local_skips_the_queue(huey):
    @huey.task()
    def add(a, b):
        return a + b

    assert add.call_local(3, 4) == 7
    assert len(huey) == 0


def test_decorator_is_syntactic_sugar(huey, run_all):
    def _add(a, b):
        return a + b

    add = huey.task()(_add)
    result = add(1, 2)
    run_all(huey)
    assert result() == 3


def test_map_applies_task_to_parameter_list(huey, run_all):
    @huey.task()
    def add(a, b):
        return a + b

    params = [(i, i**2) for i in range(10)]
    result_group = add.map(params)
    run_all(huey)
    assert result_group.get(blocking=True) == [0, 2, 6, 12, 20, 30, 42, 56, 72, 90]


def test_result_store_as_key_value_cache_with_peek(huey, run_all):
    @huey.task()
    def calculate_something():
        prev_results = huey.get('calculate-something.result', peek=True)
        data = [1] if prev_results is None else prev_results + [len(prev_results) + 1]
        huey.put('calculate-something.result', data)
        return data

    first = calculate_something()
    second = calculate_something()
    run_all(huey)
    assert first() == [1] and second() == [1, 2]
    assert huey.get('calculate-something.result', peek=True) == [1, 2]
    assert huey.get('calculate-something.result') == [1, 2]  # get() pops
    assert huey.get('calculate-something.result') is None
