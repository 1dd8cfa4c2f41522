"""Crontab schedules for huey: parse, match and find the next run.

>>> from huey_crontab import crontab
>>> every_ten = crontab(minute='*/10', hour='9-11,16-18')
>>> import datetime
>>> every_ten(datetime.datetime(2024, 5, 1, 16, 40))
True
>>> every_ten.next_run(datetime.datetime(2024, 5, 1, 11, 55))
datetime.datetime(2024, 5, 1, 16, 0)
"""

from __future__ import annotations

from .crontab import ALIASES, Crontab, crontab, crontab_from_string
from .schedule import DEFAULT_WITHIN, next_run

__all__ = ['ALIASES', 'Crontab', 'DEFAULT_WITHIN', 'crontab', 'crontab_from_string', 'next_run']
__version__ = '0.1.0'
