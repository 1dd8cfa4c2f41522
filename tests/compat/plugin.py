"""pytest plugin for the compat run (see run.py).

Points ``huey.tests`` at the scratch copy of huey's tests and applies two
lists, each line ``test_module.py::Class::test -> reason``:

* ``departures.txt``: where we differ on purpose (safer, or we support what
  huey refuses);
* ``gaps.txt``: what we do not match yet (work to do; empty when done).

Each listed test becomes a strict xfail carrying its reason, so one that
starts passing fails the run until its line is removed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

LISTS = ('departures.txt', 'gaps.txt')


def read_list(path: Path) -> dict[str, str]:
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
    here = Path(__file__).parent
    listed: dict[str, str] = {}
    for name in LISTS:
        for test_id, reason in read_list(here / name).items():
            if test_id in listed:
                raise pytest.UsageError(f'{test_id} is listed twice in {" and ".join(LISTS)}')
            listed[test_id] = f'{name[:-4]}: {reason}'
    config._huey_departures = listed


def pytest_collection_modifyitems(config, items) -> None:
    listed = dict(config._huey_departures)
    collected_modules = set()
    for item in items:
        test_id = item.nodeid.split('tests/', 1)[-1]
        collected_modules.add(test_id.split('::', 1)[0])
        reason = listed.pop(test_id, None)
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))
    # a listed test of a module that ran but was not collected: a stale line
    stale = [test_id for test_id in listed if test_id.split('::', 1)[0] in collected_modules]
    if stale:
        raise pytest.UsageError(
            'departures.txt / gaps.txt name tests that do not exist: ' + ', '.join(sorted(stale))
        )
