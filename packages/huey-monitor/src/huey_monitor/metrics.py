"""Prometheus metrics of a queue, read from its storage at each scrape.

The numbers are queue-wide (every consumer's events end up in the storage),
so any process can serve them: the dashboard at ``/metrics``, or a consumer
started with ``--metrics-port`` (``serve_metrics``). Scrape one of them per
queue; several targets of one queue report the same values.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from prometheus_client import CollectorRegistry, make_asgi_app, make_wsgi_app, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.registry import Collector

from .monitor import monitor_for
from .results import task_results

__all__ = [
    'QueueCollector',
    'metrics_asgi_app',
    'metrics_registry',
    'metrics_wsgi_app',
    'serve_metrics',
]

logger = logging.getLogger(__name__)


class QueueCollector(Collector):
    """Collects one Huey's queue sizes, task counts, durations and consumers."""

    def __init__(self, huey: Any) -> None:
        self.huey = huey

    def collect(self):
        monitor = monitor_for(self.huey)
        storage = self.huey.storage
        queue = self.huey.name
        for name, text, value in (
            ('huey_queue_pending', 'Tasks waiting in the queue.', storage.queue_size()),
            (
                'huey_queue_running',
                'Messages leased by a worker, not yet acknowledged.',
                storage.leased_count(),
            ),
            ('huey_queue_scheduled', 'Tasks waiting for their eta.', storage.schedule_size()),
            (
                'huey_results_stored',
                'Task results stored and not yet read.',
                len(task_results(self.huey)),
            ),
            ('huey_dead_letters', 'Messages set aside as unrunnable.', len(storage.dead_letters())),
        ):
            gauge = GaugeMetricFamily(name, text, labels=['queue'])
            gauge.add_metric([queue], value)
            yield gauge

        names = monitor.task_names()
        tasks = CounterMetricFamily(
            'huey_tasks',
            'Task events by task name and outcome (huey signal).',
            labels=['queue', 'task', 'outcome'],
        )
        for task, outcomes in monitor.totals(names).items():
            for outcome, count in outcomes.items():
                if count:
                    tasks.add_metric([queue, task, outcome], count)
        yield tasks

        durations = HistogramMetricFamily(
            'huey_task_duration_seconds', 'Run time of task attempts.', labels=['queue', 'task']
        )
        for task, histogram in monitor.durations(names).items():
            if histogram['count']:
                buckets = [(_le(bound), count) for bound, count in histogram['buckets']]
                durations.add_metric([queue, task], buckets, histogram['sum'])
        yield durations

        now = time.time()
        labels = ['queue', 'consumer']
        in_flight = GaugeMetricFamily('huey_tasks_in_flight', 'Tasks running now.', labels=labels)
        workers = GaugeMetricFamily('huey_consumer_workers', 'Workers per consumer.', labels=labels)
        up = GaugeMetricFamily(
            'huey_consumer_up', '1 while the consumer heartbeats, 0 once silent.', labels=labels
        )
        seen = GaugeMetricFamily(
            'huey_consumer_last_heartbeat_timestamp_seconds',
            'When the consumer last wrote its heartbeat.',
            labels=labels,
        )
        age = GaugeMetricFamily(
            'huey_consumer_heartbeat_age_seconds',
            'Seconds since the last heartbeat.',
            labels=labels,
        )
        for view in monitor.consumers():
            record = view.record
            key = [queue, record.id]
            in_flight.add_metric(key, len(record.in_flight))
            workers.add_metric(key, record.workers)
            up.add_metric(key, 1 if view.alive else 0)
            seen.add_metric(key, record.last_seen)
            age.add_metric(key, max(0.0, now - record.last_seen))
        yield from (in_flight, workers, up, seen, age)


def _le(bound: float) -> str:
    return '+Inf' if bound == float('inf') else repr(bound)


def metrics_registry(huey: Any) -> CollectorRegistry:
    """A registry holding only ``huey``'s queue metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(QueueCollector(huey))
    return registry


def metrics_wsgi_app(huey: Any):
    """A WSGI app serving ``huey``'s metrics in the Prometheus text format."""
    return make_wsgi_app(metrics_registry(huey))


def metrics_asgi_app(huey: Any):
    """An ASGI app serving ``huey``'s metrics in the Prometheus text format."""
    return make_asgi_app(metrics_registry(huey))


def serve_metrics(huey: Any, port: int, host: str = '127.0.0.1') -> tuple[Any, Any]:
    """Serve ``huey``'s metrics on ``http://host:port/metrics`` from a daemon thread.

    What a consumer's ``--metrics-port`` calls. Returns ``(server, thread)``;
    ``server.shutdown()`` stops it. Binds 127.0.0.1 unless told otherwise.
    """
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 65535:
        raise ValueError(f'metrics port {port!r}: must be a whole number from 0 to 65535')
    server, thread = start_http_server(port, addr=host, registry=metrics_registry(huey))
    logger.info('serving Prometheus metrics on http://%s:%d/metrics', host, server.server_port)
    return server, thread
