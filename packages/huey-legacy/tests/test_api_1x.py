"""Seed 004 (the 1.x API) as written, against Redis db 8 and the real consumer.

``huey.api.Huey(queue, ...)`` reaches huey_legacy's class through a hook in
today's ``Huey``; these tests use the class directly.
"""

from __future__ import annotations

import datetime
import json
import textwrap
import uuid

import pytest
import redis
from legacy_support import CONNECTION, schedule_queued, wait_for

pytestmark = pytest.mark.redis


def app_source(channel: str) -> str:
    return textwrap.dedent(f"""
        from huey.backends.redis_backend import RedisBlockingQueue, RedisDataStore,\\
            RedisSchedule, RedisEventEmitter
        from huey.api import Huey, crontab  # the seed's import: builds huey-legacy's Huey

        queue = RedisBlockingQueue('my-app', **{CONNECTION!r})
        result_store = RedisDataStore('my-app', **{CONNECTION!r})
        schedule = RedisSchedule('my-app', **{CONNECTION!r})
        events = RedisEventEmitter({channel!r}, **{CONNECTION!r})

        huey = Huey(queue, result_store, schedule, events)

        @huey.task()
        def slow_function(some_arg):
            # ... do something ...
            return some_arg

        @huey.task()
        def count_some_beans(num):
            # do some counting!
            return 'Counted %s beans' % num

        @huey.task()
        def fails():
            raise ValueError('no beans')

        @huey.task(retries=1)
        def fails_twice():
            raise ValueError('still no beans')

        @huey.periodic_task(crontab(minute='0', hour='3'))
        def backup():
            # do a backup every day at 3am
            return 'backed up'

        @huey.periodic_task(crontab(minute='*/5'))
        def every_five_minutes():
            # this function gets executed every 5 minutes by the consumer
            return 'five'
    """)


@pytest.fixture
def channel():
    return f'my-app-events-{uuid.uuid4().hex[:8]}'


@pytest.fixture
def app(redis_db, app_dir, channel):
    directory = app_dir({'app1x': app_source(channel)})
    import app1x

    return directory, app1x


@pytest.fixture
def subscriber(channel, redis_db):
    client = redis.Redis(**CONNECTION)
    pubsub = client.pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(channel)
    wait_for(lambda: pubsub.get_message(timeout=0.05) is None and pubsub.subscribed)
    events: list[dict] = []

    def collect(until, timeout: float = 10.0) -> list[dict]:
        def check():
            message = pubsub.get_message(timeout=0.05)
            if message is not None:
                events.append(json.loads(message['data']))
            return until(events)

        wait_for(check, timeout, what='events')
        return events

    yield collect
    pubsub.close()
    client.close()


def statuses(events, task_id):
    return [event['status'] for event in events if event['id'] == task_id]


def test_seed_example_runs_on_the_consumer(app, run_consumer):
    directory, app1x = app
    run_consumer('app1x.huey', directory)
    assert app1x.slow_function(5).get(blocking=True, timeout=10) == 5
    res = app1x.count_some_beans(1000000)
    assert repr(res).startswith('<AsyncData')
    assert res.get(blocking=True, timeout=10) == 'Counted 1000000 beans'


def test_redis_backends_of_one_name_are_exactly_redis_huey(app):
    from huey import RedisHuey

    _, app1x = app
    assert type(app1x.huey.storage).__name__ == 'RedisStorage'
    modern = RedisHuey('my-app', **CONNECTION)
    app1x.count_some_beans(3)
    assert modern.pending_count() == 1  # the same queue, the same keys


def test_events_are_published_live_as_json(app, run_consumer, subscriber):
    directory, app1x = app
    run_consumer('app1x.huey', directory)
    ok = app1x.count_some_beans(2)
    bad = app1x.fails()
    events = subscriber(
        lambda seen: len(statuses(seen, ok.task_id)) == 3 and len(statuses(seen, bad.task_id)) == 3
    )
    # the producer's 'enqueued' and the consumer's events race each other
    ok_statuses = statuses(events, ok.task_id)
    assert sorted(ok_statuses) == ['enqueued', 'finished', 'started']
    assert ok_statuses.index('started') < ok_statuses.index('finished')
    assert sorted(statuses(events, bad.task_id)) == ['enqueued', 'error', 'started']
    finished = next(e for e in events if e['id'] == ok.task_id and e['status'] == 'finished')
    assert finished['task'] == 'app1x.count_some_beans'
    assert set(finished) == {
        'status',
        'id',
        'task',
        'retries',
        'retry_delay',
        'execute_time',
        'timestamp',
    }
    error = next(e for e in events if e['id'] == bad.task_id and e['status'] == 'error')
    assert error['error'] == 'ValueError: no beans'


def test_retrying_scheduled_and_revoked_events(app, run_consumer, subscriber):
    directory, app1x = app
    retried = app1x.fails_twice()
    later = app1x.count_some_beans.schedule(args=(1,), delay=0.5)
    revoked = app1x.count_some_beans(3)
    revoked.revoke()
    run_consumer('app1x.huey', directory)
    events = subscriber(
        lambda seen: (
            statuses(seen, retried.task_id).count('error') == 2
            and 'finished' in statuses(seen, later.task_id)
            and 'revoked' in statuses(seen, revoked.task_id)
        )
    )
    assert 'retrying' in statuses(events, retried.task_id)
    scheduled = [e for e in events if e['id'] == later.task_id]
    assert scheduled[-1]['status'] == 'finished'
    assert scheduled[0]['execute_time'] is not None


def test_schedule_eta_delay_and_async_data_revoke_restore(app, run_consumer):
    directory, app1x = app
    in_an_hour = datetime.datetime.now() + datetime.timedelta(seconds=3600)
    res = app1x.count_some_beans.schedule(args=(100000,), eta=in_an_hour)
    # another way of doing the same thing...
    other = app1x.count_some_beans.schedule(args=(100000,), delay=(60 * 60))
    schedule_queued(app1x.huey, 2)
    assert app1x.huey.scheduled_count() == 2
    res.revoke()  # oh shoot, I changed my mind, do not run it after all
    assert res.is_revoked() and not other.is_revoked()
    assert res.restore() and not res.is_revoked()
    soon = app1x.count_some_beans.schedule(args=(9,), delay=0.3)
    soon.revoke()
    run_consumer('app1x.huey', directory)
    done = app1x.count_some_beans(10)
    assert done.get(blocking=True, timeout=10) == 'Counted 10 beans'
    wait_for(lambda: app1x.huey.scheduled_count() == 2, what='revoked task skipped')
    assert soon.get() is None


def test_task_class_attribute(app):
    _, app1x = app
    task_class = app1x.count_some_beans.task_class
    assert task_class.__name__ == 'count_some_beans'
    assert app1x.huey.registry.get(task_class.name) is task_class


def test_periodic_task_revoke_restore_is_revoked(app):
    _, app1x = app
    every_five_minutes = app1x.every_five_minutes
    assert every_five_minutes() == 'five'  # calls execute normally
    assert not every_five_minutes.is_revoked()
    every_five_minutes.revoke(revoke_once=True)  # skip the next execution
    assert every_five_minutes.is_revoked()
    every_five_minutes.revoke()  # pause the command indefinitely
    assert every_five_minutes.is_revoked(datetime.datetime.now() + datetime.timedelta(days=9))
    tomorrow = datetime.datetime.now() + datetime.timedelta(days=1)
    every_five_minutes.revoke(tomorrow)  # pause the command for 24 hours
    assert every_five_minutes.is_revoked()
    assert not every_five_minutes.is_revoked(tomorrow + datetime.timedelta(minutes=1))
    assert every_five_minutes.restore()
    assert not every_five_minutes.is_revoked()


def test_a_revoke_once_periodic_task_skips_one_run(app):
    _, app1x = app
    huey = app1x.huey
    app1x.every_five_minutes.revoke(revoke_once=True)
    (task,) = huey.enqueue_periodic(datetime.datetime(2024, 1, 1, 3, 5))
    delivery = huey.reserve()
    huey.execute_delivery(delivery)
    assert not app1x.every_five_minutes.is_revoked()


def test_without_result_store_calls_return_none(redis_db):
    from huey.backends.redis_backend import RedisBlockingQueue
    from huey_legacy.api import Huey

    huey = Huey(RedisBlockingQueue('no-results-1x', **CONNECTION))

    @huey.task()
    def count_some_beans(num):
        return 'Counted %s beans' % num  # noqa: UP031 - as the seed writes it

    assert count_some_beans(1000000) is None
    assert count_some_beans.schedule(args=(1,), delay=60) is None


def test_always_eager_runs_at_call_time(redis_db):
    from huey.backends.redis_backend import RedisBlockingQueue, RedisDataStore
    from huey_legacy.api import Huey

    queue = RedisBlockingQueue('eager-1x', **CONNECTION)
    huey = Huey(queue, RedisDataStore('eager-1x', **CONNECTION), always_eager=True)

    @huey.task()
    def double(n):
        return n * 2

    assert huey.always_eager and double(4) == 8 and len(queue) == 0


def test_retries_as_argument_and_include_task(redis_db):
    from huey.backends.redis_backend import RedisBlockingQueue, RedisDataStore
    from huey_legacy.api import Huey

    huey = Huey(
        RedisBlockingQueue('args-1x', **CONNECTION), RedisDataStore('args-1x', **CONNECTION)
    )

    @huey.task(retries=2, retries_as_argument=True)
    def with_retries(retries):
        return retries

    @huey.task(include_task=True)
    def with_task(task=None):
        return task.id

    a, b = with_retries(), with_task()
    for _ in range(2):
        huey.execute_delivery(huey.reserve())
    assert a.get() == 2 and b.get() == b.task_id


def test_redis_schedule_and_queue_methods(redis_db):
    from huey.backends.redis_backend import RedisDataStore, RedisQueue, RedisSchedule

    queue = RedisQueue('raw', **CONNECTION)
    queue.write(b'one')
    queue.write(b'two')
    queue.write(b'one')
    assert len(queue) == 3 and queue.remove(b'one') == 2
    assert queue.read() == b'two' and queue.read() is None
    store = RedisDataStore('raw', **CONNECTION)
    store.put('k', b'v')
    assert store.peek('k') == b'v' and store.get('k') == b'v'
    from huey.backends.base import EmptyData

    assert store.get('k') is EmptyData
    schedule = RedisSchedule('raw', **CONNECTION)
    now = datetime.datetime.now()
    schedule.add(b'due', now - datetime.timedelta(seconds=1))
    schedule.add(b'later', now + datetime.timedelta(hours=1))
    assert schedule.read(now) == [b'due'] and len(schedule) == 1
    schedule.flush()
    assert len(schedule) == 0


def test_a_string_first_argument_is_refused_with_the_fix():
    from huey_legacy.api import Huey

    with pytest.raises(TypeError, match=r"huey.RedisHuey\('app'\)"):
        Huey('app')


def test_todays_task_helpers_work_on_legacy_tasks(app):
    _, app1x = app
    huey = app1x.huey
    results = huey.enqueue(app1x.count_some_beans.s(4))
    huey.execute_delivery(huey.reserve())
    assert results.get() == 'Counted 4 beans'


def test_huey_api_huey_with_a_queue_is_the_legacy_huey_and_a_name_the_modern_one(redis_db):
    from huey.api import AsyncData, Huey
    from huey.backends.redis_backend import RedisBlockingQueue, RedisDataStore
    from huey.storage import MemoryStorage
    from huey_legacy.api import AsyncData as LegacyAsyncData
    from huey_legacy.api import Huey as LegacyHuey

    legacy = Huey(RedisBlockingQueue('seed', **CONNECTION), RedisDataStore('seed', **CONNECTION))
    assert type(legacy) is LegacyHuey and AsyncData is LegacyAsyncData
    modern = Huey('seed-modern', storage_class=MemoryStorage)
    assert type(modern) is Huey and not isinstance(modern, LegacyHuey)
