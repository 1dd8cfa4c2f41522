"""Envelopes: how a message travels with its delivery count and priority.

An envelope is ``<expired leases>:<priority>|<message bytes>``. The queue,
the leases hash and the schedule all hold envelopes, so requeueing a message
keeps its priority and counts its expired leases (see ``queue_lib.lua``).
"""

from __future__ import annotations

__all__ = ['check_priority', 'make_envelope', 'open_envelope']


def check_priority(priority: int | None) -> int:
    if priority is None:
        return 0
    try:
        value = int(priority)
    except (TypeError, ValueError):
        value = None
    if value is None or value != priority:
        raise ValueError(f'priority must be an integer or None, got {priority!r}')
    return value


def make_envelope(data: bytes, priority: int) -> bytes:
    return b'0:%d|%s' % (priority, data)


def open_envelope(envelope: bytes) -> tuple[int, bytes]:
    """``(expired lease count, message)`` of an envelope."""
    header, _, data = envelope.partition(b'|')
    return int(header.partition(b':')[0]), data
