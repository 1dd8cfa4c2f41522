"""Prometheus metrics: served by a consumer's ``--metrics-port`` and on their own."""

from __future__ import annotations

import urllib.request

import pytest
from conftest import free_port, take_early, wait_until
from huey_monitor.metrics import serve_metrics
from prometheus_client.parser import text_string_to_metric_families


def scrape(port: int) -> dict:
    """``{(sample name, frozenset of labels): value}`` parsed with prometheus_client."""
    with urllib.request.urlopen(f'http://127.0.0.1:{port}/metrics', timeout=10) as response:
        text = response.read().decode()
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[sample.name, frozenset(sample.labels.items())] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, frozenset(labels.items())))


def test_consumer_metrics_port(make_app, start_consumer):
    app = make_app()
    huey, module = app.huey, app.module
    queue = huey.name
    port = free_port()
    consumer = start_consumer(app, '-w', '2', '--metrics-port', str(port))

    running = module.slow(2)
    consumer_id = wait_until(
        lambda: next(
            (
                dict(labels)['consumer']
                for (name, labels), v in scrape(port).items()
                if name == 'huey_tasks_in_flight' and v == 1
            ),
            None,
        ),
        30,
        'slow() in flight in the metrics',
    )
    assert consumer_id.endswith(f':{consumer.pid}')
    results = [module.add(i, 1) for i in range(3)]
    failed = module.fail('boom')
    for result in results:
        result.get(blocking=True, timeout=30)
    assert running.get(blocking=True, timeout=30) == 2
    with pytest.raises(Exception, match='boom'):
        failed.get(blocking=True, timeout=30)

    add, fail, slow = module.add.name, module.fail.name, module.slow.name

    def settled():
        samples = scrape(port)
        return (
            samples
            if value(samples, 'huey_tasks_total', queue=queue, task=add, outcome='complete') == 3
            and value(samples, 'huey_tasks_total', queue=queue, task=fail, outcome='error') == 1
            and value(samples, 'huey_task_duration_seconds_count', queue=queue, task=slow) == 1
            else None
        )

    samples = wait_until(settled, 20, 'the counters to reach the storage')
    assert value(samples, 'huey_tasks_total', queue=queue, task=add, outcome='enqueued') == 3
    assert value(samples, 'huey_task_duration_seconds_count', queue=queue, task=add) == 3
    assert (
        value(
            samples,
            'huey_task_duration_seconds_bucket',
            queue=queue,
            task=module.slow.name,
            le='1.0',
        )
        == 0
    )
    assert (
        value(samples, 'huey_task_duration_seconds_count', queue=queue, task=module.slow.name) == 1
    )
    assert value(samples, 'huey_task_duration_seconds_sum', queue=queue, task=module.slow.name) >= 2
    assert value(samples, 'huey_queue_pending', queue=queue) == 0
    assert value(samples, 'huey_dead_letters', queue=queue) == 0
    assert value(samples, 'huey_consumer_workers', queue=queue, consumer=consumer_id) == 2
    assert value(samples, 'huey_consumer_up', queue=queue, consumer=consumer_id) == 1


def test_queue_gauges_and_port_check(make_app):
    app = make_app()
    module = app.module
    module.add.schedule((1, 1), delay=600)
    take_early(app.huey)
    for i in range(4):
        module.add(i, i)
    server, thread = serve_metrics(app.huey, 0)
    try:
        samples = scrape(server.server_port)
    finally:
        server.shutdown()
    queue = app.huey.name
    assert value(samples, 'huey_queue_pending', queue=queue) == 4
    assert value(samples, 'huey_queue_scheduled', queue=queue) == 1
    with pytest.raises(ValueError, match='metrics port 70000'):
        serve_metrics(app.huey, 70000)
