"""Accepted forms, names, ints, normalization, equality and repr."""

from __future__ import annotations

import datetime as dt
import pickle

import pytest
from huey_crontab import Crontab, crontab, crontab_from_string


@pytest.mark.parametrize(
    'field, spec, expected',
    [
        ('minute', '*', set(range(60))),
        ('minute', '*/15', {0, 15, 30, 45}),
        ('minute', '*/60', {0}),
        ('minute', '7', {7}),
        ('minute', '07', {7}),
        ('minute', 7, {7}),
        ('minute', 0, {0}),
        ('minute', '10-14', {10, 11, 12, 13, 14}),
        ('minute', '10-30/10', {10, 20, 30}),
        ('minute', '10-35/10', {10, 20, 30}),
        ('minute', '50/4', {50, 54, 58}),
        ('minute', '1,2,3', {1, 2, 3}),
        ('minute', '1, 2 ,3', {1, 2, 3}),
        ('minute', '0-4,*/20,59', {0, 1, 2, 3, 4, 20, 40, 59}),
        ('minute', '5,5,5', {5}),
        ('hour', '*/4', {0, 4, 8, 12, 16, 20}),
        ('hour', '9-11,16-18', {9, 10, 11, 16, 17, 18}),
        ('hour', 23, {23}),
        ('day', '*/10', {1, 11, 21, 31}),
        ('day', '31', {31}),
        ('day', '1-31/15', {1, 16, 31}),
        ('month', '*/3', {1, 4, 7, 10}),
        ('month', 'jan', {1}),
        ('month', 'DEC', {12}),
        ('month', 'Jun-Aug', {6, 7, 8}),
        ('month', 'jan,apr,jul,oct', {1, 4, 7, 10}),
        ('month', 'feb-12/5', {2, 7, 12}),
        ('day_of_week', '*', set(range(7))),
        ('day_of_week', '0-6/2', {0, 2, 4, 6}),
        ('day_of_week', '7', {0}),
        ('day_of_week', 7, {0}),
        ('day_of_week', '0,7', {0}),
        ('day_of_week', '5-7', {5, 6, 0}),
        ('day_of_week', '0-7', set(range(7))),
        ('day_of_week', 'mon-fri', {1, 2, 3, 4, 5}),
        ('day_of_week', 'MON-Fri', {1, 2, 3, 4, 5}),
        ('day_of_week', 'sat,sun', {6, 0}),
        ('day_of_week', 'fri-sun', {5, 6, 0}),
        ('day_of_week', 'sun-tue', {0, 1, 2}),
        ('day_of_week', 'mon-sat/2', {1, 3, 5}),
        # Reversed ranges wrap past the end of the field; steps follow the wrapped run.
        ('hour', '22-2', {22, 23, 0, 1, 2}),
        ('hour', '22-4/2', {22, 0, 2, 4}),
        ('minute', '58-1', {58, 59, 0, 1}),
        ('day', '30-2', {30, 31, 1, 2}),
        ('month', 'nov-feb', {11, 12, 1, 2}),
        ('day_of_week', '5-1', {5, 6, 0, 1}),
        ('day_of_week', 'sat-mon', {6, 0, 1}),
        ('day_of_week', '7-2', {0, 1, 2}),
        ('day_of_week', '7-3/2', {0, 2}),
        ('day_of_week', '1-7/2', {1, 3, 5, 0}),
    ],
)
def test_field_forms(field, spec, expected):
    attr = {
        'minute': 'minutes',
        'hour': 'hours',
        'day': 'days',
        'month': 'months',
        'day_of_week': 'days_of_week',
    }[field]
    assert getattr(crontab(**{field: spec}), attr) == frozenset(expected)


def test_every_field_must_match():
    schedule = crontab(minute='30', hour='12', day='15', month='6', day_of_week='6')
    assert schedule(dt.datetime(2024, 6, 15, 12, 30))  # a Saturday
    assert not schedule(dt.datetime(2024, 6, 15, 12, 31))
    assert not schedule(dt.datetime(2024, 6, 15, 13, 30))
    assert not schedule(dt.datetime(2024, 7, 15, 12, 30))
    assert not schedule(dt.datetime(2025, 6, 15, 12, 30))  # a Sunday: day_of_week fails


def test_day_and_day_of_week_are_anded_not_ored_like_vixie():
    # Vixie cron would run on every 13th AND every Friday; huey only on Friday the 13th.
    friday_13th = crontab(day='13', day_of_week='fri', minute='0', hour='0')
    assert friday_13th(dt.datetime(2024, 9, 13))
    assert not friday_13th(dt.datetime(2024, 9, 6))  # a Friday, not the 13th
    assert not friday_13th(dt.datetime(2024, 8, 13))  # the 13th, a Tuesday
    assert friday_13th.next_run(dt.datetime(2024, 9, 14)) == dt.datetime(2024, 12, 13)


def test_seconds_and_microseconds_are_ignored_when_matching():
    schedule = crontab(minute='5')
    assert schedule(dt.datetime(2024, 1, 1, 0, 5, 59, 999999))
    assert crontab(minute='5', strict=True)(dt.datetime(2024, 1, 1, 0, 5, 30))


def test_aware_datetimes_match_on_their_wall_clock_fields():
    tz = dt.timezone(dt.timedelta(hours=5))
    schedule = crontab(minute='0', hour='9')
    assert schedule(dt.datetime(2024, 1, 1, 9, 0, tzinfo=tz))
    assert schedule.next_run(dt.datetime(2024, 1, 1, 8, 0, tzinfo=tz)) == dt.datetime(
        2024, 1, 1, 9, 0, tzinfo=tz
    )


def test_string_form_equals_keyword_form():
    assert crontab_from_string('*/15 9-17 * * 1-5') == crontab(
        minute='*/15', hour='9-17', day_of_week='1-5'
    )
    assert crontab_from_string('  0 3 1,15 jan-mar mon-fri ') == crontab(
        minute=0, hour=3, day='1,15', month='1-3', day_of_week='1-5'
    )


@pytest.mark.parametrize(
    'alias, expected',
    [
        ('@hourly', crontab(minute='0')),
        ('@daily', crontab(minute='0', hour='0')),
        ('@midnight', crontab(minute='0', hour='0')),
        ('@weekly', crontab(minute='0', hour='0', day_of_week='0')),
        ('@monthly', crontab(minute='0', hour='0', day='1')),
        ('@yearly', crontab(minute='0', hour='0', day='1', month='1')),
        ('@annually', crontab(minute='0', hour='0', day='1', month='1')),
        ('@DAILY', crontab(minute='0', hour='0')),
    ],
)
def test_aliases(alias, expected):
    assert crontab_from_string(alias) == expected


def test_equality_is_by_matched_values_and_hash_agrees():
    assert crontab(minute='*/30') == crontab(minute='0,30')
    assert hash(crontab(minute='*/30')) == hash(crontab(minute='0,30'))
    assert crontab(day_of_week=7) == crontab(day_of_week='sun')
    assert crontab(minute='1') != crontab(minute='2')
    assert crontab(minute='1') != '1 * * * *'
    assert len({crontab(hour='*/12'), crontab(hour='0,12'), crontab(hour='1')}) == 2


def test_repr_shows_restricted_fields_and_round_trips():
    schedule = crontab(minute='*/10', hour='9-11, 16-18')
    assert repr(schedule) == "Crontab(minute='*/10', hour='9-11,16-18')"
    assert eval(repr(schedule), {'Crontab': Crontab}) == schedule
    assert repr(crontab()) == 'Crontab()'
    assert repr(crontab(minute=5, strict=True)) == "Crontab(minute='5', strict=True)"


def test_introspection_attributes():
    schedule = crontab(minute=5, hour='9-11, 16-18', day_of_week='mon-fri')
    assert schedule.minute == '5'
    assert schedule.hour == '9-11,16-18'
    assert schedule.day_of_week == 'mon-fri'
    assert schedule.as_dict() == {
        'minute': '5',
        'hour': '9-11,16-18',
        'day': '*',
        'month': '*',
        'day_of_week': 'mon-fri',
    }
    assert schedule.to_string() == '5 9-11,16-18 * * mon-fri'
    assert crontab_from_string(schedule.to_string()) == schedule
    assert schedule.strict is False


def test_crontab_is_immutable_and_picklable():
    schedule = crontab(minute='*/5', strict=True)
    with pytest.raises(AttributeError, match='immutable'):
        schedule.minute = '1'
    with pytest.raises(AttributeError, match='immutable'):
        del schedule.minutes
    copy = pickle.loads(pickle.dumps(schedule))
    assert copy == schedule and copy.strict is True and repr(copy) == repr(schedule)


def test_crontab_class_takes_the_same_arguments_as_the_factory():
    assert Crontab(minute='*/5', hour=3) == crontab(minute='*/5', hour=3)
    assert isinstance(crontab(), Crontab)


def test_hourly_and_daily_shortcuts():
    assert crontab.hourly() == crontab(minute='0')
    assert crontab.daily() == crontab(minute='0', hour='0')
    assert crontab.daily(hour='3') == crontab(minute='0', hour='3')
    assert crontab.daily()(dt.datetime(2026, 4, 2, 0, 0))
    assert not crontab.hourly()(dt.datetime(2026, 4, 2, 5, 59))
