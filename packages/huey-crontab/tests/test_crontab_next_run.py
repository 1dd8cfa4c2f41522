"""next_run / next_runs on Crontab and the module-level next_run helper."""

from __future__ import annotations

import datetime as dt

import huey_crontab
import pytest
from huey_crontab import crontab, crontab_from_string, next_run

D = dt.datetime


@pytest.mark.parametrize(
    'schedule, after, expected',
    [
        # strictly after: an exact match of `after` itself is skipped
        (crontab(minute='*/10'), D(2024, 5, 1, 10, 0), D(2024, 5, 1, 10, 10)),
        (crontab(minute='*/10'), D(2024, 5, 1, 9, 59, 59, 999999), D(2024, 5, 1, 10, 0)),
        (crontab(minute='*/10'), D(2024, 5, 1, 10, 0, 30), D(2024, 5, 1, 10, 10)),
        (crontab(), D(2024, 5, 1, 10, 0, 1), D(2024, 5, 1, 10, 1)),
        # seed: every 10 minutes 9-11 and 16-18
        (crontab(minute='*/10', hour='9-11,16-18'), D(2024, 5, 1, 11, 50), D(2024, 5, 1, 16, 0)),
        (crontab(minute='*/10', hour='9-11,16-18'), D(2024, 5, 1, 18, 50), D(2024, 5, 2, 9, 0)),
        (crontab(minute='0', hour='3'), D(2024, 5, 1, 3, 0), D(2024, 5, 2, 3, 0)),
        # year boundaries
        (crontab(minute='0', hour='0'), D(2024, 12, 31, 23, 59), D(2025, 1, 1, 0, 0)),
        (
            crontab(minute='30', hour='12', day='1', month='jan'),
            D(2024, 1, 1, 12, 30),
            D(2025, 1, 1, 12, 30),
        ),
        (
            crontab(month='dec', day='31', hour='23', minute='59'),
            D(2023, 12, 31, 23, 59),
            D(2024, 12, 31, 23, 59),
        ),
        # month ends: day 31 skips 30-day months and February
        (crontab(day='31', hour='0', minute='0'), D(2024, 1, 31, 0, 0), D(2024, 3, 31, 0, 0)),
        (crontab(day='31', hour='0', minute='0'), D(2024, 4, 1), D(2024, 5, 31, 0, 0)),
        (crontab(day='30', hour='0', minute='0'), D(2024, 1, 30, 0, 0), D(2024, 3, 30, 0, 0)),
        # Feb 29: only leap years (2100 is not one)
        (crontab(month='2', day='29', hour='0', minute='0'), D(2024, 2, 29, 0, 0), D(2028, 2, 29)),
        (crontab(month='2', day='29', hour='0', minute='0'), D(2096, 3, 1), D(2104, 2, 29)),
        (crontab(month='2', day='29', hour='0', minute='0'), D(2023, 6, 1), D(2024, 2, 29)),
        # 0 and 7 are both Sunday; 2024-05-05 is a Sunday
        (crontab(day_of_week='0', hour='0', minute='0'), D(2024, 5, 1), D(2024, 5, 5)),
        (crontab(day_of_week='7', hour='0', minute='0'), D(2024, 5, 1), D(2024, 5, 5)),
        (crontab(day_of_week='sat,sun', hour='0', minute='0'), D(2024, 5, 4, 0, 0), D(2024, 5, 5)),
        # Friday the 13th (day AND day_of_week)
        (crontab(day='13', day_of_week='5', hour='0', minute='0'), D(2024, 1, 1), D(2024, 9, 13)),
        # Feb 29 on a Monday: a long search, still correct
        (
            crontab(month='2', day='29', day_of_week='mon', hour='0', minute='0'),
            D(2025, 1, 1),
            D(2044, 2, 29),
        ),
        # string form
        (crontab_from_string('*/15 9-17 * * mon-fri'), D(2024, 5, 3, 17, 45), D(2024, 5, 6, 9, 0)),
        (crontab_from_string('@monthly'), D(2024, 1, 15), D(2024, 2, 1)),
        (crontab_from_string('@weekly'), D(2024, 5, 5), D(2024, 5, 12)),
    ],
)
def test_next_run(schedule, after, expected):
    found = schedule.next_run(after)
    assert found == expected
    assert schedule(found)


def test_next_run_at_the_end_of_time_returns_none():
    assert crontab().next_run(dt.datetime.max) is None
    assert crontab(month='1').next_run(D(9999, 6, 1)) is None
    assert crontab(minute='59', hour='23', day='31', month='12').next_run(
        D(9999, 12, 31, 23, 58)
    ) == D(9999, 12, 31, 23, 59)


def test_next_run_keeps_tzinfo():
    tz = dt.timezone.utc
    assert crontab(minute='0').next_run(D(2024, 1, 1, 5, 30, tzinfo=tz)) == D(
        2024, 1, 1, 6, 0, tzinfo=tz
    )


def test_next_runs_lists_consecutive_matches_across_a_year_end():
    assert crontab(minute='0', hour='*/8').next_runs(D(2024, 12, 31, 12, 0), 4) == [
        D(2024, 12, 31, 16, 0),
        D(2025, 1, 1, 0, 0),
        D(2025, 1, 1, 8, 0),
        D(2025, 1, 1, 16, 0),
    ]
    assert crontab().next_runs(D(2024, 1, 1), 0) == []
    assert crontab().next_runs(dt.datetime.max - dt.timedelta(minutes=2), 5) == [
        D(9999, 12, 31, 23, 58),
        D(9999, 12, 31, 23, 59),
    ]


def test_module_next_run_with_any_predicate():
    def on_quarter_past_odd_hours(value):
        return value.minute == 15 and value.hour % 2 == 1

    assert next_run(on_quarter_past_odd_hours, D(2024, 1, 1, 1, 15)) == D(2024, 1, 1, 3, 15)
    assert next_run(lambda value: False, D(2024, 1, 1), within=dt.timedelta(hours=2)) is None
    assert next_run(lambda value: value.second == 0, D(2024, 1, 1, 0, 0, 10)) == D(2024, 1, 1, 0, 1)


def test_module_next_run_bound_is_inclusive_and_applies_to_crontabs_too():
    schedule = crontab(minute='0', hour='0', day='1', month='1')
    assert next_run(schedule, D(2024, 6, 1)) == D(2025, 1, 1)
    assert next_run(schedule, D(2024, 6, 1), within=dt.timedelta(days=30)) is None
    assert next_run(lambda v: v.minute == 30, D(2024, 1, 1), within=dt.timedelta(minutes=30)) == D(
        2024, 1, 1, 0, 30
    )
    assert (
        next_run(lambda v: v.minute == 30, D(2024, 1, 1), within=dt.timedelta(minutes=29)) is None
    )
    assert next_run(crontab(), dt.datetime.max - dt.timedelta(seconds=30)) is None
    with pytest.raises(ValueError, match='within must not be negative'):
        next_run(crontab(), D(2024, 1, 1), within=dt.timedelta(minutes=-1))


def test_package_exports():
    assert set(huey_crontab.__all__) >= {'crontab', 'Crontab', 'crontab_from_string', 'next_run'}
