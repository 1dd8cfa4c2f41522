"""A user's own 0.x backends (a dict-backed BaseQueue/BaseDataStore pair and a
BaseSchedule) used end to end with today's consumer, in this process."""

from __future__ import annotations

import collections
import datetime
import threading

import pytest
from huey.backends.base import BaseDataStore, BaseQueue, BaseSchedule, EmptyData
from huey.bin.config import BaseConfiguration
from huey.decorators import queue_command
from huey.exceptions import DataStoreTimeout, TaskException
from huey.queue import AsyncData, Invoker
from huey_consumer import Consumer
from huey_consumer.loading import load_configuration
from legacy_support import schedule_queued, wait_for


class DictQueue(BaseQueue):
    """The shape the 0.x docs describe: write/read/flush/__len__, nothing more."""

    def __init__(self, name, **connection):
        super().__init__(name, **connection)
        self._items = collections.deque()
        self._lock = threading.Lock()

    def write(self, data):
        with self._lock:
            self._items.appendleft(data)

    def read(self):
        with self._lock:
            return self._items.pop() if self._items else None

    def flush(self):
        self._items.clear()

    def __len__(self):
        return len(self._items)


class DictDataStore(BaseDataStore):
    """put/get/flush only (no peek): get removes the value, as the docs warn."""

    def __init__(self, name, **connection):
        super().__init__(name, **connection)
        self._data = {}
        self._lock = threading.Lock()

    def put(self, key, value):
        with self._lock:
            self._data[key] = value

    def get(self, key):
        with self._lock:
            return self._data.pop(key, EmptyData)

    def flush(self):
        self._data.clear()


class ListSchedule(BaseSchedule):
    def __init__(self, name, **connection):
        super().__init__(name, **connection)
        self._items = []

    def add(self, data, ts):
        self._items.append((ts, data))

    def read(self, ts):
        due = [data for when, data in self._items if when <= ts]
        self._items = [(when, data) for when, data in self._items if when > ts]
        return due

    def flush(self):
        self._items = []


@pytest.fixture
def consumer_for():
    running = []

    def start(huey, **options):
        options.setdefault('workers', 2)
        consumer = Consumer(huey, initial_delay=0.01, max_delay=0.05, **options)
        thread = threading.Thread(target=consumer.run, daemon=True)
        thread.start()
        assert consumer.ready.wait(10)
        running.append((consumer, thread))
        return consumer

    yield start
    for consumer, thread in running:
        consumer.stop()
        thread.join(10)


def test_dict_backends_run_tasks_end_to_end(consumer_for):
    queue, store = DictQueue('dict-queue'), DictDataStore('dict-results')
    invoker = Invoker(queue, result_store=store)

    @queue_command(invoker)
    def count_some_beans(num):
        return 'Counted %s beans' % num  # noqa: UP031 - as the seed writes it

    res = count_some_beans(100)
    assert len(queue) == 1 and res.get() is None
    with pytest.raises(DataStoreTimeout):
        res.get(blocking=True, timeout=0.1)

    class Configuration(BaseConfiguration):
        QUEUE = queue
        RESULT_STORE = store

    huey = load_configuration(Configuration)
    assert huey is invoker.huey and huey.consumer_settings['periodic'] is False
    consumer_for(huey)
    assert res.get(blocking=True, timeout=10) == 'Counted 100 beans'
    assert store._data == {}  # fetched results are removed from the store
    assert [count_some_beans(n).get(blocking=True, timeout=10) for n in (1, 2)] == [
        'Counted 1 beans',
        'Counted 2 beans',
    ]


def test_a_failing_task_is_retried_through_the_user_queue(consumer_for):
    queue, store = DictQueue('retry-queue'), DictDataStore('retry-results')
    huey = Invoker(queue, result_store=store).huey
    attempts = []

    @huey.task(retries=2)
    def flaky():
        attempts.append(1)
        if len(attempts) < 3:
            raise ValueError('not yet')
        return 'done'

    res = flaky()
    consumer_for(huey)

    def succeeded():  # each failed attempt stores its error until the next one
        try:
            return AsyncData(huey, res.task_id).get() == 'done'
        except TaskException:
            return False

    wait_for(succeeded, what='the third attempt succeeded')
    assert len(attempts) == 3


def test_locks_and_revocations_use_the_user_data_store(consumer_for):
    queue, store = DictQueue('lock-queue'), DictDataStore('lock-results')
    huey = Invoker(queue, result_store=store).huey

    @huey.task()
    def add(a, b):
        return a + b

    skipped = add(1, 2)
    skipped.revoke()
    kept = add(3, 4)
    assert huey.storage.put_if_empty('lock', b'1', ttl=60)
    assert not huey.storage.put_if_empty('lock', b'1', ttl=60)
    assert huey.storage.incr('counter', 2) == 2 and huey.storage.incr('counter') == 3
    consumer_for(huey)
    assert kept.get(blocking=True, timeout=10) == 7
    wait_for(lambda: len(queue) == 0 and huey.storage.leased_count() == 0)
    assert skipped.get() is None


def test_expired_ttl_keys_read_as_empty():
    huey = Invoker(DictQueue('ttl-queue'), result_store=DictDataStore('ttl-results')).huey
    assert huey.storage.put_if_empty('periodic-mark', b'1', ttl=0.05)
    wait_for(lambda: huey.storage.put_if_empty('periodic-mark', b'1', ttl=0.05), timeout=2)


def test_a_user_schedule_holds_scheduled_tasks(consumer_for):
    from huey_legacy.api import Huey

    queue, store, schedule = DictQueue('s-queue'), DictDataStore('s-res'), ListSchedule('s')
    huey = Huey(queue, store, schedule)

    @huey.task()
    def hello(name):
        return f'hello {name}'

    later = hello.schedule(args=('later',), delay=3600)
    soon = hello.schedule(
        args=('soon',), eta=datetime.datetime.now() + datetime.timedelta(seconds=0.3)
    )
    assert len(queue) == 2
    schedule_queued(huey, 2)
    assert len(schedule._items) == 2 and len(queue) == 0
    consumer_for(huey)
    assert soon.get(blocking=True, timeout=10) == 'hello soon'
    assert later.get() is None and len(schedule._items) == 1


def test_task_store_keeps_the_0x_schedule(consumer_for):
    queue, store, tasks = DictQueue('t-queue'), DictDataStore('t-res'), DictDataStore('t-tasks')
    huey = Invoker(queue, result_store=store, task_store=tasks).huey

    @huey.task()
    def hello(name):
        return f'hello {name}'

    later = hello.schedule(args=('later',), delay=3600)
    soon = hello.schedule(args=('soon',), delay=0.2)
    schedule_queued(huey, 2)
    assert huey.scheduled_count() == 2 and 'huey-legacy.schedule' in tasks._data
    consumer_for(huey)
    assert soon.get(blocking=True, timeout=10) == 'hello soon'
    assert [task.id for task in huey.scheduled()] == [later.task_id]


def test_without_result_store_or_schedule_memory_is_used():
    huey = Invoker(DictQueue('bare')).huey

    @huey.task()
    def noop():
        return 1

    assert noop() is None
    assert noop.schedule(delay=60) is None
    assert huey.pending_count() == 2
    schedule_queued(huey, 2)  # runs the call, schedules the other
    assert huey.scheduled_count() == 1 and huey.pending_count() == 0


def test_async_data_over_a_bare_result_store(consumer_for):
    queue, store = DictQueue('bare-async'), DictDataStore('bare-async-results')
    huey = Invoker(queue, result_store=store).huey

    @huey.task()
    def triple(n):
        return n * 3

    task_id = triple(5).task_id
    consumer_for(huey)
    assert AsyncData(store, task_id).get(blocking=True, timeout=10) == 15
    with pytest.raises(DataStoreTimeout):
        AsyncData(store, 'no-such-task').get(blocking=True, timeout=0.1)


class NamelessQueue(BaseQueue):
    """A backend that never called ``BaseQueue.__init__``."""

    def __init__(self):
        self._items = []

    def write(self, data):
        self._items.insert(0, data)

    def read(self):
        return self._items.pop() if self._items else None


def test_a_backend_without_a_name_still_works():
    huey = Invoker(NamelessQueue(), result_store=DictDataStore('nameless')).huey

    @huey.task()
    def one():
        return 1

    res = one()
    huey.execute_delivery(huey.reserve())
    assert res.get() == 1 and huey.name == 'huey'


def test_a_configuration_finds_the_app_of_an_equal_queue():
    invoker = Invoker(DictQueue('shared-name', path='/q'))

    class Configuration(BaseConfiguration):
        QUEUE = DictQueue('shared-name', path='/q')  # built again, not the same object

    assert load_configuration(Configuration) is invoker.huey
