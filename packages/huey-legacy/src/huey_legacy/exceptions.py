"""Exceptions of the 0.x/1.x API (``huey.exceptions`` re-exports them)."""

from __future__ import annotations

from huey_api.exceptions import HueyException, ResultTimeout

__all__ = ['DataStoreTimeout', 'QueueException']


class QueueException(HueyException):
    """Deprecated: a legacy queue or data store failed (0.x/1.x name)."""


class DataStoreTimeout(ResultTimeout):
    """Deprecated: ``AsyncData.get(blocking=True, timeout=...)`` got no result in
    time. A ``ResultTimeout``, so code written for today's huey catches it too."""
