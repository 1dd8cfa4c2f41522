"""Options reach SQLite (checked through PRAGMA), and bad options are refused."""

from __future__ import annotations

import os

import pytest
from huey_storage_sqlite import SqliteStorage


def _pragma(storage: SqliteStorage, name: str):
    return storage._pool.get().execute(f'PRAGMA {name}').fetchone()[0]


def test_defaults(make_storage, db_path):
    storage = make_storage()
    assert (storage.name, storage.filename) == ('test', db_path)
    assert _pragma(storage, 'journal_mode') == 'wal'
    assert _pragma(storage, 'synchronous') == 1  # NORMAL
    assert _pragma(storage, 'cache_size') == -8 * 1024  # KiB
    assert _pragma(storage, 'busy_timeout') == 5000
    assert storage.priority is True and storage.blocking is False


def test_every_option_is_applied(make_storage):
    storage = make_storage(cache_mb=32, fsync=True, journal_mode='DELETE', timeout=0.25)
    assert _pragma(storage, 'journal_mode') == 'delete'
    assert _pragma(storage, 'synchronous') == 2  # FULL
    assert _pragma(storage, 'cache_size') == -32 * 1024
    assert _pragma(storage, 'busy_timeout') == 250
    storage.enqueue(b'works')
    assert storage.dequeue() == b'works'


def test_options_apply_to_every_thread_connection(make_storage):
    import threading

    storage = make_storage(fsync=True, cache_mb=2)
    seen = []
    thread = threading.Thread(
        target=lambda: seen.append(
            (_pragma(storage, 'synchronous'), _pragma(storage, 'cache_size'))
        )
    )
    thread.start()
    thread.join()
    assert seen == [(2, -2048)]


def test_relative_filename_is_resolved_now(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    storage = SqliteStorage(filename='relative.db')
    try:
        assert storage.filename == str(tmp_path / 'relative.db')
        storage.enqueue(b'x')
        assert os.path.exists(tmp_path / 'relative.db')
    finally:
        storage.close()


def test_unknown_options_are_named():
    with pytest.raises(TypeError) as info:
        SqliteStorage('x', filename='unused.db', cachemb=8, blocking=True)
    message = str(info.value)
    assert 'blocking, cachemb' in message
    assert 'cache_mb' in message  # the accepted ones are listed


@pytest.mark.parametrize(
    'options, words',
    [
        ({'journal_mode': 'walrus'}, 'walrus'),
        ({'cache_mb': -1}, 'cache_mb=-1'),
        ({'timeout': 'soon'}, "timeout='soon'"),
        ({'filename': ':memory:'}, 'MemoryStorage'),
        ({'name': ''}, 'name'),
    ],
)
def test_bad_option_values_are_refused(options, words):
    options.setdefault('filename', 'unused.db')
    with pytest.raises(ValueError, match=words):
        SqliteStorage(**options)


def test_strict_fifo_cannot_be_switched_on_for_an_existing_queue(make_storage):
    make_storage().create_schema()
    with pytest.raises(ValueError, match='AUTOINCREMENT'):
        make_storage(strict_fifo=True).enqueue(b'x')


def test_strict_fifo_never_reuses_ids(make_storage):
    storage = make_storage(strict_fifo=True)
    conn = storage._pool.get()
    storage.enqueue(b'a')
    storage.enqueue(b'b')
    assert storage.dequeue() == b'a'
    assert storage.dequeue() == b'b'
    storage.enqueue(b'c')  # without AUTOINCREMENT this would get id 1 again
    assert conn.execute('SELECT id FROM huey_queue').fetchall() == [(3,)]


@pytest.mark.parametrize(
    'priority, error',
    [
        ('5', TypeError),
        (float('nan'), ValueError),
        (True, TypeError),
        (2**63, ValueError),
    ],
)
def test_priorities_must_be_64_bit_ints(make_storage, priority, error):
    storage = make_storage()
    with pytest.raises(error, match='priority'):
        storage.enqueue(b'x', priority)
    with pytest.raises(error, match='priority'):
        storage.enqueue_many([(b'ok', 1), (b'x', priority)])
    with pytest.raises(error, match='priority'):
        storage.add_to_schedule(b'x', 0.0, priority)
    with pytest.raises(error, match='priority'):
        storage.requeue_dead_letter(storage.add_dead_letter(b'x', 'why'), priority)
    assert storage.queue_size() == 0 and storage.schedule_size() == 0
    storage.enqueue(b'big', 2**63 - 1)
    storage.enqueue(b'small', -(2**63))
    assert storage.enqueued_items() == [b'big', b'small']


@pytest.mark.parametrize('ttl', [0, -1, 0.0])
def test_ttl_must_be_positive(make_storage, ttl):
    storage = make_storage()
    with pytest.raises(ValueError, match='ttl'):
        storage.put_if_empty('lock', b'1', ttl=ttl)
    with pytest.raises(ValueError, match='ttl'):
        storage.incr('counter', ttl=ttl)
    assert storage.has_data_for_key('lock') is False
    assert storage.has_data_for_key('counter') is False


def test_pragmas_run_on_every_connection(make_storage):
    storage = make_storage(pragmas={'mmap_size': 1 << 20, 'synchronous': 'FULL'})
    assert storage.conn.execute('PRAGMA mmap_size').fetchone() == (1 << 20,)
    assert storage.conn.execute('PRAGMA synchronous').fetchone() == (2,)
    assert storage.conn.execute('PRAGMA busy_timeout').fetchone() == (int(storage.timeout * 1000),)


@pytest.mark.parametrize(
    'pragmas, match',
    [
        ({'mmap size': 1}, 'not a PRAGMA name'),
        ({'journal_mode': 'wal'}, 'use journal_mode='),
        ({'synchronous': '1; DROP TABLE huey_kv'}, 'a number or a word'),
    ],
)
def test_bad_pragmas_are_refused(make_storage, pragmas, match):
    with pytest.raises(ValueError, match=match):
        make_storage(pragmas=pragmas)
