"""The real consumer without and with a signing key: it warns when unsigned,
never unpickles what it did not sign, and runs a replayed message once."""

from __future__ import annotations

import pickle

import pytest
from conftest import FAST, wait_until

KEY = 'integration secret'
BUMP = """
@huey.task()
def bump(key):
    return huey.storage.incr(key)
"""


class _CreatesFile:
    """Unpickling this creates ``path``: proof that a payload ran code."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __reduce__(self):
        return (open, (self.path, 'w'))


def test_a_consumer_without_a_key_warns_how_to_set_one(make_app, start_consumer, backend):
    consumer = start_consumer(make_app(), '-k', 'thread', *FAST)
    log = consumer.wait_for_log('consumer started')
    assert log.count('messages are not signed') == 1
    assert 'can run any code in this consumer' in log
    assert "set Huey(..., signing_key='a long random secret')" in log
    for line in log.splitlines():
        if 'messages are not signed' in line:
            assert 'WARNING' in line


def test_a_json_consumer_without_a_key_warns_too(make_app, start_consumer):
    consumer = start_consumer(make_app(serializer='json'), '-k', 'thread', *FAST)
    log = consumer.wait_for_log('consumer started')
    assert 'messages are not signed' in log and 'chooses which tasks run' in log


def test_a_signed_consumer_does_not_warn(make_app, start_consumer):
    consumer = start_consumer(make_app(signing_key=KEY), '-k', 'thread', *FAST)
    assert 'messages are not signed' not in consumer.wait_for_log('consumer started')


@pytest.mark.parametrize('worker_type', ['thread', 'process'])
def test_a_signed_consumer_never_unpickles_a_forged_message(
    make_app, start_consumer, tmp_path, worker_type
):
    app = make_app(signing_key=KEY, extra=BUMP)
    proof = tmp_path / 'code-ran'
    forged = (
        'forged-id',
        f'{app.module_name}.bump',
        None,
        0,
        0.0,
        None,
        None,
        (_CreatesFile(str(proof)),),
        {},
        None,
        None,
    )
    app.huey.storage.enqueue(pickle.dumps(forged))
    result = app.module.bump('runs')
    start_consumer(app, '-k', worker_type, *FAST)
    assert result.get(blocking=True, timeout=20) == 1
    [letter] = wait_until(app.huey.dead_letters, message='the forged message dead-lettered')
    assert 'bad signature' in letter.reason
    assert not proof.exists()


def test_a_replayed_signed_message_runs_once(make_app, start_consumer):
    app = make_app(signing_key=KEY, extra=BUMP)
    huey = app.huey
    result = app.module.bump('runs')
    [signed] = huey.storage.enqueued_items()
    start_consumer(app, '-k', 'thread', *FAST)
    assert result.get(blocking=True, timeout=20) == 1
    huey.storage.enqueue(signed)  # an attacker writes the same bytes again
    huey.storage.enqueue(signed)
    letters = wait_until(
        lambda: len(huey.dead_letters()) == 2 and huey.dead_letters(),
        message='both replays dead-lettered',
    )
    assert all('replayed message' in letter.reason for letter in letters)
    assert huey.storage.incr('runs', 0) == 1
    assert app.module.bump('runs').get(blocking=True, timeout=20) == 2  # new calls still run
