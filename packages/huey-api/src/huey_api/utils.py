"""Time and id helpers.

Every time huey stores is an epoch timestamp (seconds, float), so processes
in different time zones agree. Naive datetimes given by users are *local
time* (like ``datetime.datetime.now()``); aware datetimes are converted.
"""

from __future__ import annotations

import datetime
import os
import time

__all__ = [
    'describe_exception',
    'frame_timestamp',
    'make_id',
    'normalize_expire_time',
    'normalize_time',
    'resolve_expires',
    'to_datetime',
    'to_timestamp',
    'utcnow',
]

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


def frame_timestamp(value, utc: bool) -> float | None:
    """Epoch seconds for a time in huey's clock: a naive datetime is UTC when
    ``utc`` (what ``Task.eta`` and ``huey.now()`` return), else local time."""
    if utc and isinstance(value, datetime.datetime) and value.tzinfo is None:
        return (value - _EPOCH).total_seconds()
    return to_timestamp(value)


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


def utcnow() -> datetime.datetime:
    """The current time as a naive datetime in UTC."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def normalize_time(eta=None, delay=None, utc: bool = True) -> datetime.datetime:
    """A naive datetime in huey's frame (UTC when ``utc``, else local time)
    for exactly one of ``eta`` (datetime; naive means local) or ``delay``
    (seconds or timedelta from now; 0 means now)."""
    if (eta is None) == (delay is None):
        raise ValueError(
            f'normalize_time(eta={eta!r}, delay={delay!r}): give exactly one of '
            'eta (a datetime) or delay (seconds)'
        )
    if delay is not None:
        now = utcnow() if utc else datetime.datetime.now()
        if not isinstance(delay, datetime.timedelta):
            delay = datetime.timedelta(seconds=delay)
        return now + delay
    if not isinstance(eta, datetime.datetime):
        raise ValueError(f'eta={eta!r}: pass a datetime, or use delay= for seconds')
    if eta.utcoffset() is None:  # naive: local time
        if not utc:
            return eta
        return datetime.datetime.fromtimestamp(eta.timestamp(), datetime.timezone.utc).replace(
            tzinfo=None
        )
    if utc:
        return eta.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return datetime.datetime.fromtimestamp(eta.timestamp())


def normalize_expire_time(expires, utc: bool = True) -> datetime.datetime:
    """Absolute expiry (like ``normalize_time``) for a datetime or a delay in seconds."""
    if isinstance(expires, datetime.datetime):
        return normalize_time(eta=expires, utc=utc)
    return normalize_time(delay=expires, utc=utc)


def describe_exception(exc: BaseException, limit: int = 300) -> str:
    """``Type: message`` of ``exc``, at most ``limit`` characters; never raises
    (error paths use it on exceptions whose ``__str__`` may fail)."""
    try:
        text = f'{type(exc).__name__}: {exc}'
    except Exception:
        return f'{type(exc).__name__} (its message cannot be formatted)'
    return text if len(text) <= limit else text[: limit - 3] + '...'
