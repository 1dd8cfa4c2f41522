"""Envelopes: how a message travels with its delivery count and priority.

An envelope is ``<expired leases>:<priority>|<message bytes>``. The queue,
the leases hash and the schedule all hold envelopes, so requeueing a message
keeps its priority and counts its expired leases (see ``queue_lib.lua``).
"""

from __future__ import annotations

import re

__all__ = ['make_envelope', 'open_envelope']

_HEADER = re.compile(rb'\d+:-?\d+')


def make_envelope(data: bytes, priority: int) -> bytes:
    return b'0:%d|%s' % (priority, data)


def open_envelope(envelope: bytes) -> tuple[int, bytes]:
    """``(expired lease count, message)`` of an envelope."""
    header, bar, data = envelope.partition(b'|')
    if not bar or not _HEADER.fullmatch(header):
        return 0, envelope  # pushed without an envelope (another client): a first delivery
    return int(header.partition(b':')[0]), data
