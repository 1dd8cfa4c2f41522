"""``huey.api``: the Huey classes, tasks and results (classic import path)."""

from huey_api.group import chord, group
from huey_api.huey import BlackHoleHuey, Huey, MemoryHuey
from huey_api.result import ChordResult, Result, ResultGroup
from huey_api.task import PeriodicTask, Task, TaskWrapper
from huey_crontab import crontab

from huey import _optional

__all__ = [
    'BlackHoleHuey',
    'ChordResult',
    'Huey',
    'MemoryHuey',
    'PeriodicTask',
    'Result',
    'ResultGroup',
    'Task',
    'TaskWrapper',
    'chord',
    'crontab',
    'group',
    *_optional.available(_optional.HUEY_CLASSES),
]


def __getattr__(name: str):
    if name in _optional.HUEY_CLASSES:
        return _optional.huey_class(name)
    if name == 'AsyncData':  # the 1.x result handle
        return _optional.load('huey.api.AsyncData', 'huey_legacy.api', 'AsyncData', 'huey-legacy')
    raise AttributeError(f'module {__name__!r} has no attribute {name!r}')
