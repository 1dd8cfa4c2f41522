"""The ``huey`` facade: names, modules and lazy optional pieces.

Absence of an optional distribution is simulated with
``sys.modules[name] = None`` (which makes importing it fail).
"""

from __future__ import annotations

import importlib
import sys
import types

import huey
import pytest
from huey import _optional


def test_core_names_import_from_huey():
    from huey import (  # noqa: F401
        BlackHoleHuey,
        CancelExecution,
        Huey,
        MemoryHuey,
        Result,
        ResultGroup,
        ResultTimeout,
        RetryTask,
        Task,
        TaskException,
        TaskLockedException,
        TaskWrapper,
        __version__,
        crontab,
    )

    assert isinstance(__version__, str)


def test_crontab_is_the_function_not_a_module():
    from huey import crontab

    assert not isinstance(crontab, types.ModuleType) and callable(crontab)
    assert callable(crontab(minute='*/5'))


def test_every_name_in_all_resolves():
    for name in huey.__all__:
        assert getattr(huey, name) is not None


def test_submodules_reexport():
    from huey.api import Huey, MemoryHuey  # noqa: F401
    from huey.constants import EmptyData
    from huey.exceptions import TaskException  # noqa: F401
    from huey.serializer import Serializer, SignedSerializer  # noqa: F401
    from huey.signals import SIGNAL_DEAD_LETTERED, SIGNAL_ERROR  # noqa: F401
    from huey.storage import BaseStorage, BlackHoleStorage, MemoryStorage  # noqa: F401
    from huey_storage import EmptyData as StorageEmptyData

    assert EmptyData is StorageEmptyData


def test_memory_and_blackhole_huey(run_all):
    from huey import BlackHoleHuey, MemoryHuey

    blackhole = BlackHoleHuey()

    @blackhole.task()
    def add(a, b):
        return a + b

    add(1, 2)
    assert len(blackhole) == 0 and blackhole.reserve() is None
    assert isinstance(MemoryHuey().storage, huey.storage.MemoryStorage)


def test_unknown_attribute_raises_attribute_error():
    with pytest.raises(AttributeError, match='NoSuchHuey'):
        huey.NoSuchHuey  # noqa: B018


@pytest.fixture
def forget(monkeypatch):
    """Make optional pieces look uninstalled: ``forget('huey_storage_redis')``."""
    monkeypatch.setattr(_optional, '_cache', {})
    for name in _optional.HUEY_CLASSES:
        monkeypatch.delitem(huey.__dict__, name, raising=False)

    def hide(*modules):
        for module in modules:
            monkeypatch.setitem(sys.modules, module, None)

    return hide


@pytest.mark.parametrize(
    'name, distribution',
    [
        ('RedisHuey', 'huey-storage-redis'),
        ('PriorityRedisHuey', 'huey-storage-redis'),
        ('RedisExpireHuey', 'huey-storage-redis'),
        ('PriorityRedisExpireHuey', 'huey-storage-redis'),
        ('SqliteHuey', 'huey-storage-sqlite'),
        ('SqlHuey', 'huey-storage-sql'),
    ],
)
def test_missing_distribution_error_names_it(forget, name, distribution):
    forget('huey_storage_redis', 'huey_storage_sqlite', 'huey_storage_sql')
    message = f'{name} needs the {distribution} distribution: pip install {distribution}'
    with pytest.raises(ImportError) as info:
        getattr(huey, name)
    assert str(info.value) == message
    with pytest.raises(ImportError, match=message):
        exec(f'from huey import {name}', {})
    assert name not in _optional.available([name])


def test_missing_storage_error_from_huey_storage(forget):
    forget('huey_storage_redis')
    import huey.storage

    with pytest.raises(ImportError, match='pip install huey-storage-redis'):
        huey.storage.RedisStorage  # noqa: B018


@pytest.mark.parametrize(
    'module, hidden, distribution',
    [
        ('huey.consumer', 'huey_consumer', 'huey-consumer'),
        ('huey.contrib.mini', 'huey_mini', 'huey-mini'),
        ('huey.contrib.sql_huey', 'huey_storage_sql', 'huey-storage-sql'),
        ('huey.contrib.stats', 'huey_monitor', 'huey-monitor'),
    ],
)
def test_compat_modules_explain_missing_distribution(
    forget, monkeypatch, module, hidden, distribution
):
    forget(hidden)
    monkeypatch.delitem(sys.modules, module, raising=False)
    with pytest.raises(ImportError, match=f'pip install {distribution}'):
        importlib.import_module(module)


def test_bin_script_explains_missing_consumer(forget):
    forget('huey_consumer', 'huey_consumer.cli')
    from huey.bin.huey_consumer import main

    with pytest.raises(ImportError, match='pip install huey-consumer'):
        main()
