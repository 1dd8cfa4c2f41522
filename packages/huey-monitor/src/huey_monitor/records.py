"""The wire format of everything the monitor stores: keys and JSON records.

Every key lives under ``huey-monitor:`` in the application's own storage
(which already namespaces by the Huey's name), and nothing else in the
package builds a key or parses a stored record.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

__all__ = [
    'CHART_OUTCOMES',
    'DURATION_BUCKETS',
    'ConsumerRecord',
    'Event',
    'InFlight',
    'Keys',
    'decode_slot',
    'encode_slot',
]

PREFIX = 'huey-monitor:'

#: Outcomes counted per minute for the throughput/error chart.
CHART_OUTCOMES = ('enqueued', 'complete', 'error', 'retrying', 'dead-lettered')

#: Upper bounds (seconds) of the task duration histogram buckets.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


class Keys:
    """Names of the monitor's keys.

    Data keys (``put_data``/``peek_data``): ``settings``, ``names``, event
    slots, consumer heartbeats. Counters (``incr``, read back with
    ``peek_counters``; the storage keeps them apart from data keys):
    ``event_seq``, ``consumer_seq``, per-minute, total and duration counts.
    """

    settings = PREFIX + 'settings'
    event_seq = PREFIX + 'event-seq'
    consumer_seq = PREFIX + 'consumer-seq'
    names = PREFIX + 'task-names'

    @staticmethod
    def event_slot(seq: int, slots: int) -> str:
        return f'{PREFIX}events:{seq % slots}'

    @staticmethod
    def consumer(number: int, max_consumers: int) -> str:
        return f'{PREFIX}consumer:{number % max_consumers}'

    @staticmethod
    def minute(minute: int, outcome: str) -> str:
        return f'{PREFIX}minute:{minute}:{outcome}'

    @staticmethod
    def total(name: str, outcome: str) -> str:
        return f'{PREFIX}total:{outcome}:{name}'

    @staticmethod
    def duration_sum(name: str) -> str:
        """Total run time of ``name`` in microseconds (counters are integers)."""
        return f'{PREFIX}duration-us:{name}'

    @staticmethod
    def duration_bucket(name: str, bound: float) -> str:
        return f'{PREFIX}duration-le:{bound}:{name}'


@dataclass(frozen=True)
class Event:
    """One task event: ``signal`` is huey's signal name (``complete``, ``error``...).

    ``duration`` is the attempt's run time in seconds on the signal that ends
    an attempt; ``error`` the exception's repr on ``error``; ``consumer`` the
    id of the recording process; ``args`` a short repr of the arguments when
    the recorder captures them.
    """

    ts: float
    signal: str
    task_id: str
    name: str
    duration: float | None = None
    error: str | None = None
    consumer: str | None = None
    args: str | None = None

    @classmethod
    def from_list(cls, item: list) -> Event:
        return cls(*item[:8])

    def as_dict(self) -> dict:
        return {
            'ts': self.ts,
            'signal': self.signal,
            'task_id': self.task_id,
            'name': self.name,
            'duration': self.duration,
            'error': self.error,
            'consumer': self.consumer,
            'args': self.args,
        }


def encode_slot(seq: int, events: list[tuple]) -> bytes:
    """A slot's stored form; ``events`` are tuples in ``Event`` field order."""
    return json.dumps({'seq': seq, 'events': events}, separators=(',', ':')).encode()


def decode_slot(data: bytes) -> tuple[int, list[Event]]:
    """``(seq, events)`` of a stored slot; a damaged slot reads as empty."""
    try:
        stored = json.loads(data)
        return int(stored['seq']), [Event.from_list(item) for item in stored['events']]
    except (ValueError, KeyError, TypeError):
        return -1, []


@dataclass(frozen=True)
class InFlight:
    """A task running right now on a consumer: its id, name and start time."""

    task_id: str
    name: str
    started: float

    def as_dict(self) -> dict:
        return {'task_id': self.task_id, 'name': self.name, 'started': self.started}


@dataclass(frozen=True)
class ConsumerRecord:
    """A consumer process's heartbeat: who it is, since when, what it runs."""

    id: str
    host: str
    pid: int
    workers: int
    started: float
    last_seen: float
    in_flight: tuple[InFlight, ...] = field(default_factory=tuple)
    processed: int = 0

    def to_bytes(self) -> bytes:
        record = self.as_dict()
        return json.dumps(record).encode()

    @classmethod
    def from_bytes(cls, data: bytes) -> ConsumerRecord | None:
        try:
            stored = json.loads(data)
            return cls(
                id=stored['id'],
                host=stored['host'],
                pid=int(stored['pid']),
                workers=int(stored['workers']),
                started=float(stored['started']),
                last_seen=float(stored['last_seen']),
                in_flight=tuple(InFlight(**item) for item in stored.get('in_flight', ())),
                processed=int(stored.get('processed', 0)),
            )
        except (ValueError, KeyError, TypeError):
            return None

    def as_dict(self) -> dict:
        return {
            'id': self.id,
            'host': self.host,
            'pid': self.pid,
            'workers': self.workers,
            'started': self.started,
            'last_seen': self.last_seen,
            'in_flight': [item.as_dict() for item in self.in_flight],
            'processed': self.processed,
        }
