"""``manage.py run_huey`` as a real subprocess: tasks from every app's tasks.py,
the settings' extra modules, periodic tasks, Django's logging, flags over settings."""

from __future__ import annotations

import json
import re

import pytest
from conftest import wait_for
from huey_django.config import HueySettingError, load_settings
from huey_django.consumer import consumer_settings
from reports.models import Report
from shop.models import Order, Tick

pytestmark = pytest.mark.slow

REDIS = {'host': '127.0.0.1', 'port': 6379, 'db': 7}


@pytest.mark.django_db(transaction=True)
def test_run_huey_on_redis_runs_tasks_of_every_app_and_periodic_tasks(project, huey):
    from reports.jobs import shout
    from reports.tasks import write_report
    from shop.tasks import add, create_order, fail

    consumer = project.start('run_huey', '-s', '1')
    project.wait_output(consumer, 'consumer started')

    assert add(1, 2).get(blocking=True, timeout=20) == 3
    assert create_order('C-1', note='from the consumer').get(blocking=True, timeout=20) == 1
    assert write_report('weekly').get(blocking=True, timeout=20) == 'WEEKLY'
    assert shout('hi').get(blocking=True, timeout=20) == 'HI!'  # settings imports
    failed = fail()
    with pytest.raises(Exception, match='the shop is closed'):
        failed.get(blocking=True, timeout=20)

    assert Order.objects.get(number='C-1').note == 'from the consumer'
    assert Report.objects.filter(title='weekly').exists()
    wait_for(lambda: Tick.objects.filter(source='periodic').exists(), what='the periodic task')

    output = project.stop(consumer)
    assert consumer.returncode == 0, output
    # the consumer logged through the project's LOGGING settings
    assert re.search(r'^django-logging INFO huey\.consumer\S*: consumer started', output, re.M)
    assert 'django-logging INFO huey.consumer.tasks: executing' in output


@pytest.mark.django_db(transaction=True)
def test_run_huey_on_sqlite_with_flags_and_the_huey_django_app(project, tmp_path):
    env = {
        'HUEY_DJANGO_STORAGE': 'sqlite',
        'HUEY_DJANGO_SQLITE': str(tmp_path / 'huey.db'),
        'HUEY_DJANGO_APP': 'huey_django',
    }
    consumer = project.start('run_huey', '-w', '3', '-k', 'process', '-n', '-V', **env)
    started = project.wait_output(consumer, 'consumer started')
    assert re.search(r'\b3 process workers', started), started

    producer = project.command(
        'shell',
        '-c',
        'import json; from shop.tasks import add, create_order;'
        'a = add(2, 3); o = create_order("S-1");'
        'print(json.dumps([a.get(blocking=True, timeout=20), o.get(blocking=True, timeout=20)]))',
        **env,
    )
    assert producer.returncode == 0, producer.stderr
    assert json.loads(producer.stdout.strip().splitlines()[-1]) == [5, 1]
    assert Order.objects.filter(number='S-1').exists()

    output = project.stop(consumer)
    assert consumer.returncode == 0, output
    assert 'DEBUG' in output  # -V
    assert not Tick.objects.exists()  # -n: no periodic tasks from this consumer


def test_a_bad_flag_stops_run_huey_in_one_line(project):
    done = project.command('run_huey', '-s', '7')
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        'CommandError: run_huey: scheduler_interval=7: must be a number of seconds that divides '
        'a minute: '
        'one of 1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60'
    ]


def test_a_missing_extra_module_is_named(project):
    bad = "{'connection': {'db': 7}, 'consumer': {'imports': ['reports.nowhere']}}"
    done = project.command('run_huey', HUEY_DJANGO_BAD=bad)
    assert done.returncode == 1
    assert "settings.HUEY['consumer']['imports'] names 'reports.nowhere'" in done.stderr


def test_flags_override_the_consumer_settings():
    settings = load_settings(
        {'connection': REDIS, 'consumer': {'workers': 4, 'periodic': True, 'backoff': 1.5}}
    )
    none = dict.fromkeys(['workers', 'periodic', 'initial_delay', 'check_worker_health'])
    assert consumer_settings(settings, none) == settings.consumer
    given = {**none, 'workers': 1, 'periodic': False, 'initial_delay': 0.5}
    config = consumer_settings(settings, given)
    assert (config.workers, config.periodic, config.backoff, config.initial_delay) == (
        1,
        False,
        1.5,
        0.5,
    )
    with pytest.raises(HueySettingError, match=r'run_huey: workers=0'):
        consumer_settings(settings, {**none, 'workers': 0})


def test_disable_autoload_leaves_tasks_unknown_and_they_go_to_the_dead_letters(project, huey):
    from reports.jobs import shout
    from shop.tasks import add

    consumer = project.start('run_huey', '-A')
    project.wait_output(consumer, 'consumer started')
    assert shout('still known').get(blocking=True, timeout=20) == 'STILL KNOWN!'  # imports
    add(1, 1)
    [letter] = wait_for(huey.dead_letters, what='the unknown task to be dead-lettered')
    assert 'shop.tasks.add' in letter.reason
    project.stop(consumer)
