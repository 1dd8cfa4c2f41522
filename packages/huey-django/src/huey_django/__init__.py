"""huey for Django: the application built from ``settings.HUEY`` and its helpers.

Importing this module reads the setting (see ``huey_django.config``), so a
wrong ``HUEY`` stops the project at start-up. The helpers are bound to that
one application, as ``huey.contrib.djhuey`` users expect::

    from huey_django import db_task, on_commit_task, periodic_task, crontab
"""

from __future__ import annotations

from django.conf import settings as _settings
from huey_crontab import crontab

from huey_django.config import HueySettingError, HueySettings, load_settings
from huey_django.decorators import (
    close_db,
    db_periodic_task,
    db_task,
    on_commit_task,
)

__version__ = '0.1.0'

#: The validated ``settings.HUEY``: ``.huey``, ``.consumer`` options, ``.imports``.
SETTINGS: HueySettings = load_settings(
    getattr(_settings, 'HUEY', None),
    debug=bool(getattr(_settings, 'DEBUG', False)),
    databases=getattr(_settings, 'DATABASES', None),
)
#: The application every helper below is bound to.
HUEY = SETTINGS.huey

task = HUEY.task
periodic_task = HUEY.periodic_task
lock_task = HUEY.lock_task

enqueue = HUEY.enqueue
restore = HUEY.restore
restore_all = HUEY.restore_all
restore_by_id = HUEY.restore_by_id
revoke = HUEY.revoke
revoke_all = HUEY.revoke_all
revoke_by_id = HUEY.revoke_by_id
is_revoked = HUEY.is_revoked
result = HUEY.result
scheduled = HUEY.scheduled
pending = HUEY.pending

on_startup = HUEY.on_startup
on_shutdown = HUEY.on_shutdown
pre_execute = HUEY.pre_execute
post_execute = HUEY.post_execute
signal = HUEY.signal
disconnect_signal = HUEY.disconnect_signal

__all__ = [
    'HUEY',
    'SETTINGS',
    'HueySettingError',
    'close_db',
    'crontab',
    'db_periodic_task',
    'db_task',
    'disconnect_signal',
    'enqueue',
    'is_revoked',
    'lock_task',
    'on_commit_task',
    'on_shutdown',
    'on_startup',
    'pending',
    'periodic_task',
    'post_execute',
    'pre_execute',
    'restore',
    'restore_all',
    'restore_by_id',
    'result',
    'revoke',
    'revoke_all',
    'revoke_by_id',
    'scheduled',
    'signal',
    'task',
]
