"""``huey.utils``: time normalization, SKIPPED, Error and FileLock."""

from __future__ import annotations

import datetime
import os
import pickle
import threading

import pytest
from huey.utils import SKIPPED, Error, FileLock, normalize_expire_time, normalize_time, utcnow


def test_normalize_time_needs_exactly_one_of_eta_or_delay():
    with pytest.raises(ValueError, match='exactly one'):
        normalize_time()
    with pytest.raises(ValueError, match='exactly one'):
        normalize_time(eta=datetime.datetime.now(), delay=1)
    with pytest.raises(ValueError, match='pass a datetime'):
        normalize_time(eta=12)


def test_normalize_time_frames():
    local = datetime.datetime(2030, 6, 1, 12, 0)
    as_utc = datetime.datetime.fromtimestamp(local.timestamp(), datetime.timezone.utc)
    assert normalize_time(local, utc=False) == local
    assert normalize_time(local, utc=True) == as_utc.replace(tzinfo=None)
    assert normalize_time(as_utc, utc=False) == local
    zero = normalize_time(delay=0, utc=True)
    assert abs((zero - utcnow()).total_seconds()) < 5
    assert abs((normalize_expire_time(60, utc=False) - datetime.datetime.now()).seconds - 60) < 5


def test_skipped_survives_pickling_and_error_compares_by_metadata():
    assert pickle.loads(pickle.dumps(SKIPPED)) is SKIPPED
    assert repr(SKIPPED) == 'SKIPPED'
    assert pickle.loads(pickle.dumps(Error({'error': 'x'}))) == Error({'error': 'x'})
    assert Error({'error': 'x'}) != Error({'error': 'y'})


def test_file_lock_excludes_other_holders(tmp_path):
    path = str(tmp_path / 'locks' / '.lock')
    order = []
    first = FileLock(path)
    first.acquire()
    inode = os.stat(path).st_ino
    FileLock(path)  # building another lock keeps the held file
    assert os.stat(path).st_ino == inode

    def other():
        with FileLock(path):
            order.append('other')

    thread = threading.Thread(target=other)
    thread.start()
    thread.join(0.1)
    order.append('first')
    first.release()
    thread.join(5)
    assert order == ['first', 'other']
