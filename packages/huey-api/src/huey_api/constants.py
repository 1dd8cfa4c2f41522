"""Constants shared by huey modules."""

from __future__ import annotations

from huey_storage import EmptyData

__all__ = [
    'AT_LEAST_ONCE',
    'AT_MOST_ONCE',
    'CHORD_PREFIX',
    'DELIVERY_MODES',
    'EmptyData',
    'LOCK_KEY',
    'PERIODIC_PREFIX',
    'RATE_LIMIT_KEY',
    'REVOCATION_CLEARING',
    'REVOCATION_COUNT',
    'REVOKED_FLAG',
    'REVOKE_PREFIX',
    'SEEN_PREFIX',
]

AT_LEAST_ONCE = 'at-least-once'
AT_MOST_ONCE = 'at-most-once'
DELIVERY_MODES = (AT_LEAST_ONCE, AT_MOST_ONCE)

# Data keys, as huey lays them out (so tools written for huey find them).
#: a lock held with ``lock_task`` (``locks.lock_key``)
LOCK_KEY = '{huey}.lock.{name}'
#: a rate limit's counter for one window (``locks.RateLimit``)
RATE_LIMIT_KEY = '{huey}.rl.{name}.{window}'
#: a revocation: REVOKE_PREFIX + task id or task name
REVOKE_PREFIX = 'r:'

# Data keys and counters of huey-api's own bookkeeping (see ``revocation``).
#: present while a revocation may exist, so workers skip the per-task check otherwise
REVOKED_FLAG = 'huey:revocations'
#: counter: never less than the revocations that exist
REVOCATION_COUNT = 'huey:revocations:count'
#: held for a moment while the last revocation's flag is cleared
REVOCATION_CLEARING = 'huey:revocations:clearing'
#: chord slots and fired flags
CHORD_PREFIX = 'chord:'
#: the per-minute claim of a periodic task (a counter)
PERIODIC_PREFIX = 'periodic:'
#: a signed message's claim (replay guard): SEEN_PREFIX + its signature in hex
SEEN_PREFIX = 'huey:seen:'
