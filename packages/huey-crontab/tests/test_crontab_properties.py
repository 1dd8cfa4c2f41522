"""Property tests: matching and next_run against an independent brute-force oracle.

The oracle never uses the package's parser: the strategy builds each field
spec from items whose matched values it computes itself.
"""

from __future__ import annotations

import datetime as dt

from huey_crontab import crontab, crontab_from_string
from hypothesis import given, settings
from hypothesis import strategies as st

MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec']
DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat']
BOUNDS = {
    'minute': (0, 59),
    'hour': (0, 23),
    'day': (1, 31),
    'month': (1, 12),
    'day_of_week': (0, 6),
}
MAX_MONTH_DAYS = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]


def spell(field, value, use_name):
    if use_name and field == 'month':
        return MONTHS[value - 1]
    if use_name and field == 'day_of_week':
        return DAYS[value % 7]
    return str(value)


@st.composite
def item(draw, field):
    """One spec item and the set of values it must match."""
    low, high = BOUNDS[field]
    kinds = ['star', 'every', 'value', 'range', 'range_step']
    if field == 'day_of_week':
        kinds.remove('every')  # refused, as huey refuses it
    kind = draw(st.sampled_from(kinds))
    if kind == 'star':
        return '*', set(range(low, high + 1))
    if kind == 'every':
        step = draw(st.integers(1, high - low + 1))
        return f'*/{step}', {v for v in range(low, high + 1) if (v - low) % step == 0}
    use_name = draw(st.booleans())
    top = 7 if field == 'day_of_week' and not use_name else high
    start = draw(st.integers(low, top))
    if kind == 'value':
        return spell(field, start, use_name), {start % 7 if field == 'day_of_week' else start}
    end = draw(st.integers(low, top))
    text = f'{spell(field, start, use_name)}-{spell(field, end, use_name)}'
    if start <= end:
        values = list(range(start, end + 1))
    else:  # wraps: on to the field's last value, then from its first
        values = [v for v in range(start, high + 1)] + [v for v in range(low, end + 1)]
    if kind == 'range_step':
        step = draw(st.integers(1, high - low + 1))
        text += f'/{step}'
        values = values[::step]
    if field == 'day_of_week':
        values = [v % 7 for v in values]
    return text, set(values)


@st.composite
def field_spec(draw, field):
    items = draw(st.lists(item(field), min_size=1, max_size=3))
    text = ','.join(t for t, _ in items)
    values = set().union(*(v for _, v in items))
    return text, values


@st.composite
def schedules(draw):
    specs = {f: draw(field_spec(f)) for f in BOUNDS}
    months, days = specs['month'][1], specs['day'][1]
    possible = any(d <= MAX_MONTH_DAYS[m - 1] for m in months for d in days)
    return {f: t for f, (t, _) in specs.items()}, {f: v for f, (_, v) in specs.items()}, possible


def oracle_matches(values, moment):
    return (
        moment.minute in values['minute']
        and moment.hour in values['hour']
        and moment.day in values['day']
        and moment.month in values['month']
        and (moment.weekday() + 1) % 7 in values['day_of_week']
    )


def oracle_next_run(values, after, years=60):
    """Day by day, then minute by minute within the first matching day."""
    moment = after.replace(second=0, microsecond=0) + dt.timedelta(minutes=1)
    day = moment.date()
    last = day + dt.timedelta(days=366 * years)
    while day <= last:
        if oracle_matches(
            values,
            dt.datetime(day.year, day.month, day.day, 0, 0).replace(
                hour=min(values['hour']), minute=min(values['minute'])
            ),
        ):
            start = moment if day == moment.date() else dt.datetime.combine(day, dt.time())
            while start.date() == day:
                if oracle_matches(values, start):
                    return start
                start += dt.timedelta(minutes=1)
        day += dt.timedelta(days=1)
    return None


datetimes = st.datetimes(min_value=dt.datetime(1990, 1, 1), max_value=dt.datetime(2200, 1, 1))


@settings(max_examples=300, deadline=None)
@given(schedules(), st.lists(datetimes, min_size=1, max_size=20))
def test_matching_agrees_with_the_oracle(schedule, moments):
    specs, values, possible = schedule
    if not possible:
        return
    built = crontab(**specs)
    assert built == crontab_from_string(
        ' '.join(specs[f] for f in ('minute', 'hour', 'day', 'month', 'day_of_week'))
    )
    for moment in moments:
        assert built(moment) == oracle_matches(values, moment)


@settings(max_examples=150, deadline=None)
@given(schedules(), datetimes)
def test_next_run_agrees_with_the_oracle(schedule, after):
    specs, values, possible = schedule
    if not possible:
        return
    found = crontab(**specs).next_run(after)
    assert found == oracle_next_run(values, after)


@settings(max_examples=100, deadline=None)
@given(schedules())
def test_never_matching_day_month_pairs_are_rejected(schedule):
    specs, _, possible = schedule
    try:
        crontab(**specs)
    except ValueError as exc:
        assert not possible and 'never matches' in str(exc)
    else:
        assert possible
