"""The module-level helpers: bound to the settings' Huey, db_task and on_commit_task
against the real PostgreSQL database through the ORM."""

from __future__ import annotations

import subprocess
import sys

import huey.contrib.djhuey as djhuey
import huey_django
import pytest
from django.db import connection, transaction
from shop.models import Order
from shop.tasks import add, create_order, create_order_on_commit, database_backend

HELPERS = [
    'task',
    'periodic_task',
    'db_task',
    'db_periodic_task',
    'on_commit_task',
    'lock_task',
    'enqueue',
    'restore',
    'restore_all',
    'restore_by_id',
    'revoke',
    'revoke_all',
    'revoke_by_id',
    'is_revoked',
    'result',
    'scheduled',
    'pending',
    'HUEY',
]


def test_the_classic_module_and_ours_share_one_application():
    assert djhuey.HUEY is huey_django.HUEY
    for name in HELPERS:
        assert name in djhuey.__all__
        assert getattr(djhuey, name) is getattr(huey_django, name)
    assert huey_django.HUEY.name == f'huey-django-{__import__("django.conf").conf.settings.RUN}'


def test_bound_helpers_act_on_the_settings_application(huey):
    result = add(1, 2)
    assert [t.id for t in huey_django.pending()] == [result.id]
    huey_django.revoke_by_id(result.id)
    assert huey_django.is_revoked(result.id)
    huey_django.restore_by_id(result.id)
    assert not huey_django.is_revoked(result.id)
    assert huey.execute(huey.dequeue()) == 3
    assert huey_django.result(result.id) == 3
    scheduled = add.schedule((2, 3), delay=60)
    assert [t.id for t in huey_django.pending()] == [scheduled.id]
    huey.execute_delivery(huey.reserve())  # a worker takes it early: on the schedule
    assert [t.id for t in huey_django.scheduled()] == [scheduled.id]


@pytest.mark.django_db
def test_db_task_rows_are_read_back_through_the_orm(huey):
    huey.immediate = True
    assert create_order('A-1', note='immediate')() == 1
    assert Order.objects.get(number='A-1').note == 'immediate'
    assert database_backend()() == 'postgresql'


@pytest.mark.django_db(transaction=True)
def test_db_task_closes_stale_connections_around_the_task(huey):
    connection.ensure_connection()
    assert connection.connection is not None
    create_order('A-2')
    task = huey.dequeue()
    assert huey.execute(task) == 1
    # CONN_MAX_AGE is 0: the connection the task used is closed after it
    assert connection.connection is None
    assert Order.objects.filter(number='A-2').exists()


def test_call_local_runs_the_plain_function():
    assert create_order.call_local.__name__ == 'create_order'
    assert add.call_local(2, 2) == 4


@pytest.mark.django_db(transaction=True)
def test_on_commit_task_in_a_rolled_back_transaction_enqueues_nothing(huey):
    class Abort(Exception):
        pass

    with pytest.raises(Abort):
        with transaction.atomic():
            Order.objects.create(number='rolled-back')
            result = create_order_on_commit('B-1')
            assert result is not None
            assert len(huey) == 0  # not before the commit
            raise Abort
    assert len(huey) == 0
    assert huey.pending() == []
    assert not Order.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_on_commit_task_is_enqueued_when_the_transaction_commits(huey):
    with transaction.atomic():
        result = create_order_on_commit('B-2')
        assert len(huey) == 0
    assert [t.id for t in huey.pending()] == [result.id]
    assert huey.execute(huey.dequeue()) == 'B-2'
    assert result.get() == 'B-2'
    assert Order.objects.get(number='B-2').note == 'on commit'


@pytest.mark.django_db(transaction=True)
def test_on_commit_task_outside_a_transaction_is_enqueued_at_once(huey):
    result = create_order_on_commit('B-3')
    assert [t.id for t in huey.pending()] == [result.id]
    assert create_order_on_commit.task.name == 'shop.tasks.create_order_on_commit'


def test_the_classic_path_names_the_distribution_when_it_is_missing():
    hide_and_import = 'import sys; sys.modules["huey_django"] = None; import huey.contrib.djhuey'
    done = subprocess.run(
        [sys.executable, '-c', hide_and_import], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        'ImportError: huey.contrib.djhuey needs the huey-django distribution: '
        'pip install huey-django'
    )
