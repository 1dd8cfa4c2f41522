"""The whole storage contract, run on FileStorage (with flock and with a thread lock)."""

from __future__ import annotations

import os

import pytest
from huey_storage import EmptyData, FileStorage
from huey_storage.testing import (
    MultiProcessConformance,
    PriorityConformance,
    SharedStorageConformance,
    StorageConformance,
)


class TestFileStorage(
    StorageConformance, PriorityConformance, SharedStorageConformance, MultiProcessConformance
):
    @pytest.fixture
    def storage(self, tmp_path):
        storage = FileStorage('test', path=str(tmp_path / 'store'))
        yield storage
        storage.flush_all()
        storage.close()

    @pytest.fixture
    def storage_factory(self, storage):
        return lambda: FileStorage(storage.name, path=storage.path)

    @pytest.fixture
    def other_storage_factory(self, tmp_path):
        # the directory is a FileStorage's namespace: another name, another directory
        return lambda name: FileStorage(name, path=str(tmp_path / name.encode().hex()))


class TestFileStorageWithAThreadLock(StorageConformance, PriorityConformance):
    @pytest.fixture
    def storage(self, tmp_path):
        storage = FileStorage('test', path=str(tmp_path / 'store'), use_thread_lock=True)
        yield storage
        storage.flush_all()


def test_data_files_follow_the_documented_layout(tmp_path):
    storage = FileStorage('test', path=str(tmp_path), levels=2)
    storage.put_data('k1', b'v1')
    filename = storage.path_for_key('k1')
    parts = os.path.relpath(filename, tmp_path).split(os.sep)
    assert parts[0] == 'results' and len(parts) == 4
    assert parts[1] + parts[2] == parts[3][:2]
    with open(filename, 'rb') as fh:
        assert fh.read() == b'\x00\x00\x00\x02k1v1'  # key length, key, value


def test_a_cut_short_data_file_is_ignored(tmp_path):
    storage = FileStorage('test', path=str(tmp_path))
    storage.put_data('k1', b'v1')
    filename = storage.path_for_key('k2')
    os.makedirs(os.path.dirname(filename), exist_ok=True)
    with open(filename, 'wb') as fh:
        fh.write(b'\x00\x00\x00\x08k2')
    assert storage.result_items() == {'k1': b'v1'}
    assert storage.peek_data('k2') is EmptyData


def test_a_bad_value_leaves_the_stored_one(tmp_path):
    storage = FileStorage('test', path=str(tmp_path))
    storage.put_data('k1', b'v1')
    with pytest.raises(TypeError):
        storage.put_data('k1', object())
    assert storage.peek_data('k1') == b'v1'


@pytest.mark.parametrize('levels', [-1, 5, 'two'])
def test_levels_out_of_range_are_refused(tmp_path, levels):
    with pytest.raises(ValueError, match='levels'):
        FileStorage('test', path=str(tmp_path), levels=levels)


def test_a_file_as_path_is_refused(tmp_path):
    path = tmp_path / 'plain-file'
    path.write_bytes(b'')
    with pytest.raises(ValueError, match='is a file'):
        FileStorage('test', path=str(path))


def test_a_path_is_required():
    with pytest.raises(TypeError, match='path='):
        FileStorage('test')
