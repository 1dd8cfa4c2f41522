"""Constants shared by huey modules."""

from __future__ import annotations

from huey_storage import EmptyData

__all__ = ['AT_LEAST_ONCE', 'AT_MOST_ONCE', 'DELIVERY_MODES', 'EmptyData']

AT_LEAST_ONCE = 'at-least-once'
AT_MOST_ONCE = 'at-most-once'
DELIVERY_MODES = (AT_LEAST_ONCE, AT_MOST_ONCE)
