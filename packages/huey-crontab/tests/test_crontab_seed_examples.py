"""Every crontab example from the huey docs (seeds 002, 003, 004), as a table."""

from __future__ import annotations

import datetime as dt

import pytest
from huey_crontab import crontab


def minutes_of_day(schedule, day=dt.date(2024, 5, 1)):
    """Every (hour, minute) of one day that the schedule matches."""
    start = dt.datetime.combine(day, dt.time())
    return [
        (t.hour, t.minute)
        for t in (start + dt.timedelta(minutes=i) for i in range(24 * 60))
        if schedule(t)
    ]


def test_every_ten_minutes_between_9_and_11_and_4p_and_6p():
    # Guide: "Runs every 10 minutes between 9a and 11a, and 4p-6p."
    schedule = crontab(minute='*/10', hour='9-11,16-18')
    expected = [(h, m) for h in (9, 10, 11, 16, 17, 18) for m in range(0, 60, 10)]
    assert minutes_of_day(schedule) == expected


@pytest.mark.parametrize(
    'kwargs, expected',
    [
        # every_three_minutes: crontab(minute='*/3')
        ({'minute': '*/3'}, [(h, m) for h in range(24) for m in range(0, 60, 3)]),
        # backup every day at 3am: crontab(minute='0', hour='3')
        ({'minute': '0', 'hour': '3'}, [(3, 0)]),
        # every_five_minutes: crontab(minute='*/5')
        ({'minute': '*/5'}, [(h, m) for h in range(24) for m in range(0, 60, 5)]),
        # MiniHuey run_backup: crontab(minute='0', hour='4')
        ({'minute': '0', 'hour': '4'}, [(4, 0)]),
        # send_notification_emails: crontab(minute='0', hour='*')
        ({'minute': '0', 'hour': '*'}, [(h, 0) for h in range(24)]),
        # backup: crontab(minute='0')
        ({'minute': '0'}, [(h, 0) for h in range(24)]),
    ],
    ids=[
        'every_three_minutes',
        'backup_at_3am',
        'every_five_minutes',
        'run_backup_at_4am',
        'hourly_notification_emails',
        'hourly_backup',
    ],
)
def test_seed_schedules_match_the_documented_minutes(kwargs, expected):
    assert minutes_of_day(crontab(**kwargs)) == expected


def test_every_fourth_hour_is_0_4_8_12_16_20():
    # Old API docs: "hours='*/4' == 0, 4, 8, 12, 16, 20"
    assert sorted(crontab(hour='*/4').hours) == [0, 4, 8, 12, 16, 20]


def test_range_is_inclusive_and_list_matches_each_value():
    assert sorted(crontab(hour='9-11').hours) == [9, 10, 11]
    assert sorted(crontab(minute='5,35').minutes) == [5, 35]


def test_star_matches_every_value():
    schedule = crontab()
    assert len(minutes_of_day(schedule)) == 24 * 60
    assert schedule.days_of_week == frozenset(range(7))
    assert schedule.days == frozenset(range(1, 32))
    assert schedule.months == frozenset(range(1, 13))


def test_day_of_week_zero_is_sunday_and_six_is_saturday():
    sunday, saturday = dt.datetime(2024, 5, 5), dt.datetime(2024, 5, 4)
    assert crontab(day_of_week='0')(sunday)
    assert not crontab(day_of_week='0')(saturday)
    assert crontab(day_of_week='6')(saturday)
