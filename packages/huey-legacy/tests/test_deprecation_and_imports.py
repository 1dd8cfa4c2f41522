"""The legacy import paths, their one-line errors, and one DeprecationWarning
per legacy name and process naming the replacement."""

from __future__ import annotations

import importlib
import sys
import warnings

import huey_legacy
import pytest
from huey_legacy import deprecation
from legacy_support import CONNECTION

LEGACY_PATHS = {
    'huey.queue': ['Invoker', 'AsyncData'],
    'huey.decorators': ['queue_command', 'periodic_command', 'crontab'],
    'huey.backends.base': ['BaseQueue', 'BaseDataStore', 'BaseSchedule', 'BaseEventEmitter'],
    'huey.backends.redis_backend': [
        'RedisQueue',
        'RedisBlockingQueue',
        'RedisDataStore',
        'RedisSchedule',
        'RedisEventEmitter',
    ],
    'huey.bin.config': ['BaseConfiguration'],
    'huey.exceptions': ['DataStoreTimeout', 'QueueException'],
}


@pytest.mark.parametrize('module', sorted(LEGACY_PATHS))
def test_legacy_import_paths_re_export_huey_legacy(module):
    imported = importlib.import_module(module)
    for name in LEGACY_PATHS[module]:
        assert getattr(imported, name) is not None, f'{module}.{name}'


@pytest.mark.parametrize('module', ['huey.queue', 'huey.backends.redis_backend', 'huey.bin.config'])
def test_without_huey_legacy_the_error_names_it(module, monkeypatch):
    for name in list(sys.modules):
        if name.startswith('huey_legacy') or name == module:
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, 'huey_legacy', None)
    with pytest.raises(
        ImportError, match='needs the huey-legacy distribution: pip install huey-legacy'
    ):
        importlib.import_module(module)


def test_django_0x_api_names_what_to_install(monkeypatch):
    # None in sys.modules: huey_django is not installed, as far as imports can tell
    monkeypatch.setitem(sys.modules, 'huey_django', None)
    monkeypatch.delitem(sys.modules, 'huey.djhuey', raising=False)
    monkeypatch.delitem(sys.modules, 'huey.djhuey.decorators', raising=False)
    with pytest.raises(ImportError, match='pip install huey-django huey-legacy'):
        importlib.import_module('huey.djhuey.decorators')


@pytest.fixture
def fresh_warnings(monkeypatch):
    monkeypatch.setattr(deprecation, '_warned', set())


def _deprecations(record) -> list[str]:
    return [str(w.message) for w in record if issubclass(w.category, DeprecationWarning)]


def test_each_legacy_object_warns_once_naming_its_replacement(fresh_warnings, redis_db):
    from huey.backends.redis_backend import RedisBlockingQueue, RedisDataStore
    from huey.decorators import queue_command
    from huey.queue import Invoker

    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter('always')
        for _ in range(2):
            queue = RedisBlockingQueue('warned', **CONNECTION)
            invoker = Invoker(queue, RedisDataStore('warned', **CONNECTION))
            queue_command(invoker)(len)
    messages = _deprecations(record)
    assert messages == [
        'huey.backends.redis_backend.RedisBlockingQueue is deprecated (huey 0.x/1.x API): '
        "use RedisHuey('name')",
        'huey.backends.redis_backend.RedisDataStore is deprecated (huey 0.x/1.x API): '
        "use RedisHuey('name')",
        "huey.queue.Invoker is deprecated (huey 0.x/1.x API): use huey.RedisHuey('name')",
        'huey.decorators.queue_command is deprecated (huey 0.x/1.x API): use @huey.task()',
    ]


def test_the_1x_huey_and_configuration_warn(fresh_warnings, redis_db):
    from huey.backends.redis_backend import RedisBlockingQueue

    queue = RedisBlockingQueue('warned-1x', **CONNECTION)
    with pytest.warns(DeprecationWarning, match=r'Huey\(queue, ...\) is deprecated.*RedisHuey'):
        huey_legacy.Huey(queue)
    with pytest.warns(DeprecationWarning, match='BaseConfiguration is deprecated.*huey_consumer'):

        class Configuration(huey_legacy.BaseConfiguration):
            QUEUE = queue


def test_a_user_backend_warns_as_the_legacy_base_class(fresh_warnings):
    class DictQueue(huey_legacy.BaseQueue):
        pass

    with pytest.warns(DeprecationWarning, match=r'^huey.backends.base.BaseQueue is deprecated'):
        DictQueue('mine')


@pytest.mark.parametrize(
    'obj',
    [
        huey_legacy.AsyncData,
        huey_legacy.BaseConfiguration,
        huey_legacy.BaseDataStore,
        huey_legacy.BaseEventEmitter,
        huey_legacy.BaseQueue,
        huey_legacy.BaseSchedule,
        huey_legacy.Huey,
        huey_legacy.Invoker,
        huey_legacy.LegacyTaskWrapper,
        huey_legacy.periodic_command,
        huey_legacy.queue_command,
    ],
)
def test_docstrings_say_deprecated(obj):
    assert 'Deprecated' in obj.__doc__
