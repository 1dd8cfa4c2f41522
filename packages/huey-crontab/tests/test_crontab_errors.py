"""Bad input always raises ValueError at declaration, naming field and token."""

from __future__ import annotations

import re

import pytest
from huey_crontab import crontab, crontab_from_string


@pytest.mark.parametrize(
    'kwargs, message',
    [
        ({'minute': '61'}, "crontab(minute='61'): minute must be 0-59, got '61'"),
        ({'minute': 60}, "crontab(minute=60): minute must be 0-59, got '60'"),
        ({'hour': '24'}, "crontab(hour='24'): hour must be 0-23, got '24'"),
        ({'day': '0'}, "crontab(day='0'): day must be 1-31, got '0'"),
        ({'day': '32'}, "crontab(day='32'): day must be 1-31, got '32'"),
        ({'month': '13'}, "crontab(month='13'): month must be 1-12, got '13'"),
        ({'month': '0'}, "crontab(month='0'): month must be 1-12, got '0'"),
        ({'day_of_week': '8'}, "crontab(day_of_week='8'): day_of_week must be 0-7, got '8'"),
        ({'minute': '50-70'}, "crontab(minute='50-70'): minute must be 0-59, got '50-70'"),
        ({'minute': '1,99'}, "crontab(minute='1,99'): minute must be 0-59, got '99'"),
        ({'minute': '*/0'}, "crontab(minute='*/0'): minute step must be at least 1, got '*/0'"),
        (
            {'minute': '1-10/0'},
            "crontab(minute='1-10/0'): minute step must be at least 1, got '1-10/0'",
        ),
        ({'minute': '*/61'}, "crontab(minute='*/61'): minute step must be at most 60, got '*/61'"),
        ({'minute': '*/x'}, "crontab(minute='*/x'): minute step must be a whole number, got '*/x'"),
        (
            {'day_of_week': '*/3'},
            "crontab(day_of_week='*/3'): day_of_week does not take a step over '*/3'",
        ),
        ({'minute': ''}, "crontab(minute=''): minute is empty; use '*'"),
        ({'minute': '   '}, "crontab(minute='   '): minute is empty"),
        ({'minute': '1,,2'}, "crontab(minute='1,,2'): minute has an empty item in '1,,2'"),
        ({'minute': '1,'}, "crontab(minute='1,'): minute has an empty item"),
        ({'minute': 'abc'}, "crontab(minute='abc'): minute: cannot parse 'abc'"),
        ({'minute': '-5'}, "crontab(minute='-5'): minute must be 0-59, got '-5'"),
        ({'minute': '1.5'}, "crontab(minute='1.5'): minute: cannot parse '1.5'"),
        ({'minute': '5-'}, "crontab(minute='5-'): minute: cannot parse '5-'"),
        ({'minute': '1-2-3'}, "crontab(minute='1-2-3'): minute: cannot parse '1-2-3'"),
        ({'minute': '**'}, "crontab(minute='**'): minute: cannot parse '**'"),
        ({'minute': '*-5'}, "crontab(minute='*-5'): minute: cannot parse '*-5'"),
        ({'minute': '1/2/3'}, "crontab(minute='1/2/3'): minute: cannot parse '1/2/3'"),
        ({'minute': 'jan'}, "crontab(minute='jan'): minute: cannot parse 'jan'"),
        ({'month': 'sun'}, "crontab(month='sun'): month: cannot parse 'sun'"),
        ({'month': 'january'}, "crontab(month='january'): month: cannot parse 'january'"),
        (
            {'day_of_week': 'monday'},
            "crontab(day_of_week='monday'): day_of_week: cannot parse 'monday'",
        ),
        ({'minute': 1.5}, "crontab(minute=1.5): minute must be a string such as '*/5' or an int"),
        ({'minute': True}, 'crontab(minute=True): minute must be a string'),
        ({'minute': None}, 'crontab(minute=None): minute must be a string'),
        ({'minute': -1}, "crontab(minute=-1): minute must be 0-59, got '-1'"),
        ({'hour': '-3'}, "crontab(hour='-3'): hour must be 0-23, got '-3'"),
        (
            {'day': 31, 'month': 'feb'},
            "crontab(day=31, month='feb'): never matches: no month in month='feb' has a day",
        ),
        ({'day': '30,31', 'month': '2'}, 'never matches'),
        ({'day': '31', 'month': '4,6,9,11'}, 'never matches'),
    ],
)
def test_bad_input_raises_value_error_naming_field_and_token(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        crontab(**kwargs)


@pytest.mark.parametrize('strict', [False, True])
def test_errors_raise_whatever_strict_says(strict):
    with pytest.raises(ValueError, match='minute must be 0-59'):
        crontab(minute='61', strict=strict)


def test_day_of_week_star_step_error_says_what_to_write_instead():
    with pytest.raises(ValueError, match=re.escape("e.g. '0,3,6', or step over a range")):
        crontab(day_of_week='*/1')


def test_february_29th_is_allowed_because_leap_years_have_it():
    assert crontab(month='2', day='29').days == frozenset({29})
    assert crontab(month='2,3', day='31').months == frozenset({2, 3})


@pytest.mark.parametrize(
    'expression, message',
    [
        ('61 * * * *', "crontab_from_string('61 * * * *'): minute must be 0-59, got '61'"),
        ('* 24 * * *', "crontab_from_string('* 24 * * *'): hour must be 0-23, got '24'"),
        ('* * * * 8', "crontab_from_string('* * * * 8'): day_of_week must be 0-7, got '8'"),
        (
            '* * * *',
            "crontab_from_string('* * * *'): expected 5 fields "
            '(minute hour day month day_of_week), got 4',
        ),
        ('* * * * * *', 'got 6'),
        ('', 'got 0'),
        ('@reboot', "crontab_from_string('@reboot'): unknown alias; expected one of @yearly"),
        ('0 0 31 2 *', "crontab_from_string('0 0 31 2 *'): never matches"),
    ],
)
def test_string_form_errors(expression, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        crontab_from_string(expression)


def test_string_form_rejects_non_strings():
    with pytest.raises(ValueError, match='expected a string'):
        crontab_from_string(5)


def test_next_runs_rejects_negative_counts():
    with pytest.raises(ValueError, match='n must be >= 0'):
        crontab().next_runs(__import__('datetime').datetime(2024, 1, 1), -1)
