"""huey's ``huey.contrib.djhuey.stats`` app in a real ``manage.py`` process."""

from __future__ import annotations

SHELL = """
import huey_monitor
from huey.contrib.stats import HueyEvent
from huey_django import HUEY
from shop.tasks import add

add(1, 2)
HUEY._stats.close()  # writes what it buffered
print('events', [event.signal for event in HueyEvent.select()])
print('monitor', huey_monitor.monitor_for(HUEY).recording)
"""


def test_the_stats_app_records_huey_statistics_and_the_monitor(project, tmp_path):
    database = tmp_path / 'stats.db'
    done = project.command('shell', '-c', SHELL, HUEY_DJANGO_STATS=str(database))
    assert done.returncode == 0, done.stderr
    assert "events ['enqueued']" in done.stdout
    assert 'monitor True' in done.stdout
    assert database.exists()
