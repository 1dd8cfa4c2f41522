"""Time and id helpers.

Every time huey stores is an epoch timestamp (seconds, float), so processes
in different time zones agree. Naive datetimes given by users are *local
time* (like ``datetime.datetime.now()``); aware datetimes are converted.
"""

from __future__ import annotations

import datetime
import os
import time

__all__ = ['make_id', 'resolve_expires', 'to_datetime', 'to_timestamp']

_EPOCH = datetime.datetime(1970, 1, 1)


_VERSION_MASK = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_BITS = (0x4000 << 64) | (0x8000 << 48)
_ID_BATCH = 256
_ids: list[str] = []


def _refill_ids() -> None:
    data = os.urandom(16 * _ID_BATCH)
    from_bytes = int.from_bytes
    _ids.extend(
        '%032x' % (from_bytes(data[i : i + 16], 'big') & _VERSION_MASK | _VERSION_BITS)
        for i in range(0, len(data), 16)
    )


def make_id() -> str:
    """A new task id: a random uuid4 as 32 hex digits.

    Ids come from a batch of ``os.urandom`` bytes (uuid.uuid4() costs more
    than the rest of enqueueing); the batch is dropped in a forked child so
    parent and child never share ids.
    """
    try:
        return _ids.pop()
    except IndexError:
        _refill_ids()
        return _ids.pop()


if hasattr(os, 'register_at_fork'):
    os.register_at_fork(after_in_child=_ids.clear)


def to_timestamp(value) -> float | None:
    """Epoch seconds for ``value``: a datetime (naive means local), a number or None."""
    if value is None or isinstance(value, float):
        return value
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, (int,)) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f'{value!r} is not a datetime or an epoch timestamp')


def to_datetime(ts: float | None, utc: bool = True) -> datetime.datetime | None:
    """Naive datetime for epoch ``ts``: in UTC when ``utc`` else local time."""
    if ts is None:
        return None
    if utc:
        return _EPOCH + datetime.timedelta(seconds=ts)
    return datetime.datetime.fromtimestamp(ts)


def seconds(value) -> float:
    """``value`` (number or timedelta) as float seconds."""
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    return float(value)


def resolve_expires(expires, now: float | None = None) -> float | None:
    """Absolute epoch deadline for ``expires``: seconds/timedelta from now, or a datetime."""
    if expires is None:
        return None
    if isinstance(expires, datetime.datetime):
        return expires.timestamp()
    return (time.time() if now is None else now) + seconds(expires)
