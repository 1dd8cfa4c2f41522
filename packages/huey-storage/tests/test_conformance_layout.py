"""The conformance suite's structure: inapplicable tests are never collected.

A test needing a second handle or processes must live in the mixin that asks
for the fixture it needs, never in ``StorageConformance``, so a storage that
cannot provide it simply does not inherit the test (instead of skipping it).
"""

from __future__ import annotations

import inspect

import pytest
from huey_storage.testing import (
    MultiProcessConformance,
    PriorityConformance,
    SharedStorageConformance,
    StorageConformance,
)

MIXINS = [PriorityConformance, SharedStorageConformance, MultiProcessConformance]


def _tests(cls) -> dict[str, object]:
    return {name: getattr(cls, name) for name in dir(cls) if name.startswith('test_')}


def _fixtures_requested(test) -> set[str]:
    return set(inspect.signature(test).parameters) - {'self'}


def test_single_handle_contract_needs_no_second_handle():
    needing = {
        name
        for name, test in _tests(StorageConformance).items()
        if _fixtures_requested(test) & {'storage_factory', 'other_storage_factory'}
    }
    assert needing == set()


@pytest.mark.parametrize('mixin', MIXINS, ids=lambda cls: cls.__name__)
def test_mixins_add_tests_without_shadowing_the_base(mixin):
    added = set(_tests(mixin))
    assert added, f'{mixin.__name__} adds no test'
    assert added.isdisjoint(_tests(StorageConformance))
    for other in MIXINS:
        if other is not mixin:
            assert added.isdisjoint(_tests(other))


def test_shared_and_process_tests_request_what_they_need():
    for name, test in _tests(SharedStorageConformance).items():
        assert _fixtures_requested(test) & {
            'storage_factory',
            'other_storage_factory',
            'handle_per_thread',
        }, name
    needing_factory = [
        name
        for name, test in _tests(MultiProcessConformance).items()
        if 'storage_factory' in _fixtures_requested(test)
    ]
    assert needing_factory == ['test_processes_deliver_each_message_once']


def test_no_suite_test_skips_itself_as_not_applicable():
    for cls in [StorageConformance, *MIXINS]:
        for name, test in _tests(cls).items():
            assert 'pytest.skip(' not in inspect.getsource(test), f'{cls.__name__}.{name}'
