"""Group commit (``writes.py``): writes of one storage's threads that wait are
committed together, each caller still gets its own outcome, and no thread is
ever left waiting for good."""

from __future__ import annotations

import multiprocessing
import signal
import sqlite3
import threading
import time

import pytest
from huey_storage.base import EmptyData


class _Interrupted(Exception):
    pass


def _wait_until(predicate, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError('condition not reached in time (deadlock?)')
        time.sleep(0.001)


class _Scene:
    """A storage whose lead is held by a thread blocked in its own write
    (before any statement, so SQLite holds no lock), so the writes of other
    threads queue up behind it."""

    def __init__(self, storage) -> None:
        self.storage = storage
        self.statements: list[str] = []
        self.release = threading.Event()
        self.results: dict[str, object] = {}
        self.threads: list[threading.Thread] = []
        self.leading = threading.Event()
        self.start('leader', lambda: storage._run_write(self._blocked))
        assert self.leading.wait(30)

    def _blocked(self, conn: sqlite3.Connection) -> None:
        self.leading.set()
        assert self.release.wait(30)

    def traced(self, call):
        """``call`` run with this thread's connection traced."""

        def run():
            self.storage.conn.set_trace_callback(self.statements.append)
            return call()

        return run

    def start(self, name: str, call) -> None:
        def target():
            try:
                self.results[name] = call()
            except Exception as exc:  # noqa: BLE001 - the outcome is what is checked
                self.results[name] = exc

        thread = threading.Thread(target=self.traced(target) if name != 'leader' else target)
        thread.start()
        self.threads.append(thread)

    def queue(self, name: str, call) -> None:
        """Start a thread making a write and wait until that write waits."""
        waiting = len(self.storage._writes._waiting)
        self.start(name, call)
        _wait_until(lambda: len(self.storage._writes._waiting) == waiting + 1)

    def finish(self) -> None:
        self.release.set()
        for thread in self.threads:
            thread.join(30)
            assert not thread.is_alive(), 'a writer is still waiting (deadlock?)'


@pytest.fixture
def scene(make_storage):
    made = []

    def build():
        made.append(_Scene(make_storage()))
        return made[-1]

    yield build
    for each in made:
        each.release.set()


def test_waiting_writes_are_committed_in_one_transaction_with_their_own_results(scene):
    scene = scene()
    storage = scene.storage
    scene.queue('first', lambda: storage.put_if_empty('lock', b'1'))
    scene.queue('second', lambda: storage.put_if_empty('lock', b'2'))
    scene.queue('counter', lambda: storage.incr('n', 5))
    scene.finish()
    assert scene.results == {'leader': None, 'first': True, 'second': False, 'counter': 5}
    assert storage.peek_data('lock') == b'1'
    # the first waiting thread led the three writes in one transaction (alone,
    # each put_if_empty would be an INSERT in autocommit, before incr's BEGIN)
    assert [s.split()[0] for s in scene.statements] == [
        'BEGIN',
        'INSERT',
        'INSERT',
        'SELECT',
        'INSERT',
        'COMMIT',
    ]


def test_a_failing_write_fails_only_its_caller(scene):
    scene = scene()
    storage = scene.storage
    scene.queue('before', lambda: storage.enqueue(b'a'))
    scene.queue('broken', lambda: storage._transaction(_insert_then_fail))
    scene.queue('after', lambda: storage.put_data('k', b'v'))
    scene.finish()
    assert scene.results['before'] is None and scene.results['after'] is None
    assert isinstance(scene.results['broken'], sqlite3.OperationalError)
    assert storage.enqueued_items() == [b'a'] and storage.peek_data('k') == b'v'
    assert storage.peek_data('half') is EmptyData


def _insert_then_fail(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO huey_kv (name, key, value) VALUES ('test', 'half', x'00')")
    conn.execute('SELECT * FROM no_such_table')


def test_a_lone_write_runs_alone_as_before(make_storage):
    storage = make_storage()
    statements: list[str] = []
    storage.conn.set_trace_callback(statements.append)
    storage.enqueue(b'x')
    storage.incr('n')
    assert [s.split()[0] for s in statements] == ['INSERT', 'BEGIN', 'SELECT', 'INSERT', 'COMMIT']


@pytest.mark.skipif(not hasattr(signal, 'pthread_kill'), reason='needs pthread_kill')
def test_a_writer_interrupted_while_waiting_withdraws_its_write(scene):
    scene = scene()
    storage = scene.storage
    main = threading.get_ident()

    def interrupt(signum, frame):
        raise _Interrupted

    previous = signal.signal(signal.SIGUSR1, interrupt)
    try:
        kill = threading.Thread(
            target=lambda: (
                _wait_until(lambda: len(storage._writes._waiting) == 1),
                signal.pthread_kill(main, signal.SIGUSR1),
            )
        )
        kill.start()
        with pytest.raises(_Interrupted):
            storage.enqueue(b'withdrawn')
        kill.join(30)
    finally:
        signal.signal(signal.SIGUSR1, previous)
    scene.queue('later', lambda: storage.enqueue(b'later'))
    scene.finish()
    storage.enqueue(b'last')  # the lead was not lost
    assert storage.enqueued_items() == [b'later', b'last']


def test_a_forked_child_writes_while_the_parent_holds_the_lead(scene):
    if 'fork' not in multiprocessing.get_all_start_methods():
        pytest.skip('needs fork')
    scene = scene()
    storage = scene.storage
    context = multiprocessing.get_context('fork')
    reports = context.Queue()

    def child(reports) -> None:  # the parent's storage, inherited
        storage.enqueue(b'child')
        reports.put('ok')

    process = context.Process(target=child, args=(reports,))
    process.start()
    try:
        assert reports.get(timeout=60) == 'ok'
    finally:
        scene.finish()
    process.join(30)
    assert process.exitcode == 0
    assert storage.enqueued_items() == [b'child']
