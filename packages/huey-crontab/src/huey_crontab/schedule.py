"""Next-run search for any datetime predicate (crontab or hand-written)."""

from __future__ import annotations

import datetime as _dt
from typing import Callable

from .crontab import Crontab

__all__ = ['next_run', 'DEFAULT_WITHIN']

#: How far :func:`next_run` looks ahead by default.
DEFAULT_WITHIN = _dt.timedelta(days=366)
_ONE_MINUTE = _dt.timedelta(minutes=1)


def next_run(
    validator: Callable[[_dt.datetime], bool],
    after: _dt.datetime,
    within: _dt.timedelta = DEFAULT_WITHIN,
) -> _dt.datetime | None:
    """First minute strictly after ``after`` for which ``validator`` is true.

    Works with any predicate taking a datetime (the ``validate_datetime``
    functions of periodic tasks). A :class:`Crontab` uses its fast calendar
    search; any other callable is tried minute by minute. Returns None when
    nothing matches within ``within`` of ``after`` (default 366 days).
    Candidates have second=0, microsecond=0 and ``after``'s tzinfo.
    """
    if within < _dt.timedelta(0):
        raise ValueError(f'next_run(within={within!r}): within must not be negative')
    try:
        limit = after + within
    except OverflowError:
        limit = _dt.datetime.max.replace(tzinfo=after.tzinfo)
    if isinstance(validator, Crontab):
        found = validator.next_run(after)
        return found if found is not None and found <= limit else None
    candidate = after.replace(second=0, microsecond=0)
    while True:
        try:
            candidate += _ONE_MINUTE
        except OverflowError:
            return None
        if candidate > limit:
            return None
        if validator(candidate):
            return candidate
