"""One validated object for every monitor option, shared by writers and readers."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, fields

__all__ = ['MonitorSettings']


@dataclass(frozen=True)
class MonitorSettings:
    """How much the monitor keeps and how often it writes.

    ``max_events`` and ``max_age`` (seconds) bound the event log: readers see
    at most the last ``max_events`` events no older than ``max_age``, and the
    storage holds at most about twice ``max_events``. Events are buffered in
    each process and written every ``flush_interval`` seconds in slots of up to
    ``slot_size`` events, so recording costs a few storage round trips per
    second per process, not per task. A consumer process writes its heartbeat
    every ``heartbeat_interval`` seconds; one silent for three intervals is
    shown as gone.
    """

    max_events: int = 10_000
    max_age: float = 24 * 3600.0
    flush_interval: float = 1.0
    heartbeat_interval: float = 5.0
    slot_size: int = 250
    max_consumers: int = 64

    def __post_init__(self) -> None:
        for name in ('max_events', 'slot_size', 'max_consumers'):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f'{name}={value!r}: must be a whole number of at least 1')
        for name in ('max_age', 'flush_interval', 'heartbeat_interval'):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
                raise ValueError(f'{name}={value!r}: must be a number of seconds above 0')

    @property
    def slots(self) -> int:
        """Slots in the event ring: room for ``max_events`` even when half empty."""
        return 2 * math.ceil(self.max_events / self.slot_size)

    @property
    def events_per_flush(self) -> int:
        """Events one flush writes at most (the newest; the others are counted).

        One slot's worth: a busy queue's log is then a sample spanning many
        flushes, and each flush writes a slot or two, whatever the rate.
        Writing more would cost a busy consumer's storage a write of every
        event for a log that shows only the last few seconds.
        """
        return min(self.max_events, self.slot_size)

    @property
    def stale_after(self) -> float:
        """Seconds without a heartbeat after which a consumer counts as gone."""
        return 3 * self.heartbeat_interval

    def to_bytes(self) -> bytes:
        return json.dumps(asdict(self), sort_keys=True).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> MonitorSettings:
        """Settings stored by ``to_bytes``; unknown fields (a newer writer) are ignored."""
        stored = json.loads(data)
        known = {f.name for f in fields(cls)}
        return cls(**{key: value for key, value in stored.items() if key in known})
