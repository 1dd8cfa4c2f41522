"""Task options are checked where the call is made, with one error naming the
option, whatever the storage (nothing reaches the queue)."""

from __future__ import annotations

import datetime
import time

import pytest
from conftest import REDIS_DB, requires
from huey import MemoryHuey
from huey_storage.testing.services import require_service


@pytest.fixture(params=['memory', 'sqlite', pytest.param('redis', marks=pytest.mark.redis)])
def any_huey(request, tmp_path):
    if request.param == 'memory':
        instance = MemoryHuey('options')
    elif request.param == 'sqlite':
        requires('huey_storage_sqlite')
        from huey import SqliteHuey

        instance = SqliteHuey('options', filename=str(tmp_path / 'options.db'))
    else:
        requires('huey_storage_redis')
        requires('redis')
        from huey import RedisHuey

        host, port = require_service('redis')
        instance = RedisHuey('options-' + str(time.time_ns()), host=host, port=port, db=REDIS_DB)
    yield instance
    instance.flush()
    instance.storage.close()


BAD_CALLS = [
    ({'retries': -1}, 'retries=-1'),
    ({'retries': 1.5}, 'retries=1.5'),
    ({'delay': float('nan')}, 'delay=nan'),
    ({'delay': float('inf')}, 'delay=inf'),
    ({'delay': 'soon'}, "delay='soon'"),
    ({'eta': 'tomorrow'}, "eta='tomorrow'"),
    ({'eta': float('inf')}, 'eta=inf'),
    ({'priority': 'high'}, "priority='high'"),
    ({'priority': 1.5}, 'priority=1.5'),
    ({'retry_delay': -3}, 'retry_delay=-3'),
    ({'expires': float('nan')}, 'expires=nan'),
    ({'timeout': 'long'}, "timeout='long'"),
    ({'id': ''}, "id=''"),
]


@pytest.mark.parametrize(('options', 'named'), BAD_CALLS)
def test_bad_options_fail_at_the_call_on_every_storage(any_huey, options, named):
    @any_huey.task()
    def work(n):
        return n

    with pytest.raises(ValueError, match=f'work.*{named}.* is not valid: pass'):
        work(1, **options)  # options given to a call
    timing = {} if {'delay', 'eta'} & set(options) else {'delay': 1}
    with pytest.raises(ValueError, match=named):
        work.schedule((1,), **timing, **options)
    assert any_huey.pending_count() == 0 and any_huey.scheduled_count() == 0


def test_decorator_defaults_are_checked_too():
    huey = MemoryHuey('defaults')
    with pytest.raises(ValueError, match="priority='high'"):
        huey.task(priority='high')(lambda: None)
    with pytest.raises(ValueError, match='retries=-1'):
        huey.task(retries=-1)(lambda: None)


def test_good_options_still_work(any_huey):
    @any_huey.task()
    def work(n):
        return n

    when = datetime.datetime.now() + datetime.timedelta(hours=1)
    work.schedule((1,), eta=when, priority=3, retries=2, retry_delay=0.5, expires=60)
    work.schedule((2,), delay=datetime.timedelta(seconds=30), timeout=5)
    work(3, priority=0, id='my-id')
    assert any_huey.pending_count() == 3


def test_eta_round_trips_in_every_clock(monkeypatch):
    monkeypatch.setenv('TZ', 'America/New_York')
    time.tzset()
    try:
        for utc in (True, False):
            huey = MemoryHuey('eta', utc=utc)

            @huey.task()
            def work():
                pass

            task = work.s(eta=datetime.datetime(2030, 1, 1, 12))
            eta, ts = task.eta, task.eta_ts
            task.eta = task.eta
            assert (task.eta, task.eta_ts) == (eta, ts)
    finally:
        monkeypatch.delenv('TZ')
        time.tzset()
