"""Task decorators, TaskWrapper helpers and the Task object."""

from __future__ import annotations

import datetime
import pickle
import time

import pytest
from huey import MemoryHuey, Task, TaskWrapper


def test_task_decorator_returns_wrapper_with_name_and_class(huey):
    @huey.task(retries=3, retry_delay=5, priority=7)
    def send(to):
        """Send it."""
        return to

    assert isinstance(send, TaskWrapper)
    assert send.name == f'{__name__}.send' and send.__doc__ == 'Send it.'
    assert issubclass(send.task_class, Task) and send.task_class.__name__ == 'send'
    task = send.s('bob')
    assert (task.retries, task.retry_delay, task.priority) == (3, 5.0, 7)
    assert task.args == ('bob',) and task.kwargs == {}


def test_custom_task_name(huey):
    @huey.task(name='mail.send')
    def send():
        pass

    assert send.name == 'mail.send' and send.s().name == 'mail.send'


def test_task_ids_are_uuid4_hex(huey):
    import uuid

    @huey.task()
    def noop():
        pass

    ids = {noop.s().id for _ in range(500)}
    assert len(ids) == 500
    assert all(uuid.UUID(i).version == 4 and len(i) == 32 for i in ids)


def test_results_disabled_returns_none():
    huey = MemoryHuey(results=False)

    @huey.task()
    def add(a, b):
        return a + b

    assert add(1, 2) is None
    huey.execute_delivery(huey.reserve())
    assert huey.result_count() == 0


def test_store_none_stores_none_results(run_all):
    huey = MemoryHuey(store_none=True)

    @huey.task()
    def nothing():
        return None

    result = nothing()
    run_all(huey)
    assert huey.result_count() == 1 and result() is None


def test_none_result_not_stored_by_default(huey, run_all):
    @huey.task()
    def nothing():
        return None

    nothing()
    run_all(huey)
    assert huey.result_count() == 0


def test_schedule_accepts_all_options(huey):
    @huey.task()
    def work(x, y=0):
        return x + y

    result = work.schedule(
        args=(1,),
        kwargs={'y': 2},
        delay=datetime.timedelta(seconds=30),
        priority=5,
        retries=2,
        retry_delay=3,
        expires=600,
        id='my-id',
    )
    assert result.id == 'my-id'
    [task] = huey.pending()  # a worker puts it on the schedule
    assert task.kwargs == {'y': 2} and task.priority == 5 and task.retries == 2
    assert task.retry_delay == 3 and task.expires_ts == pytest.approx(time.time() + 600, abs=5)
    with pytest.raises(ValueError, match='eta or delay'):
        work.schedule((1,), eta=datetime.datetime.now(), delay=1)


def test_schedule_needs_eta_or_delay_and_takes_them_bare(huey):
    @huey.task()
    def work():
        pass

    with pytest.raises(ValueError, match='eta=<datetime> or delay=<seconds>'):
        work.schedule()
    work.schedule(60)
    work.schedule(datetime.datetime(2030, 1, 1))
    first, second = huey.pending()
    assert first.eta_ts == pytest.approx(time.time() + 60, abs=5)
    assert second.eta_ts == datetime.datetime(2030, 1, 1).timestamp()


def test_call_keywords_set_task_options_not_arguments(huey):
    @huey.task(retries=1)
    def work(x, priority='mine'):
        return x

    work(1, priority=7, retries=3, timeout=5, id='t1')
    [task] = huey.pending()
    assert (task.id, task.args, task.kwargs) == ('t1', (1,), {})
    assert (task.priority, task.retries, task.timeout) == (7, 3, 5)


def test_task_eta_is_utc_or_local_datetime(huey):
    @huey.task()
    def work():
        pass

    work.schedule(eta=datetime.datetime(2030, 1, 1, 12, 0))
    [task] = huey.pending()
    expected = datetime.datetime(2030, 1, 1, 12, 0).timestamp()
    assert task.eta_ts == expected
    utc = datetime.datetime.fromtimestamp(expected, datetime.timezone.utc).replace(tzinfo=None)
    assert task.eta == utc
    huey.utc = False
    assert task.eta == datetime.datetime(2030, 1, 1, 12, 0)


def test_aware_eta_is_converted(huey):
    @huey.task()
    def work():
        pass

    eta = datetime.datetime(2030, 1, 1, 12, 0, tzinfo=datetime.timezone.utc)
    work.schedule(eta=eta)
    [task] = huey.pending()
    assert task.eta == datetime.datetime(2030, 1, 1, 12, 0)


def test_map_enqueues_in_one_batch(huey, run_all):
    @huey.task()
    def square(x):
        return x * x

    group = square.map(range(4))
    assert len(huey) == 4 and len(group) == 4
    run_all(huey)
    assert group.get() == [0, 1, 4, 9]


def test_unregister_makes_messages_unknown(huey):
    @huey.task()
    def gone():
        pass

    gone()
    assert gone.unregister() is True
    assert huey.reserve() is None
    assert len(huey.dead_letters()) == 1


def test_context_task_passes_task_object(huey, run_all):
    @huey.task(context=True)
    def whoami(task=None):
        return task.id

    result = whoami()
    run_all(huey)
    assert result() == result.id


def test_context_task_runs_inside_context_manager(huey, run_all):
    events = []

    class Connection:
        def __enter__(self):
            events.append('open')
            return 'conn'

        def __exit__(self, *exc):
            events.append('close')

    @huey.context_task(Connection(), as_argument=True)
    def query(conn, sql):
        events.append((conn, sql))
        return sql

    result = query('select 1')
    run_all(huey)
    assert result() == 'select 1'
    assert events == ['open', ('conn', 'select 1'), 'close']
    assert query.name.endswith('.query')


def test_message_is_a_plain_tuple(huey):
    @huey.task()
    def add(a, b):
        return a + b

    add(1, 2)
    [data] = huey.storage.enqueued_items()
    message = pickle.loads(data)
    assert type(message) is tuple and message[1] == add.name and message[7] == (1, 2)


def test_task_repr_shows_name_id_eta_and_retries(huey):
    @huey.task(retries=2)
    def add(a, b):
        return a + b

    task = add.s(1, 2)
    assert repr(task) == f'{add.name}: {task.id} 2 retries'
    task.eta = datetime.datetime(2030, 1, 1, 12, 0, 0, 123)
    assert '@' in repr(task) and '.000123' not in repr(task)
    assert repr(add) == f'<TaskWrapper {add.name}>'


def test_retries_must_not_be_negative(huey):
    with pytest.raises(ValueError, match='retries=-1'):
        huey.task(retries=-1)(lambda: None)


def test_periodic_task_needs_callable_validator(huey):
    with pytest.raises(TypeError, match='crontab'):
        huey.periodic_task('*/5')


def test_huey_without_storage_class_explains():
    from huey import ConfigurationError, Huey

    with pytest.raises(ConfigurationError, match='storage_class'):
        Huey('x')


def test_storage_kwargs_are_passed_to_storage_class():
    from huey import Huey
    from huey_storage import MemoryStorage

    with pytest.raises(TypeError, match='bogus'):
        Huey('x', storage_class=MemoryStorage, bogus=1)
    assert Huey('x', storage_class=MemoryStorage).storage.name == 'x'


def test_huey_len_counts_queue_but_instance_stays_truthy(huey):
    @huey.task()
    def noop():
        pass

    assert len(huey) == 0 and bool(huey) is True
    noop()
    assert len(huey) == 1 and huey.pending_count() == 1


def test_periodic_tasks_lists_wrappers_with_their_schedule():
    from huey import MemoryHuey, crontab

    huey = MemoryHuey('periodic-list')
    schedule = crontab(minute='*/5')

    @huey.periodic_task(schedule)
    def every_five():
        pass

    @huey.task()
    def plain():
        pass

    assert huey.periodic_tasks() == [every_five]
    assert every_five.validate_datetime is schedule
    assert [c.name for c in huey.registry.periodic_tasks] == [every_five.name]
