"""The :class:`Crontab` schedule, the :func:`crontab` factory and the string form.

Semantics (see README.md for the full comparison with Vixie cron):

* a datetime matches when **all five** fields match, including ``day`` *and*
  ``day_of_week`` (huey semantics; Vixie cron ORs those two when both are
  restricted);
* only the minute matters: seconds and microseconds are ignored, so a consumer
  may pass ``datetime.now()`` as is;
* the wall-clock fields of the datetime are used as they are; time zones are
  the caller's business (aware datetimes are neither converted nor rejected);
* bad input always raises :class:`ValueError` when the schedule is declared,
  naming the field and the offending token.
"""

from __future__ import annotations

import calendar
import datetime as _dt
from typing import Any

from .fields import FIELD_NAMES, FieldError, FieldSpec, normalize_spec, parse_field

__all__ = ['Crontab', 'crontab', 'crontab_from_string', 'ALIASES']

#: ``@alias`` forms accepted by :func:`crontab_from_string`.
ALIASES = {
    '@yearly': '0 0 1 1 *',
    '@annually': '0 0 1 1 *',
    '@monthly': '0 0 1 * *',
    '@weekly': '0 0 * * 0',
    '@daily': '0 0 * * *',
    '@midnight': '0 0 * * *',
    '@hourly': '0 * * * *',
}

# The longest each month can be (February in a leap year).
_MAX_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# The calendar repeats every 400 years (146097 days, a whole number of weeks),
# so a schedule with no match in 400 consecutive years never matches.
_SEARCH_YEARS = 400
_ONE_MINUTE = _dt.timedelta(minutes=1)


class Crontab:
    """A parsed crontab schedule; call it with a datetime to test a match.

    ``Crontab(month='*', day='*', day_of_week='*', hour='*', minute='*', strict=False)``
    takes the same arguments as :func:`crontab`. Instances are immutable,
    hashable and compare equal when they match the same minutes (``'*/30'``
    equals ``'0,30'``; ``day_of_week='7'`` equals ``'0'``).

    Attributes: the normalized spec strings ``minute``, ``hour``, ``day``,
    ``month``, ``day_of_week`` and the parsed frozensets ``minutes``,
    ``hours``, ``days``, ``months``, ``days_of_week`` (0=Sunday..6=Saturday).
    """

    __slots__ = (
        'minute',
        'hour',
        'day',
        'month',
        'day_of_week',
        'strict',
        'minutes',
        'hours',
        'days',
        'months',
        'days_of_week',
        '_sorted',
    )

    def __init__(
        self,
        month: FieldSpec = '*',
        day: FieldSpec = '*',
        day_of_week: FieldSpec = '*',
        hour: FieldSpec = '*',
        minute: FieldSpec = '*',
        strict: bool = False,
        *,
        _caller: str | None = None,
    ) -> None:
        given = {
            'minute': minute,
            'hour': hour,
            'day': day,
            'month': month,
            'day_of_week': day_of_week,
        }
        prefix = _caller or _call_repr('crontab', given)
        parsed: dict[str, frozenset[int]] = {}
        for name in FIELD_NAMES:
            try:
                parsed[name] = parse_field(name, given[name])
            except FieldError as exc:
                raise ValueError(f'{prefix}: {exc}') from None
            spec = ','.join(item.strip() for item in normalize_spec(name, given[name]).split(','))
            object.__setattr__(self, name, spec)
        if not any(d <= _MAX_MONTH_DAYS[m - 1] for m in parsed['month'] for d in parsed['day']):
            raise ValueError(
                f'{prefix}: never matches: no month in month={self.month!r} '
                f'has a day in day={self.day!r}'
            )
        object.__setattr__(self, 'strict', bool(strict))
        object.__setattr__(self, 'minutes', parsed['minute'])
        object.__setattr__(self, 'hours', parsed['hour'])
        object.__setattr__(self, 'days', parsed['day'])
        object.__setattr__(self, 'months', parsed['month'])
        object.__setattr__(self, 'days_of_week', parsed['day_of_week'])
        object.__setattr__(self, '_sorted', tuple(sorted(parsed[n]) for n in FIELD_NAMES))

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f'Crontab is immutable; build a new one instead of setting {name!r}')

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f'Crontab is immutable; cannot delete {name!r}')

    # -- matching ---------------------------------------------------------

    def __call__(self, dt: _dt.datetime) -> bool:
        """True when ``dt``'s minute matches every field (seconds ignored)."""
        return (
            dt.minute in self.minutes
            and dt.hour in self.hours
            and dt.day in self.days
            and dt.month in self.months
            and dt.isoweekday() % 7 in self.days_of_week
        )

    def next_run(self, after: _dt.datetime) -> _dt.datetime | None:
        """The first matching minute strictly after ``after``.

        The result has second=0, microsecond=0 and ``after``'s tzinfo (the
        search runs on wall-clock fields). The search walks matching months,
        days and hours, never minute by minute. It returns None only when no
        match exists before ``datetime.max`` (every accepted schedule matches
        at least once in any 400 years, since never-matching day/month
        combinations are rejected at declaration).
        """
        start = after.replace(second=0, microsecond=0, tzinfo=None)
        try:
            start += _ONE_MINUTE
        except OverflowError:
            return None
        found = self._search(start)
        return None if found is None else found.replace(tzinfo=after.tzinfo)

    def next_runs(self, after: _dt.datetime, n: int) -> list[_dt.datetime]:
        """The next ``n`` matching minutes after ``after`` (fewer near datetime.max)."""
        if n < 0:
            raise ValueError(f'next_runs(n={n!r}): n must be >= 0')
        runs: list[_dt.datetime] = []
        current = after
        while len(runs) < n:
            found = self.next_run(current)
            if found is None:
                break
            runs.append(found)
            current = found
        return runs

    def _search(self, start: _dt.datetime) -> _dt.datetime | None:
        days, months = self._sorted[2], self._sorted[3]
        start_day = start.date()
        last_year = min(start.year + _SEARCH_YEARS, _dt.MAXYEAR)
        for year in range(start.year, last_year + 1):
            for month in months:
                if (year, month) < (start.year, start.month):
                    continue
                month_days = calendar.monthrange(year, month)[1]
                for day in days:
                    if day > month_days:
                        break
                    date = _dt.date(year, month, day)
                    if date < start_day or date.isoweekday() % 7 not in self.days_of_week:
                        continue
                    found = self._first_time(date, start if date == start_day else None)
                    if found is not None:
                        return found
        return None

    def _first_time(self, date: _dt.date, start: _dt.datetime | None) -> _dt.datetime | None:
        minutes, hours = self._sorted[0], self._sorted[1]
        for hour in hours:
            if start is not None and hour < start.hour:
                continue
            for minute in minutes:
                if start is not None and hour == start.hour and minute < start.minute:
                    continue
                return _dt.datetime(date.year, date.month, date.day, hour, minute)
        return None

    # -- introspection ----------------------------------------------------

    def as_dict(self) -> dict[str, str]:
        """The five normalized spec strings, in cron order."""
        return {name: getattr(self, name) for name in FIELD_NAMES}

    def to_string(self) -> str:
        """The standard five-field form: ``'minute hour day month day_of_week'``."""
        return ' '.join(getattr(self, name).replace(' ', '') for name in FIELD_NAMES)

    def _key(self) -> tuple[frozenset[int], ...]:
        return (self.minutes, self.hours, self.days, self.months, self.days_of_week)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Crontab):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        args = {name: value for name, value in self.as_dict().items() if value != '*'}
        if self.strict:
            args['strict'] = True
        return _call_repr('Crontab', args)

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            Crontab,
            (self.month, self.day, self.day_of_week, self.hour, self.minute, self.strict),
        )


def crontab(
    month: FieldSpec = '*',
    day: FieldSpec = '*',
    day_of_week: FieldSpec = '*',
    hour: FieldSpec = '*',
    minute: FieldSpec = '*',
    strict: bool = False,
) -> Crontab:
    """Build a schedule that matches datetimes whose minute fits every field.

    Each field takes ``*``, ``*/n``, ``m``, ``m-n``, ``m-n/s``, ``m/s`` or a
    comma-separated list of these, as a string or an int. Ranges: minute 0-59,
    hour 0-23, day 1-31, month 1-12 (or jan..dec), day_of_week 0-6 with
    0=Sunday (7 is also Sunday; names sun..sat). A range whose start is after
    its end wraps, as in huey (``hour='22-2'``); day_of_week refuses ``*/n``,
    as huey does. Day and day_of_week are ANDed (huey), unlike Vixie cron
    which ORs them when both are restricted. Shortcuts: ``crontab.hourly()``,
    ``crontab.daily()``.

    Invalid input always raises ValueError naming the field and token, e.g.
    ``crontab(minute='61'): minute must be 0-59, got '61'``. ``strict`` is
    accepted for compatibility with huey, where it turned silently ignored
    bad tokens into errors; here bad tokens are always errors, so it changes
    nothing (it does not require seconds to be zero: consumers pass
    timestamps with seconds).
    """
    return Crontab(
        month=month, day=day, day_of_week=day_of_week, hour=hour, minute=minute, strict=strict
    )


def _hourly(**fields: Any) -> Crontab:
    """Minute 0 of every hour; keywords override fields (``crontab.hourly(hour='9-17')``)."""
    return crontab(**{'minute': '0', **fields})


def _daily(**fields: Any) -> Crontab:
    """Midnight every day; keywords override fields (``crontab.daily(hour='3')``)."""
    return crontab(**{'minute': '0', 'hour': '0', **fields})


# huey's shortcuts hang off the factory: ``crontab.hourly()``, ``crontab.daily()``.
crontab.hourly = _hourly  # type: ignore[attr-defined]
crontab.daily = _daily  # type: ignore[attr-defined]


def crontab_from_string(expression: str) -> Crontab:
    """Parse ``'minute hour day month day_of_week'`` or an ``@alias``.

    Example: ``crontab_from_string('*/15 9-17 * * mon-fri')``. Aliases:
    ``@hourly``, ``@daily`` (``@midnight``), ``@weekly``, ``@monthly``,
    ``@yearly`` (``@annually``). Same value syntax and errors as
    :func:`crontab`, prefixed with ``crontab_from_string('...')``.
    """
    prefix = f'crontab_from_string({expression!r})'
    if not isinstance(expression, str):
        raise ValueError(f"{prefix}: expected a string such as '*/15 9-17 * * 1-5'")
    text = expression.strip()
    if text.startswith('@'):
        alias = ALIASES.get(text.lower())
        if alias is None:
            raise ValueError(f'{prefix}: unknown alias; expected one of {", ".join(ALIASES)}')
        text = alias
    parts = text.split()
    if len(parts) != len(FIELD_NAMES):
        raise ValueError(
            f'{prefix}: expected 5 fields (minute hour day month day_of_week), got {len(parts)}'
        )
    fields = dict(zip(FIELD_NAMES, parts))
    return Crontab(**fields, _caller=prefix)


def _call_repr(func: str, args: dict[str, Any]) -> str:
    inner = ', '.join(f'{name}={value!r}' for name, value in args.items() if value != '*')
    return f'{func}({inner})'
