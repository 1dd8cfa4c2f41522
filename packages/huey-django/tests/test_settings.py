"""settings.HUEY into a Huey: huey users' dicts work, wrong ones fail in one line."""

from __future__ import annotations

import logging

import pytest
from huey import MemoryHuey, RedisHuey, SqliteHuey
from huey_consumer import ConsumerConfig
from huey_django.config import HueySettingError, load_settings

REDIS = {'host': '127.0.0.1', 'port': 6379, 'db': 7}
DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql', 'NAME': 'shopdb'}}


def test_a_huey_instance_is_used_as_it_is():
    app = MemoryHuey('given')
    loaded = load_settings(app, debug=True)
    assert loaded.huey is app
    assert loaded.huey.immediate is False  # DEBUG only decides for the dict form
    assert loaded.consumer == ConsumerConfig()


def test_the_dict_huey_documents_builds_a_redis_huey_named_after_the_database():
    loaded = load_settings(
        {
            'results': True,
            'store_none': False,
            'utc': True,
            'blocking': True,
            'connection': {**REDIS, 'read_timeout': 1},
            'consumer': {
                'workers': 4,
                'worker_type': 'thread',
                'initial_delay': 0.1,
                'backoff': 1.15,
                'max_delay': 10.0,
                'scheduler_interval': 1,
                'periodic': True,
                'check_worker_health': True,
                'health_check_interval': 1,
            },
        },
        databases=DATABASES,
    )
    assert isinstance(loaded.huey, RedisHuey)
    assert loaded.huey.name == 'shopdb'
    assert loaded.huey.immediate is False
    assert loaded.huey.storage.read_timeout == 1
    assert loaded.consumer.workers == 4
    assert loaded.huey.create_consumer(**loaded.consumer.values).workers == 4


def test_immediate_defaults_to_debug_and_runs_tasks_without_a_consumer():
    app = load_settings({'connection': REDIS}, debug=True).huey
    assert app.immediate is True

    @app.task()
    def double(x):
        return x * 2

    assert double(21).get() == 42
    assert load_settings({'connection': REDIS}, debug=False).huey.immediate is False
    assert (
        load_settings({'connection': REDIS, 'immediate': False}, debug=True).huey.immediate is False
    )


def test_no_setting_means_redis_named_after_the_database():
    loaded = load_settings(None, databases=DATABASES)
    assert isinstance(loaded.huey, RedisHuey)
    assert loaded.huey.name == 'shopdb'
    assert load_settings(None).huey.name == 'huey'


def test_connection_options_go_to_the_storage(tmp_path):
    loaded = load_settings(
        {
            'huey_class': 'huey.SqliteHuey',
            'name': 'shop',
            'results': False,
            'connection': {'filename': str(tmp_path / 'huey.db')},
            'consumer': {'workers': 2, 'worker_type': 'process', 'imports': ['shop.jobs']},
        }
    )
    assert isinstance(loaded.huey, SqliteHuey)
    assert loaded.huey.results is False
    assert loaded.huey.storage.filename == str(tmp_path / 'huey.db')
    assert loaded.imports == ('shop.jobs',)
    assert (loaded.consumer.workers, loaded.consumer.worker_type) == (2, 'process')


def test_consumer_logging_options_are_kept_for_run_huey():
    loaded = load_settings(
        {
            'connection': REDIS,
            'consumer': {'verbose': True, 'logfile': 'huey.log', 'simple_log': True},
        }
    )
    consumer = loaded.consumer
    assert (consumer.verbose, consumer.logfile, consumer.simple_log) == (True, 'huey.log', True)
    quiet = load_settings({'connection': REDIS, 'consumer': {'quiet': True}}).consumer
    assert quiet.verbose is False and quiet.loglevel == logging.WARNING


def test_monitor_true_records_with_huey_monitor():
    import huey_monitor

    huey = load_settings({'connection': REDIS, 'monitor': {'max_events': 500}}).huey
    try:
        monitor = huey_monitor.monitor_for(huey)
        assert monitor.recording and monitor.recorder.settings.max_events == 500
        assert not huey_monitor.monitor_for(load_settings({'connection': REDIS}).huey).recording
    finally:
        huey_monitor.disable(huey)


@pytest.mark.parametrize(
    'setting, expected',
    [
        (
            {'huey_class': 'huey.RedsHuey'},
            "settings.HUEY['huey_class']='huey.RedsHuey' cannot be imported",
        ),
        (
            {'huey_class': 'RedisHuey'},
            "use the import path of a Huey class, such as 'huey.RedisHuey'",
        ),
        ({'huey_class': 'huey.crontab'}, 'not a Huey class'),
        ({'hots': 'localhost'}, "settings.HUEY['hots'] is not a RedisHuey option"),
        ({'workers': 4}, "settings.HUEY['workers'] is a consumer option: move it into"),
        ({'results': 'yes'}, "settings.HUEY['results']='yes': must be True or False"),
        ({'name': ''}, "settings.HUEY['name']='': must be a non-empty string"),
        ({'connection': 'redis://localhost'}, "settings.HUEY['connection']='redis://localhost'"),
        ({'connection': {'hots': 'x'}}, 'hots'),
        ({'delivery': 'twice'}, "delivery='twice': use one of"),
        (
            {'consumer': {'workerz': 2}},
            "settings.HUEY['consumer']['workerz'] is not a consumer option",
        ),
        ({'consumer': {'workers': 0}}, "settings.HUEY['consumer']: workers=0"),
        ({'consumer': {'worker_type': 'fork'}}, "worker_type='fork': must be one of"),
        (
            {'consumer': {'scheduler_interval': 7}},
            'scheduler_interval=7: must be a number of seconds that divides a minute',
        ),
        ({'consumer': {'imports': [3]}}, "settings.HUEY['consumer']['imports']=[3]"),
        ({'monitor': {'max_events': 0}}, "settings.HUEY['monitor']: max_events=0: must be"),
        ({'monitor': {'max_event': 10}}, "unexpected keyword argument 'max_event'"),
        ({'monitor': 'yes'}, "settings.HUEY['monitor']='yes': must be a dict"),
        (
            'redis://localhost',
            "settings.HUEY='redis://localhost': must be a Huey instance or a dict",
        ),
    ],
)
def test_a_wrong_setting_fails_in_one_line_naming_it(setting, expected):
    if isinstance(setting, dict) and not {'huey_class', 'connection'} & set(setting):
        setting = {**setting, 'connection': REDIS}
    with pytest.raises(HueySettingError) as caught:
        load_settings(setting)
    message = str(caught.value)
    assert expected in message
    assert '\n' not in message
    assert message.startswith('settings.HUEY')


def test_a_wrong_setting_stops_manage_py_at_start_up(project):
    done = project.command('check', HUEY_DJANGO_BAD="{'consumer': {'workers': -1}}")
    assert done.returncode != 0
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith('huey_django.config.HueySettingError: ')
    assert "settings.HUEY['consumer']: workers=-1" in last


@pytest.mark.parametrize(
    'setting',
    [
        'redis://:hunter2@cache.example:6379/0',  # a URL where a dict belongs
        {'connection': 'redis://:hunter2@cache.example:6379/0'},
        {'connection': {'url': 'redis+x://:hunter2@cache.example:6379/0'}},
        {'results': 'postgresql://u:hunter2@db.example/app'},  # a value the parser quotes
    ],
)
def test_errors_never_quote_a_password(setting):
    with pytest.raises(HueySettingError) as caught:
        load_settings(setting, databases=DATABASES)
    message = str(caught.value)
    assert 'hunter2' not in message and '***' in message, message
