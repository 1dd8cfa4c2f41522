"""Read what the recorders stored: events, consumers, counts per minute and per task."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from typing import Any

from huey_storage import EmptyData

from .records import (
    CHART_OUTCOMES,
    DURATION_BUCKETS,
    ConsumerRecord,
    Event,
    Keys,
    decode_slot,
)
from .results import task_results
from .settings import MonitorSettings

__all__ = ['ConsumerView', 'MonitorReader', 'TaskTiming']

#: How long a consumer that vanished without unregistering stays listed.
_GONE_SHOWN_FOR = 3600.0

_TOTAL_OUTCOMES = (
    'enqueued',
    'scheduled',
    'complete',
    'error',
    'retrying',
    'revoked',
    'expired',
    'locked',
    'rate-limited',
    'canceled',
    'interrupted',
    'dead-lettered',
)


@dataclass(frozen=True)
class ConsumerView:
    """A consumer's last heartbeat and whether it is still beating."""

    record: ConsumerRecord
    alive: bool

    def as_dict(self) -> dict:
        return {**self.record.as_dict(), 'alive': self.alive}


@dataclass(frozen=True)
class TaskTiming:
    """Run times of one task name over the recent events (seconds)."""

    name: str
    count: int
    p50: float
    p95: float
    max: float

    def as_dict(self) -> dict:
        return {
            'name': self.name,
            'count': self.count,
            'p50': self.p50,
            'p95': self.p95,
            'max': self.max,
        }


class MonitorReader:
    """Reads one Huey's monitor data. Works whether or not this process records.

    The settings come from storage (written by the recorders), so a reader
    needs no configuration of its own; ``settings`` are the fallback when
    nothing was recorded yet.
    """

    def __init__(self, huey: Any, settings: MonitorSettings | None = None) -> None:
        self.huey = huey
        self._fallback = settings or MonitorSettings()

    @property
    def storage(self) -> Any:
        return self.huey.storage

    def settings(self) -> MonitorSettings:
        stored = self.storage.peek_data(Keys.settings)
        if stored is EmptyData:
            return self._fallback
        try:
            return MonitorSettings.from_bytes(stored)
        except (ValueError, TypeError):
            return self._fallback

    # -- events -----------------------------------------------------------

    def events(self, limit: int | None = None, since: float | None = None) -> list[Event]:
        """Recent events, newest first: at most ``max_events`` (and ``limit``),
        none older than ``max_age`` (or ``since``)."""
        settings = self.settings()
        keys = [Keys.event_slot(i, settings.slots) for i in range(settings.slots)]
        oldest = time.time() - settings.max_age
        if since is not None:
            oldest = max(oldest, since)
        events: list[Event] = []
        for value in self.storage.peek_data_many(keys):
            if value is not EmptyData:
                events.extend(e for e in decode_slot(value)[1] if e.ts >= oldest)
        events.sort(key=lambda e: e.ts, reverse=True)
        cap = settings.max_events if limit is None else min(limit, settings.max_events)
        return events[:cap]

    def timings(self, events: list[Event] | None = None) -> list[TaskTiming]:
        """Count, median, 95th percentile and max run time per task name."""
        durations: dict[str, list[float]] = {}
        for event in self.events() if events is None else events:
            if event.duration is not None:
                durations.setdefault(event.name, []).append(event.duration)
        timings = []
        for name, values in sorted(durations.items()):
            values.sort()
            timings.append(
                TaskTiming(
                    name=name,
                    count=len(values),
                    p50=statistics.median(values),
                    p95=values[min(len(values) - 1, int(0.95 * len(values)))],
                    max=values[-1],
                )
            )
        return timings

    # -- consumers --------------------------------------------------------

    def consumers(self, include_gone: bool = True) -> list[ConsumerView]:
        """Consumers with a heartbeat, oldest start first; one that stopped
        beating without unregistering (a crash) is shown as gone for an hour."""
        settings = self.settings()
        keys = [Keys.consumer(i, settings.max_consumers) for i in range(settings.max_consumers)]
        now = time.time()
        views = []
        for value in self.storage.peek_data_many(keys):
            if value is EmptyData:
                continue
            record = ConsumerRecord.from_bytes(value)
            if record is None or now - record.last_seen > min(settings.max_age, _GONE_SHOWN_FOR):
                continue
            alive = now - record.last_seen <= settings.stale_after
            if alive or include_gone:
                views.append(ConsumerView(record, alive))
        views.sort(key=lambda view: (view.record.started, view.record.id))
        return views

    # -- counters ---------------------------------------------------------

    def series(self, minutes: int = 60, now: float | None = None) -> dict[str, list]:
        """Per-minute counts of the chart outcomes over the last ``minutes``.

        ``{'minute': [epoch seconds of each minute, oldest first], 'complete':
        [...], 'error': [...], ...}``; the current, unfinished minute is last.
        """
        current = int((time.time() if now is None else now) // 60)
        minute_numbers = list(range(current - minutes + 1, current + 1))
        keys = [Keys.minute(m, outcome) for outcome in CHART_OUTCOMES for m in minute_numbers]
        counts = self.storage.peek_counters(keys)
        result: dict[str, list] = {'minute': [m * 60 for m in minute_numbers]}
        for index, outcome in enumerate(CHART_OUTCOMES):
            result[outcome] = counts[index * minutes : (index + 1) * minutes]
        return result

    def task_names(self) -> list[str]:
        """Task names recorded so far and those the application registers."""
        stored = self.storage.peek_data(Keys.names)
        names = set(stored.decode().split('\n')) - {''} if stored is not EmptyData else set()
        names.update(self.huey.registry.names())
        return sorted(names)

    def totals(self, names: list[str] | None = None) -> dict[str, dict[str, int]]:
        """Events counted since the monitor was enabled: ``{name: {outcome: n}}``."""
        names = self.task_names() if names is None else names
        keys = [Keys.total(name, outcome) for name in names for outcome in _TOTAL_OUTCOMES]
        counts = iter(self.storage.peek_counters(keys))
        return {name: {outcome: next(counts) for outcome in _TOTAL_OUTCOMES} for name in names}

    def durations(self, names: list[str] | None = None) -> dict[str, dict]:
        """Run time histograms: ``{name: {'buckets': [(bound, cumulative count)], 'count',
        'sum'}}`` with bounds in seconds, the last one ``inf``."""
        names = self.task_names() if names is None else names
        bounds: list[float | str] = [*DURATION_BUCKETS, 'inf']
        keys = []
        for name in names:
            keys.append(Keys.duration_sum(name))
            keys.extend(Keys.duration_bucket(name, bound) for bound in bounds)
        counts = iter(self.storage.peek_counters(keys))
        result = {}
        for name in names:
            total_us = next(counts)
            cumulative = 0
            buckets = []
            for bound in bounds:
                cumulative += next(counts)
                buckets.append((float(bound), cumulative))
            result[name] = {'buckets': buckets, 'count': cumulative, 'sum': total_us / 1e6}
        return result

    # -- the whole picture ------------------------------------------------

    def status(self, minutes: int = 5) -> dict:
        """Queue sizes, task results stored, live consumers and the throughput
        and error rate of the last ``minutes`` (complete and error per minute,
        the current minute included so activity shows at once)."""
        storage = self.storage
        series = self.series(minutes)
        done = sum(series['complete'])
        errors = sum(series['error'])
        consumers = self.consumers(include_gone=False)
        return {
            'name': self.huey.name,
            'pending': storage.queue_size(),
            'running': storage.leased_count(),
            'scheduled': storage.schedule_size(),
            'results': len(task_results(self.huey)),
            'dead_letters': len(storage.dead_letters()),
            'consumers': len(consumers),
            'workers': sum(view.record.workers for view in consumers),
            'in_flight': sum(len(view.record.in_flight) for view in consumers),
            'minutes': minutes,
            'throughput_per_minute': round(done / minutes, 2),
            'errors_per_minute': round(errors / minutes, 2),
            'error_rate': round(errors / (done + errors), 4) if done + errors else 0.0,
        }
