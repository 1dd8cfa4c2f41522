"""pytest plugin for the compat run (see run.py).

Points ``huey.tests`` at the scratch copy of huey's tests and applies
``departures.txt``: each listed test becomes a strict xfail carrying its
reason, so a departure that starts passing is reported too.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

DEPARTURES = Path(__file__).with_name('departures.txt')


def read_departures(path: Path = DEPARTURES) -> dict[str, str]:
    """``{test id: reason}`` from lines ``test_module.py::Class::test -> reason``."""
    departures = {}
    for number, line in enumerate(path.read_text('utf-8').splitlines(), 1):
        line = line.strip()
        if not line or line.startswith('#'):
            continue
        test_id, arrow, reason = line.partition(' -> ')
        if not arrow or not reason.strip():
            raise pytest.UsageError(
                f'{path.name}:{number}: expected "test id -> reason", got {line!r}'
            )
        departures[test_id.strip()] = reason.strip()
    return departures


def pytest_configure(config) -> None:
    import huey

    tests_parent = os.environ['HUEY_COMPAT_TESTS']
    if tests_parent not in huey.__path__:
        huey.__path__.append(tests_parent)
    config._huey_departures = read_departures()


def pytest_collection_modifyitems(config, items) -> None:
    departures = dict(config._huey_departures)
    for item in items:
        test_id = item.nodeid.split('tests/', 1)[-1]
        reason = departures.pop(test_id, None)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
    if departures:
        raise pytest.UsageError(
            'departures.txt names tests that do not exist: ' + ', '.join(sorted(departures))
        )
