"""``FileHuey``: the facade class of huey-storage's FileStorage (the classes of the
optional storages are checked in tests/integration/test_facade_storages.py)."""

from __future__ import annotations

from huey import api, storage


def test_file_huey_keeps_everything_under_its_path(tmp_path):
    app = api.FileHuey('files', path=str(tmp_path), use_thread_lock=True)
    assert isinstance(app.storage, storage.FileStorage) and app.storage.name == 'files'

    @app.task()
    def add(a, b):
        return a + b

    result = add(1, 2)
    app.execute_delivery(app.reserve())
    assert result.get() == 3
    assert (tmp_path / 'queue').is_dir() and (tmp_path / 'results').is_dir()
