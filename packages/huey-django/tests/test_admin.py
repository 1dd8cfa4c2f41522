"""The admin's queue page (built on huey-monitor's functions) and its
dead-letter actions, on the real Redis storage, through Django's test client."""

from __future__ import annotations

import re

import pytest
from conftest import wait_for
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse
from shop.tasks import add, fail

pytestmark = pytest.mark.django_db

URL = '/admin/huey_django/queue/'


def dead_letter(huey) -> str:
    """A real dead letter: a corrupt message the worker sets aside."""
    before = {letter.id for letter in huey.dead_letters()}
    huey.storage.enqueue(b'not a huey message')
    assert huey.reserve() is None
    [new] = {letter.id for letter in huey.dead_letters()} - before
    return new


def staff(username: str, *permissions: str) -> User:
    user = User.objects.create_user(username, is_staff=True)
    for codename in permissions:
        user.user_permissions.add(Permission.objects.get(codename=codename))
    return user


def section(html: str, table_id: str) -> str:
    """The HTML of the table with ``id=table_id``."""
    match = re.search(rf'<table id="{table_id}">(.*?)</table>', html, re.S)
    assert match, f'no table {table_id!r} on the page'
    return match.group(1)


def test_the_page_shows_every_part_of_the_queue(admin_client, huey):
    import huey_monitor

    letter = dead_letter(huey)
    later = add.schedule((3, 4), delay=600)
    huey.execute_delivery(huey.reserve())  # a worker takes it early: on the schedule
    waiting = add(1, 2)
    huey.execute(add.s(5, 6))  # a stored result
    huey.execute(fail.s())  # an error, with its duration
    # This process acts as a consumer: its start-up hooks register a heartbeat.
    huey.run_startup_hooks()
    try:
        monitor = huey_monitor.monitor_for(huey)
        monitor.flush()
        wait_for(monitor.consumers, what="this process's heartbeat")

        assert reverse('admin:huey_django_queue_changelist') == URL
        page = admin_client.get(URL)
        assert page.status_code == 200
        html = page.content.decode()
    finally:
        huey.run_shutdown_hooks()
    assert '<span id="pending-count">1</span>' in html
    assert waiting.id in section(html, 'pending')
    assert '<span id="scheduled-count">1</span>' in html
    assert later.id in section(html, 'scheduled')
    assert '<span id="result-count">2</span>' in html
    results = section(html, 'results')
    assert '<code>11</code>' in results and 'the shop is closed' in results
    assert '<span id="dead-letter-count">1</span>' in html
    assert letter in section(html, 'dead-letters') and '(cannot be decoded)' in html
    assert '<span id="consumer-count">1</span>' in html
    assert 'alive' in section(html, 'consumers')
    timings = section(html, 'timings')
    assert add.name in timings and fail.name in timings
    periodic = section(html, 'periodic')
    assert 'shop.tasks.tick' in periodic and '<code>* * * * *</code>' in periodic
    assert huey.pending_count() == 1  # looking changes nothing

    index = admin_client.get('/admin/').content.decode()
    assert URL in index


def test_requeue_and_delete_dead_letters(admin_client, huey):
    first, second = dead_letter(huey), dead_letter(huey)
    response = admin_client.post(URL, {'action': 'requeue', 'dead_letter': [first]})
    assert response.status_code == 302
    assert [letter.id for letter in huey.dead_letters()] == [second]
    assert huey.pending_count() == 1

    admin_client.post(URL, {'action': 'delete', 'dead_letter': [second]})
    assert huey.dead_letters() == []
    page = admin_client.get(URL).content.decode()
    assert '1 dead letter(s) deleted.' in page


def test_actions_need_the_csrf_token(huey):
    letter = dead_letter(huey)
    client = Client(enforce_csrf_checks=True)
    client.force_login(User.objects.create_superuser('root'))
    assert client.post(URL, {'action': 'delete', 'dead_letter': [letter]}).status_code == 403
    assert [d.id for d in huey.dead_letters()] == [letter]

    html = client.get(URL).content.decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
    form = {'action': 'delete', 'dead_letter': [letter], 'csrfmiddlewaretoken': token}
    assert client.post(URL, form).status_code == 302
    assert huey.dead_letters() == []


def test_permissions(client, huey):
    letter = dead_letter(huey)
    client.force_login(User.objects.create_user('nobody', is_staff=True))
    assert client.get(URL).status_code == 403

    client.force_login(staff('viewer', 'view_queue'))
    assert client.get(URL).status_code == 200
    assert 'Requeue selected' not in client.get(URL).content.decode()
    assert client.post(URL, {'action': 'delete', 'dead_letter': [letter]}).status_code == 403
    assert [d.id for d in huey.dead_letters()] == [letter]

    client.force_login(staff('editor', 'view_queue', 'change_queue'))
    assert client.post(URL, {'action': 'delete', 'dead_letter': [letter]}).status_code == 302
    assert huey.dead_letters() == []


def test_no_edit_pages_exist(admin_client):
    assert admin_client.get(URL + 'add/').status_code == 404
