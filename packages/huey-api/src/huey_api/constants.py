"""Constants shared by huey modules."""

from __future__ import annotations

from huey_storage import EmptyData

__all__ = [
    'AT_LEAST_ONCE',
    'AT_MOST_ONCE',
    'CHORD_PREFIX',
    'DELIVERY_MODES',
    'EmptyData',
    'PERIODIC_PREFIX',
    'REVOKED_FLAG',
    'REVOKE_PREFIX',
    'SEEN_PREFIX',
]

AT_LEAST_ONCE = 'at-least-once'
AT_MOST_ONCE = 'at-most-once'
DELIVERY_MODES = (AT_LEAST_ONCE, AT_MOST_ONCE)

# Data keys of huey-api's own bookkeeping (lock keys follow huey's layout: locks.lock_key).
#: a revocation: REVOKE_PREFIX + task id or task name
REVOKE_PREFIX = 'r:'
#: present once anything was revoked, so workers skip the per-task check until then
REVOKED_FLAG = 'huey:revocations'
#: chord slots and fired flags
CHORD_PREFIX = 'chord:'
#: the per-minute claim of a periodic task (a counter)
PERIODIC_PREFIX = 'periodic:'
#: a signed message's claim (replay guard): SEEN_PREFIX + its signature in hex
SEEN_PREFIX = 'huey:seen:'
