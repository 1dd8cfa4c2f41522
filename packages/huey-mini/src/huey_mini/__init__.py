"""MiniHuey: a tiny huey on gevent, in your application process.

>>> from huey_mini import MiniHuey, crontab
>>> mini = MiniHuey()
>>> @mini.task()
... def add(a, b):
...     return a + b
>>> add(1, 2).get()
3
"""

from __future__ import annotations

from huey_crontab import crontab

from .minihuey import MiniHuey
from .result import MiniResult, ResultTimeout
from .task import MiniTask

__all__ = ['MiniHuey', 'MiniResult', 'MiniTask', 'ResultTimeout', 'crontab']
__version__ = '0.1.0'
