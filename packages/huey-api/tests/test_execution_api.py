"""The execution API consumers use: reserve, execute_delivery, release,
leases, the schedule, periodic tasks, dead letters and hooks."""

from __future__ import annotations

import datetime
import pickle
import time

import pytest
from huey import MemoryHuey, TaskException, crontab
from huey.signals import SIGNAL_DEAD_LETTERED, SIGNAL_INTERRUPTED, SIGNAL_SCHEDULED
from huey_api import Delivery


@pytest.fixture
def add(huey):
    @huey.task()
    def add(a, b):
        return a + b

    return add


def test_reserve_returns_none_on_empty_queue(huey):
    assert huey.reserve() is None


def test_reserve_leases_and_execute_delivery_acknowledges(huey, add):
    result = add(1, 2)
    delivery = huey.reserve()
    assert isinstance(delivery, Delivery)
    assert delivery.task.id == result.id and delivery.task.args == (1, 2)
    assert delivery.receipt is not None and delivery.deliveries == 1
    assert huey.storage.leased_count() == 1 and len(huey) == 0
    huey.execute_delivery(delivery)
    assert huey.storage.leased_count() == 0
    assert result() == 3


def test_at_most_once_dequeues_without_lease(add):
    huey = add.huey
    huey.delivery = 'at-most-once'
    result = add(2, 2)
    delivery = huey.reserve()
    assert delivery.receipt is None and huey.storage.leased_count() == 0
    huey.execute_delivery(delivery)
    assert result() == 4


def test_invalid_delivery_mode_is_rejected():
    from huey import ConfigurationError

    with pytest.raises(ConfigurationError, match="delivery='twice'"):
        MemoryHuey(delivery='twice')


def test_crashed_worker_message_comes_back_with_more_deliveries(huey, add):
    huey.lease_timeout = 0.01
    result = add(1, 1)
    first = huey.reserve()  # the worker "crashes" without acking
    deadline = time.monotonic() + 5
    while huey.requeue_expired_leases() == 0:
        assert time.monotonic() < deadline, 'lease never expired'
        time.sleep(0.01)
    second = huey.reserve()
    assert second.task.id == first.task.id and second.deliveries == 2
    huey.execute_delivery(second)
    assert result() == 2


def test_extend_leases_keeps_deliveries_in_flight(huey, add):
    add(1, 1)
    delivery = huey.reserve()
    assert huey.extend_leases([delivery]) == 1
    assert huey.extend_leases([]) == 0


def test_release_puts_message_back_and_signals_interrupted(huey, add):
    seen = []
    huey.signal(SIGNAL_INTERRUPTED)(lambda signal, task: seen.append(task.id))
    result = add(1, 2)
    delivery = huey.reserve()
    huey.release(delivery)
    assert seen == [result.id] and len(huey) == 1
    again = huey.reserve()
    assert again.deliveries == 2  # counted: a task hanging through restarts ends dead-lettered
    huey.execute_delivery(again)
    assert result() == 3


def test_too_many_deliveries_go_to_dead_letters(huey, add):
    huey.max_deliveries = 1
    huey.lease_timeout = 0.01
    dead = []
    huey.signal(SIGNAL_DEAD_LETTERED)(lambda signal, task: dead.append(task.id))
    result = add(1, 2)
    huey.reserve()
    deadline = time.monotonic() + 5
    while huey.requeue_expired_leases() == 0:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert huey.reserve() is None
    [letter] = huey.dead_letters()
    assert 'delivered 2 times (max_deliveries=1)' in letter.reason
    assert dead == [result.id]


def test_corrupt_message_is_dead_lettered_and_next_one_reserved(huey, add):
    huey.storage.enqueue(b'not a pickle')
    result = add(3, 4)
    delivery = huey.reserve()
    assert delivery.task.id == result.id
    [letter] = huey.dead_letters()
    assert letter.data == b'not a pickle' and 'undecodable' in letter.reason


def test_unknown_task_name_is_dead_lettered_with_advice(huey):
    message = ('abc', 'reports.build', None, 0, 0.0, None, None, (), {}, None, None)
    huey.storage.enqueue(pickle.dumps(message))
    assert huey.reserve() is None
    [letter] = huey.dead_letters()
    assert "'reports.build'" in letter.reason and 'import the module' in letter.reason
    assert '(reports)' in letter.reason


def test_requeue_delete_and_purge_dead_letters(huey, add):
    message = ('abc', 'later.task', None, 0, 0.0, None, None, (), {}, None, None)
    huey.storage.enqueue(pickle.dumps(message))
    huey.storage.enqueue(b'junk')
    assert huey.reserve() is None
    first, second = huey.dead_letters()
    assert huey.requeue_dead_letter(first.id) is True
    assert len(huey) == 1 and len(huey.dead_letters()) == 1
    assert huey.delete_dead_letter(second.id) is True
    assert huey.delete_dead_letter(second.id) is False
    huey.reserve()  # still unknown: dead again
    assert huey.purge_dead_letters() == 1
    assert huey.dead_letters() == []


def test_task_errors_never_propagate_from_execute_delivery(huey):
    @huey.task()
    def boom():
        raise KeyError('missing')

    result = boom()
    huey.execute_delivery(huey.reserve())
    with pytest.raises(TaskException) as info:
        result()
    metadata = info.value.metadata
    assert metadata['type'] == 'builtins.KeyError'
    assert metadata['message'] == "'missing'"
    assert 'Traceback' in metadata['traceback'] and 'boom' in metadata['traceback']
    assert metadata['task_id'] == result.id and metadata['retries'] == 0


def test_enqueue_due_moves_scheduled_tasks_to_queue(huey, add, run_one):
    signals = []
    huey.signal(SIGNAL_SCHEDULED)(lambda signal, task: signals.append(task.id))
    result = add.schedule((1, 2), delay=30)
    assert len(huey) == 1 and huey.scheduled_count() == 0  # queued until a worker takes it
    run_one(huey)  # not due: the worker puts it on the schedule
    assert len(huey) == 0 and huey.scheduled_count() == 1 and signals == [result.id]
    assert huey.enqueue_due() == 0
    assert huey.enqueue_due(time.time() + 31) == 1
    assert len(huey) == 1 and huey.scheduled_count() == 0


def test_enqueue_periodic_once_per_minute_across_consumers(huey):
    @huey.periodic_task(lambda dt: True)
    def tick():
        pass

    minute = huey.now().replace(second=30)
    other_consumer = MemoryHuey(huey.name)
    other_consumer.storage = huey.storage  # same backing store
    other_consumer.registry = huey.registry
    [task] = huey.enqueue_periodic(minute)
    assert task.name == tick.name
    assert other_consumer.enqueue_periodic(minute.replace(second=0)) == []
    assert len(huey) == 1


def test_enqueue_periodic_claims_only_minutes_that_are_not_long_past(huey):
    @huey.periodic_task(crontab(minute='*/5'))
    def tick():
        pass

    past = datetime.datetime(2024, 3, 1, 12, 5)  # replayed (tests): no claim is kept
    assert len(huey.enqueue_periodic(past)) == len(huey.enqueue_periodic(past)) == 1
    assert huey.enqueue_periodic(datetime.datetime(2024, 3, 1, 12, 6)) == []
    assert len(huey) == 2


def test_enqueue_periodic_failure_leaves_the_minute_to_a_retry(huey, monkeypatch):
    @huey.periodic_task(lambda dt: True)
    def tick():
        pass

    def storage_down(task):
        raise ConnectionError('storage down')

    minute = huey.now()
    monkeypatch.setattr(huey, 'enqueue', storage_down)
    with pytest.raises(ConnectionError):
        huey.enqueue_periodic(minute)
    monkeypatch.undo()
    assert len(huey.enqueue_periodic(minute)) == 1


def test_enqueue_periodic_defaults_to_current_minute(huey):
    @huey.periodic_task(lambda dt: True)
    def always():
        pass

    assert len(huey.enqueue_periodic()) == 1


def test_startup_and_shutdown_hooks_log_errors(huey, caplog):
    calls = []

    @huey.on_startup()
    def open_db():
        calls.append('open')

    @huey.on_startup()
    def broken():
        raise RuntimeError('no database')

    @huey.on_shutdown()
    def close_db():
        calls.append('close')

    huey.run_startup_hooks()
    huey.run_shutdown_hooks()
    assert calls == ['open', 'close']
    assert 'startup hook' in caplog.text and 'no database' in caplog.text
    assert huey.unregister_on_startup('broken') is True


def test_create_consumer_needs_huey_consumer(huey, monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, 'huey_consumer', None)
    with pytest.raises(ImportError, match='pip install huey-consumer'):
        huey.create_consumer()


def test_classic_dequeue_execute_and_schedule_api(huey, add):
    result = add(2, 3)
    task = huey.dequeue()
    assert task.id == result.id and huey.dequeue() is None
    assert huey.execute(task) == 5
    later = add.s(1, 1)
    later.eta = datetime.datetime.now() + datetime.timedelta(seconds=60)
    assert not huey.ready_to_run(later)
    assert huey.ready_to_run(later, time.time() + 61)
    huey.add_schedule(later)
    assert huey.read_schedule(time.time()) == []
    assert [t.id for t in huey.read_schedule(time.time() + 61)] == [later.id]


def test_read_periodic_lists_matching_tasks(huey):
    @huey.periodic_task(crontab(hour='3', minute='0'))
    def nightly():
        pass

    assert [t.name for t in huey.read_periodic(datetime.datetime(2024, 1, 1, 3, 0))] == [
        nightly.name
    ]
    assert huey.read_periodic(datetime.datetime(2024, 1, 1, 4, 0)) == []


def test_expired_task_is_skipped(huey):
    from huey.signals import SIGNAL_EXPIRED

    runs, signals = [], []

    @huey.task(expires=60)
    def slow():
        runs.append(1)

    huey.signal(SIGNAL_EXPIRED)(lambda signal, task: signals.append(task.id))
    slow()
    task = huey.dequeue()
    assert huey.execute(task, timestamp=time.time() + 61) is None
    assert runs == [] and signals == [task.id]
    result = slow(expires=datetime.datetime.now() + datetime.timedelta(hours=1))
    huey.execute_delivery(huey.reserve())
    assert runs == [1] and result() is None


def test_flush_locks_releases_declared_and_extra_locks(huey):
    huey.lock_task('reports')
    huey.lock_task('unused')
    huey.lock_task('reports').acquire()
    huey.lock_task('adhoc').acquire()
    assert huey.flush_locks('adhoc') == {'reports', 'adhoc'}
    assert huey.flush_locks() == set()


def test_worker_threads_share_one_huey(huey):
    import threading

    @huey.task()
    def square(x):
        return x * x

    results = [square(i) for i in range(400)]

    def worker():
        while (delivery := huey.reserve()) is not None:
            huey.execute_delivery(delivery)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [r.get(blocking=True, timeout=5) for r in results] == [i * i for i in range(400)]
    assert huey.storage.leased_count() == 0


def test_forked_child_never_reuses_parent_task_ids():
    import multiprocessing
    import sys

    from huey_api.utils import make_id

    if sys.platform == 'win32' or 'fork' not in multiprocessing.get_all_start_methods():
        pytest.skip('needs fork')
    make_id()  # the parent now holds a batch of ids
    context = multiprocessing.get_context('fork')
    parent_end, child_end = context.Pipe()
    child = context.Process(target=lambda: child_end.send([make_id() for _ in range(5)]))
    child.start()
    child_ids = parent_end.recv()
    child.join(10)
    parent_ids = [make_id() for _ in range(5)]
    assert not set(child_ids) & set(parent_ids)


def test_dequeue_and_execute_drive_tasks_in_process(huey):
    @huey.task()
    def add(a, b):
        return a + b

    later = add.schedule((1, 2), delay=60)
    now = add(3, 4)
    task = huey.dequeue()  # a plain at-most-once pop
    assert task.id == later.id and huey.execute(task) is None
    assert huey.scheduled_count() == 1  # not due: put on the schedule
    assert huey.execute(huey.dequeue()) == 7 and now() == 7
    assert huey.dequeue() is None
    [task] = huey.read_schedule(time.time() + 61)
    assert huey.execute(task, timestamp=time.time() + 61) == 3 and later() == 3


def test_revocation_is_used_up_or_lapses_when_execution_checks_it(huey):
    @huey.task()
    def work(n):
        return n

    first = work(1)
    work(2)
    first.revoke()  # once, by default
    assert huey.is_revoked(first) and huey.is_revoked(first.task)
    assert huey.execute(huey.dequeue()) is None
    assert not huey.is_revoked(first)
    work.revoke(revoke_until=datetime.datetime.now() + datetime.timedelta(seconds=30))
    assert work.is_revoked() and not work.is_revoked(timestamp=time.time() + 31)
    assert huey.execute(huey.dequeue(), timestamp=time.time() + 31) == 2
    assert not work.is_revoked()  # the lapsed revocation was deleted


def test_immediate_mode_can_use_the_real_storage():
    storage_huey = MemoryHuey('immediate-real', immediate=True, immediate_use_memory=False)
    real = storage_huey.storage

    @storage_huey.task()
    def add(a, b):
        return a + b

    assert add(1, 2)() == 3
    storage_huey.immediate = False
    assert storage_huey.storage is real
    add(2, 2)
    assert len(storage_huey) == 1


def test_read_schedule_at_a_tasks_eta_includes_it(huey):
    @huey.task()
    def noop():
        return None

    # etas with digits below a microsecond, which Task.eta (a datetime) rounds
    results = [noop.schedule(delay=60 + n * 1e-4 + 3.7e-7) for n in range(20)]
    for _ in results:
        huey.execute_delivery(huey.reserve())  # a worker puts each on the schedule
    assert huey.scheduled_count() == 20
    for result in results:
        assert [task.id for task in huey.read_schedule(result.task.eta)] == [result.id]
