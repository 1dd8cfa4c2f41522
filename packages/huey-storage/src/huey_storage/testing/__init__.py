"""Test support for storage packages: the conformance suite and service checks.

Needs pytest, which huey-storage does not install itself
(``pip install huey-storage[testing]``).
"""

import pytest

# Show the values in failed asserts of the suite, as in a test module. Must run
# before the suite modules are imported.
pytest.register_assert_rewrite(
    *(
        'huey_storage.testing.' + module
        for module in (
            '_helpers',
            'conformance',
            'suite_concurrency',
            'suite_counters',
            'suite_data',
            'suite_edges',
            'suite_leases',
            'suite_priority',
            'suite_processes',
            'suite_queue',
            'suite_schedule',
        )
    )
)

from huey_storage.testing.conformance import (  # noqa: E402
    MultiProcessConformance,
    PriorityConformance,
    SharedStorageConformance,
    StorageConformance,
)

__all__ = [
    'MultiProcessConformance',
    'PriorityConformance',
    'SharedStorageConformance',
    'StorageConformance',
]
