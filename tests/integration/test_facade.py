"""The huey facade's compatibility modules with every distribution installed.

huey-api's ``test_facade_optional.py`` skips these checks when an optional
distribution is absent (its tox env installs huey-api alone). Here everything
is installed, so the same checks are collected and must pass: a missing
distribution is an import error, not a skip.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import huey_consumer  # noqa: F401  (required here: fail, never skip)
import huey_mini  # noqa: F401
import huey_storage_redis  # noqa: F401
import huey_storage_sql  # noqa: F401
import huey_storage_sqlite  # noqa: F401

_CHECKS = (
    Path(__file__).resolve().parents[2]
    / 'packages'
    / 'huey-api'
    / 'tests'
    / 'test_facade_optional.py'
)


def _load_checks():
    spec = importlib.util.spec_from_file_location('huey_api_facade_optional_checks', _CHECKS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_checks = _load_checks()

# The fixture-free per-module checks, collected here under their own names.
test_module_huey_consumer_gives_consumer_class = (
    _checks.test_module_huey_consumer_gives_consumer_class
)
test_module_huey_contrib_mini_runs_a_task = _checks.test_module_huey_contrib_mini_runs_a_task
test_module_huey_contrib_sql_huey_reexports = _checks.test_module_huey_contrib_sql_huey_reexports
test_module_huey_storage_gives_core_and_optional_storages = (
    _checks.test_module_huey_storage_gives_core_and_optional_storages
)
test_module_huey_api_exceptions_signals_constants = (
    _checks.test_module_huey_api_exceptions_signals_constants
)
test_module_huey_serializer_and_utils_round_trip = (
    _checks.test_module_huey_serializer_and_utils_round_trip
)
test_python_dash_m_huey_bin_huey_consumer_prints_help = (
    _checks.test_python_dash_m_huey_bin_huey_consumer_prints_help
)


def test_every_optional_facade_class_resolves():
    import huey

    for name in (
        'RedisHuey',
        'PriorityRedisHuey',
        'RedisExpireHuey',
        'PriorityRedisExpireHuey',
        'SqliteHuey',
        'SqlHuey',
    ):
        assert name in huey.__all__, name
        assert issubclass(getattr(huey, name), huey.Huey), name
