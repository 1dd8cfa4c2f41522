"""The task registry: unique names, periodic tasks, Messages and their round trip."""

from __future__ import annotations

import datetime

import pytest
from huey import HueyException, UnknownTaskError, crontab
from huey.registry import Message, Registry
from huey_api.message import Chord


def _double(n):
    return n * 2


def _report(*args):
    return args


def test_huey_registry_is_the_instance_registry(huey):
    assert isinstance(huey._registry, Registry)
    assert huey._registry is huey.registry


def test_a_name_registers_once(huey):
    huey.task()(_double)
    with pytest.raises(ValueError, match=r"task name '.*_double' is already registered"):
        huey.task()(_double)
    huey.task(name='same')(_double)
    with pytest.raises(ValueError, match='pass a different name='):
        huey.task(name='same')(_report)


def test_an_explicit_name_may_not_shadow_a_default_name_of_the_same_module(huey):
    huey.task()(_double)  # registered as '<module>._double'
    with pytest.raises(ValueError):
        huey.task(name='_double')(_report)
    renamed = huey.task(name='double_again')(_double)
    assert renamed.name == 'double_again'
    assert renamed.s(1).execute() == 2


def test_unregister_frees_the_name(huey):
    first = huey.task()(_double)
    assert first.unregister() is True
    assert first.unregister() is False
    again = huey.task()(_double)
    assert again.name == first.name
    assert huey.registry.get(first.name) is again.task_class


def test_periodic_tasks_lists_only_periodic_classes(huey):
    huey.task(name='plain')(_double)
    nightly = huey.periodic_task(crontab(minute='0', hour='3'), name='nightly')(_report)
    hourly = huey.periodic_task(crontab(minute='0'), name='hourly')(_report)
    assert sorted(c.name for c in huey.registry.periodic_tasks) == ['hourly', 'nightly']
    assert nightly.unregister()
    assert [c.name for c in huey.registry.periodic_tasks] == [hourly.name]


def test_message_names_every_field_of_the_wire_tuple(huey):
    double = huey.task(retries=2, retry_delay=5, priority=7)(_double)
    report = huey.task()(_report)
    eta = datetime.datetime(2030, 1, 2, 3, 4, 5)
    task = double.s(21).then(report, 'done').error(report, 'failed')
    task.eta = eta
    task.expires = eta + datetime.timedelta(hours=1)

    message = huey._registry.create_message(task)

    assert message == task.to_message() == Message.decode(message.encode())
    assert (message.id, message.name, message.args, message.kwargs) == (
        task.id,
        double.name,
        (21,),
        {},
    )
    assert (message.retries, message.retry_delay, message.priority) == (2, 5.0, 7)
    assert message.eta == task.eta_ts
    assert message.expires == message.expires_resolved == task.expires_ts
    assert message.on_complete.name == report.name
    assert message.on_complete.args == ('done',)
    assert message.on_error.args == ('failed',)
    assert message.chord is None


def test_create_task_rebuilds_the_same_task_and_pipeline(huey):
    double = huey.task()(_double)
    report = huey.task()(_report)
    task = double.s(4).then(report, 'next')

    rebuilt = huey._registry.create_task(huey._registry.create_message(task))

    assert rebuilt == task and type(rebuilt) is type(task)
    assert rebuilt.on_complete == task.on_complete
    assert rebuilt.execute() == 8
    # the plain wire tuple works too, and serializes like any message
    data = huey.serializer.serialize(huey._registry.create_message(task).encode())
    assert huey.deserialize_task(data) == task


def test_chord_members_keep_their_chord_field(huey):
    double = huey.task()(_double)
    report = huey.task()(_report)
    member = double.s(1)
    member.chord = Chord('chord-id', 0, 2, report.s().to_message())

    message = huey._registry.create_message(member)

    assert message.chord == member.chord
    assert huey._registry.create_task(message).chord == member.chord


def test_unregistered_tasks_cannot_become_messages_or_tasks(huey):
    double = huey.task()(_double)
    task = double.s(1)
    message = huey._registry.create_message(task)
    double.unregister()
    with pytest.raises(UnknownTaskError, match='is not registered'):
        huey._registry.create_task(message)
    with pytest.raises(HueyException, match='decorate its function'):
        huey._registry.create_message(task)
