"""The five crontab fields and the parser for one field's specification.

A field spec is a comma-separated list of items; each item is one of
``*``, ``*/s`` (not on day_of_week), ``v``, ``v/s``, ``a-b`` or ``a-b/s``
where values are decimal numbers or, for ``month`` and ``day_of_week``,
English three-letter names. A range with ``a > b`` wraps past the field's
end, as in huey.
Parsing returns the frozenset of matching values or raises :class:`FieldError`
whose message names the field and the offending token (the caller adds the
``crontab(...)`` prefix).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Union

__all__ = ['Field', 'FieldError', 'FIELDS', 'FIELD_NAMES', 'parse_field', 'normalize_spec']

FieldSpec = Union[str, int]

_MONTH_NAMES = ('jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec')
_WEEKDAY_NAMES = ('sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat')

_ITEM = re.compile(
    r"""^(?:
        (?P<star>\*)
        | (?P<start>[0-9a-z]+) (?: - (?P<end>[0-9a-z]+) )?
    ) (?: / (?P<step>[^/]*) )?$""",
    re.VERBOSE,
)
_NUMBER = re.compile(r'^[0-9]+$')
_NEGATIVE = re.compile(r'^-[0-9]+$')


class FieldError(ValueError):
    """A field spec that cannot be used; the message names field and token."""


@dataclass(frozen=True)
class Field:
    """One crontab field: its name, its value range and the names it accepts.

    ``low``/``high`` bound the canonical values (what ``*`` means);
    ``accepted_high``, when set, is one more accepted value that maps onto
    ``low`` (day_of_week: 7 is Sunday, like 0).
    """

    name: str
    low: int
    high: int
    names: dict[str, int] = field(default_factory=dict)
    accepted_high: int | None = None  # day_of_week accepts 7 as Sunday

    @property
    def values(self) -> range:
        """Every canonical value of the field (what ``*`` means)."""
        return range(self.low, self.high + 1)

    @property
    def size(self) -> int:
        return self.high - self.low + 1

    def canonical(self, value: int) -> int:
        return 0 if self.accepted_high is not None and value == self.accepted_high else value


FIELDS: dict[str, Field] = {
    'minute': Field('minute', 0, 59),
    'hour': Field('hour', 0, 23),
    'day': Field('day', 1, 31),
    'month': Field('month', 1, 12, {n: i + 1 for i, n in enumerate(_MONTH_NAMES)}),
    'day_of_week': Field(
        'day_of_week', 0, 6, {n: i for i, n in enumerate(_WEEKDAY_NAMES)}, accepted_high=7
    ),
}
#: Field names in the order of the standard five-field string form.
FIELD_NAMES = ('minute', 'hour', 'day', 'month', 'day_of_week')


def normalize_spec(name: str, spec: FieldSpec) -> str:
    """Return the spec as a stripped string; ints become their decimal form."""
    if isinstance(spec, bool) or not isinstance(spec, (str, int)):
        raise FieldError(
            f"{name} must be a string such as '*/5' or an int, got {type(spec).__name__} {spec!r}"
        )
    if isinstance(spec, int):
        return str(spec)
    return spec.strip()


def parse_field(name: str, spec: FieldSpec) -> frozenset[int]:
    """Parse one field spec into the frozenset of values it matches."""
    fld = FIELDS[name]
    text = normalize_spec(name, spec)
    if not text:
        raise FieldError(f"{name} is empty; use '*' to match every {name}")
    values: set[int] = set()
    for raw_item in text.split(','):
        item = raw_item.strip()
        if not item:
            raise FieldError(f'{name} has an empty item in {text!r}; remove the extra comma')
        values.update(_parse_item(fld, item))
    return frozenset(values)


def _parse_item(fld: Field, item: str) -> list[int]:
    match = _ITEM.match(item.lower())
    if match is None:
        if _NEGATIVE.match(item):
            raise FieldError(_out_of_range(fld, item))
        raise FieldError(_unparsable(fld, item))
    step = _parse_step(fld, item, match.group('step'))
    if match.group('star'):
        if step is not None and fld.accepted_high is not None:
            raise FieldError(_weekday_star_step(fld, item))
        return list(range(fld.low, fld.high + 1, step or 1))
    start = _parse_value(fld, item, match.group('start'))
    end_token = match.group('end')
    if end_token is None:
        # 'v/s' runs from v to the end of the field; a bare 'v' is one value.
        end = fld.high if step is not None else start
        if start > end:  # day_of_week '7/2': Sunday alone
            end = start
        sequence = range(start, end + 1)
    else:
        end = _parse_value(fld, item, end_token)
        sequence = _range_or_wrap(fld, start, end)
    return [fld.canonical(v) for v in list(sequence)[:: step or 1]]


def _range_or_wrap(fld: Field, start: int, end: int) -> list[int]:
    """``start``..``end``; a reversed range wraps past the field's end ('22-2', 'fri-mon').

    Steps count along the wrapped sequence: hour '22-4/2' is 22, 0, 2, 4. On
    day_of_week 7 is Sunday, so '7-2' is Sunday to Tuesday.
    """
    if start <= end:
        return list(range(start, end + 1))
    return list(range(start, fld.high + 1)) + list(range(fld.low, end + 1))


def _parse_step(fld: Field, item: str, token: str | None) -> int | None:
    if token is None:
        return None
    if not _NUMBER.match(token):
        raise FieldError(f'{fld.name} step must be a whole number, got {item!r}')
    step = int(token)
    if step < 1:
        raise FieldError(f'{fld.name} step must be at least 1, got {item!r}')
    if step > fld.size:
        raise FieldError(
            f'{fld.name} step must be at most {fld.size}, got {item!r} '
            f'(cron cannot express intervals longer than the field)'
        )
    return step


def _parse_value(fld: Field, item: str, token: str) -> int:
    if _NUMBER.match(token):
        value = int(token)
        high = fld.accepted_high if fld.accepted_high is not None else fld.high
        if not fld.low <= value <= high:
            raise FieldError(_out_of_range(fld, item))
        return value
    if token in fld.names:
        return fld.names[token]
    raise FieldError(_unparsable(fld, item))


def _out_of_range(fld: Field, item: str) -> str:
    high = fld.accepted_high if fld.accepted_high is not None else fld.high
    return f'{fld.name} must be {fld.low}-{high}, got {item!r}'


def _unparsable(fld: Field, item: str) -> str:
    names = ''
    if fld.names:
        first, last = list(fld.names)[0], list(fld.names)[-1]
        names = f' (values may be numbers or names {first}..{last})'
    return (
        f"{fld.name}: cannot parse {item!r}; expected '*', '*/n', 'm', 'm-n', 'm-n/s' "
        f'or a comma-separated list of these{names}'
    )


def _weekday_star_step(fld: Field, item: str) -> str:
    return (
        f'{fld.name} does not take a step over {item!r} (huey refuses it: with 7 also '
        f"Sunday, the days it picks are ambiguous); list the days, e.g. '0,3,6', "
        f"or step over a range, e.g. '0-6/3'"
    )
