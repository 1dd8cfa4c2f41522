"""What the monitor shows as task results, on each real storage: task values,
errors and ``huey.put()`` values, never huey-api's or its own bookkeeping."""

from __future__ import annotations

import sys
import types

from conftest import wait_until
from huey_monitor import admin
from huey_monitor.metrics import QueueCollector
from huey_monitor.records import Keys
from huey_monitor.results import is_monitor_key


def run_one(huey) -> None:
    huey.execute_delivery(wait_until(huey.reserve, 10, 'a task to reserve'))


def serialized_with_missing_code(huey) -> bytes:
    """A payload naming a module that this process can no longer import."""
    module = types.ModuleType('huey_monitor_gone_module')
    exec('class Gone:\n    pass\n', module.__dict__)
    sys.modules[module.__name__] = module
    try:
        return huey.serializer.serialize(module.Gone())
    finally:
        del sys.modules[module.__name__]


def results_gauge(huey) -> float:
    for family in QueueCollector(huey).collect():
        if family.name == 'huey_results_stored':
            return family.samples[0].value
    raise AssertionError('no huey_results_stored gauge')


def test_only_task_results_are_listed(make_app):
    app = make_app()
    huey, module = app.huey, app.module
    done, failed = module.add(2, 3), module.fail('boom')
    run_one(huey)
    run_one(huey)
    module.add(1, 1).revoke()  # a revocation and huey-api's "something was revoked" flag
    huey.revoke_all(module.slow)
    huey.put('mine', {'kept': 1})  # the application's own value: a result, as in huey
    huey.storage.put_data('missing-code', serialized_with_missing_code(huey), is_result=True)
    app.monitor.flush()  # the monitor's settings, task names and event slot

    with huey.lock_task('guard'):
        stored = huey.all_results()
        assert any(is_monitor_key(key) for key in stored)
        assert len(stored) >= 5 + 5  # the four results and 'mine', plus bookkeeping

        rows = {row['id']: row for row in admin.results(huey)}
        assert sorted(rows) == sorted([done.id, failed.id, 'mine', 'missing-code'])
        assert rows[done.id] == {'id': done.id, 'value': '5', 'error': None}
        assert rows[failed.id]['value'] is None and 'boom' in rows[failed.id]['error']
        assert rows['mine']['value'] == "{'kept': 1}"
        assert 'huey_monitor_gone_module' in rows['missing-code']['error']
        assert [row['id'] for row in admin.results(huey, 2)] == sorted(rows)[:2]
        assert app.monitor.status()['results'] == 4
        assert results_gauge(huey) == 4

    assert admin.result(huey, done.id) == rows[done.id]
    assert admin.result(huey, Keys.settings) is None
    bookkeeping = [key for key in huey.all_results() if key not in rows]
    assert bookkeeping and all(admin.result(huey, key) is None for key in bookkeeping)
