"""``huey_admin`` run as a subprocess against each real storage."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import script, take_early, wait_until


def admin(app, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(script('huey_admin')), app.path, *args],
        cwd=app.directory,
        env=env or app.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def admin_json(app, *args: str):
    done = admin(app, '--json', *args)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_status_pending_and_scheduled(make_app):
    app = make_app()
    module = app.module
    later = module.add.schedule((5, 5), delay=3600).id
    take_early(app.huey)
    waiting = [module.add(i, 1).id for i in range(3)]

    status = admin_json(app, 'status')
    assert status['pending'] == 3 and status['scheduled'] == 1
    assert status['dead_letters'] == 0 and status['consumers'] == 0
    assert [row['id'] for row in admin_json(app, 'pending')] == waiting
    assert [row['id'] for row in admin_json(app, 'pending', '--limit', '2')] == waiting[:2]
    (row,) = admin_json(app, 'scheduled')
    assert row['id'] == later and row['args'] == '(5, 5)' and row['eta']

    table = admin(app, 'pending')
    assert table.returncode == 0
    header, *lines = table.stdout.splitlines()
    assert header.split()[:3] == ['ID', 'NAME', 'ARGS']
    assert [line.split()[0] for line in lines] == waiting
    assert 'pending' in admin(app, 'status').stdout
    after = admin(app, 'status', '--json')  # --json after the command works too
    assert json.loads(after.stdout)['pending'] == 3


def test_requeue_a_dead_letter_after_deploying_its_task(make_app, start_consumer, monkeypatch):
    monkeypatch.setenv('MONITOR_TEST_LATE_TASK', '1')
    app = make_app()
    huey, module = app.huey, app.module
    old_code = app.env()
    del old_code['MONITOR_TEST_LATE_TASK']
    first = start_consumer(app, '-w', '1', env=old_code)  # does not know late()
    result = module.late(21)
    letters = wait_until(lambda: admin_json(app, 'dead-letters'), 30, 'a dead letter')
    (letter,) = letters
    assert letter['task_id'] == result.id and letter['name'] == module.late.name
    assert 'late' in letter['reason']
    assert first.stop() == 0

    start_consumer(app, '-w', '1')  # the new deployment knows it
    done = admin(app, 'requeue', letter['id'])
    assert done.returncode == 0, done.stderr
    assert letter['id'] in done.stdout
    assert result.get(blocking=True, timeout=30) == 42
    assert huey.dead_letters() == []
    assert admin(app, 'requeue', letter['id']).returncode == 1
    missing = admin(app, 'delete', letter['id'])
    assert missing.returncode == 1 and 'no dead letter' in missing.stderr


def test_requeue_all_and_delete(make_app):
    app = make_app()
    huey = app.huey
    data = huey.serialize_task(app.module.add.s(1, 2))
    ids = [huey.storage.add_dead_letter(data, 'test') for _ in range(3)]
    assert admin_json(app, 'delete', ids[0]) == {'id': ids[0], 'done': True}
    assert admin_json(app, 'requeue', '--all') == {'requeued': 2}
    assert huey.pending_count() == 2 and huey.dead_letters() == []
    assert admin(app, 'requeue').returncode == 2  # an id or --all


def test_results_revoke_restore(make_app):
    app = make_app()
    huey, module = app.huey, app.module
    task = module.add(2, 3)
    huey.execute_delivery(wait_until(huey.reserve, 10, 'a task'))
    assert admin_json(app, 'results', task.id) == {'id': task.id, 'value': '5', 'error': None}
    assert [row['id'] for row in admin_json(app, 'results')] == [task.id]
    missing = admin(app, 'results', 'nope')
    assert missing.returncode == 1 and "'nope'" in missing.stderr

    target = module.add(1, 1)
    assert admin(app, 'revoke', target.id).returncode == 0
    assert huey.is_revoked(target.id)
    assert admin(app, 'restore', target.id).returncode == 0
    assert not huey.is_revoked(target.id)
    assert admin(app, 'restore', target.id).returncode == 1


def test_periodic_and_flush(make_app):
    app = make_app()
    (row,) = admin_json(app, 'periodic')
    assert row['name'] == app.module.report.name
    assert row['schedule'] == '*/15 * * * *'
    assert row['next_run'][-2:] in ('00', '15', '30', '45')

    app.module.add(1, 2)
    refused = admin(app, 'flush')
    assert refused.returncode == 2 and '--yes' in refused.stderr
    assert app.huey.pending_count() == 1
    assert admin(app, 'flush', '--yes').returncode == 0
    assert app.huey.pending_count() == 0


def test_python_m_and_bad_app(tmp_path):
    done = subprocess.run(
        [sys.executable, '-m', 'huey_monitor', 'no_such_module.huey', 'status'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "no module named 'no_such_module'" in done.stderr
    (tmp_path / 'notahuey.py').write_text('huey = 42\n')
    done = subprocess.run(
        [sys.executable, '-m', 'huey_monitor', 'notahuey.huey', 'status'],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and 'not a Huey instance' in done.stderr
