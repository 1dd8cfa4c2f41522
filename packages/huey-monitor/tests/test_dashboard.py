"""The dashboard served by ``huey_admin APP serve``, driven in a headless Chromium."""

from __future__ import annotations

import http.cookiejar
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from conftest import take_early, wait_until
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.browser

#: Set to a directory to save the README screenshots there.
SCREENSHOTS = os.environ.get('HUEY_MONITOR_SCREENSHOTS')


def count(page, key: str) -> str:
    return page.inner_text(f'[data-count="{key}"] .value')


def shoot(page, name: str) -> None:
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / name))


def test_counts_requeue_button_and_live_refresh(
    make_app, start_consumer, start_dashboard, page, backend
):
    app = make_app()
    huey, module = app.huey, app.module
    module.add.schedule((1, 2), delay=3600)
    take_early(huey)
    for i in range(3):
        module.add(i, i)
    buried = module.add.s(20, 22)
    letter_id = huey.storage.add_dead_letter(
        huey.serialize_task(buried), 'unknown task (deployed later)'
    )
    dashboard = start_dashboard(app)

    page.goto(dashboard.url + '/')
    assert count(page, 'pending') == '3'
    assert count(page, 'scheduled') == '1'
    assert count(page, 'dead_letters') == '1'
    assert count(page, 'consumers') == '0'

    page.goto(dashboard.url + '/dead-letters')
    row = page.locator(f'tr[data-letter="{letter_id}"]')
    assert module.add.name in row.inner_text()
    row.get_by_role('button', name='Requeue').click()
    page.wait_for_url('**/dead-letters?notice=*')
    assert f'requeued dead letter {letter_id}' in page.inner_text('.notice')
    assert page.locator('tr[data-letter]').count() == 0
    assert huey.pending_count() == 4

    page.goto(dashboard.url + '/')
    assert count(page, 'pending') == '4'
    page.evaluate('window.notReloaded = true')
    start_consumer(app, '-w', '2')
    # the page refreshes itself: the counts change without a reload
    page.wait_for_function(
        'document.querySelector(\'[data-count="pending"] .value\').textContent === "0"'
        ' && document.querySelector(\'[data-count="consumers"] .value\').textContent === "1"',
        timeout=30_000,
    )
    assert page.evaluate('window.notReloaded') is True
    assert module.add.name in page.inner_text('#timings')
    page.wait_for_function('document.querySelectorAll("#chart canvas").length > 0', timeout=10_000)

    page.goto(f'{dashboard.url}/results?id={buried.id}')
    assert page.inner_text('#result-value') == '42'  # the requeued dead letter ran

    if backend == 'sqlite' and SCREENSHOTS:
        for i in range(40):
            module.add(i, 1)
        module.fail('disk full')
        module.slow(30)
        huey.storage.add_dead_letter(b'not a message', 'corrupt message')
        huey.storage.add_dead_letter(
            huey.serialize_task(module.add.s(5, 5)),
            'delivered 6 times: it keeps killing its worker',
        )
        module.add.schedule((2, 2), delay=600)
        wait_until(lambda: huey.pending_count() == 0, 30, 'the queue to drain')
        page.goto(dashboard.url + '/')
        page.wait_for_function(
            'document.querySelector(\'[data-count="dead_letters"] .value\').textContent === "2"',
            timeout=15_000,
        )
        page.wait_for_timeout(5500)  # one refresh, so the chart shows the last minute
        shoot(page, 'overview.png')
        page.goto(dashboard.url + '/dead-letters')
        shoot(page, 'dead-letters.png')
        page.goto(dashboard.url + '/consumers')
        shoot(page, 'consumers.png')


def test_token_login_revoke_and_metrics(make_app, start_dashboard, page):
    app = make_app()
    waiting = app.module.add(1, 2)
    dashboard = start_dashboard(app, '--token', 's3cret')

    page.goto(dashboard.url + '/queue')
    assert '/login' in page.url
    page.fill('input[name=token]', 'wrong')
    page.click('button[type=submit]')
    assert 'wrong token' in page.inner_text('main')
    page.fill('input[name=token]', 's3cret')
    page.click('button[type=submit]')
    page.wait_for_url('**/queue')
    assert app.module.add.name in page.inner_text('table.tasks')
    page.goto(f'{dashboard.url}/results?id={waiting.id}')
    page.get_by_role('button', name='Revoke this task').click()
    page.wait_for_url('**/results?id=*&notice=*')
    assert f'revoked task {waiting.id}' in page.inner_text('.notice')
    assert app.huey.is_revoked(waiting.id)

    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(dashboard.url + '/metrics', timeout=10)
    assert refused.value.code == 401
    request = urllib.request.Request(
        dashboard.url + '/metrics', headers={'Authorization': 'Bearer s3cret'}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    pending = {
        sample.name: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }
    assert pending['huey_queue_pending'] == 1


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_actions_need_the_csrf_token(make_app, start_dashboard):
    app = make_app()
    huey = app.huey
    letter_id = huey.storage.add_dead_letter(b'x', 'test')
    dashboard = start_dashboard(app)
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), _NoRedirect())

    def post(fields: dict):
        body = urllib.parse.urlencode(fields).encode()
        try:
            return browser.open(dashboard.url + '/actions/delete', data=body, timeout=10)
        except urllib.error.HTTPError as exc:
            return exc

    assert post({'id': letter_id}).code == 403  # no cookie, no token
    browser.open(dashboard.url + '/dead-letters', timeout=10).read()  # sets the CSRF cookie
    token = next(cookie.value for cookie in jar if cookie.name == 'huey_monitor_csrf')
    assert post({'id': letter_id, 'csrf_token': 'forged'}).code == 403
    assert len(huey.dead_letters()) == 1
    done = post({'id': letter_id, 'csrf_token': token, 'back': '/dead-letters'})
    assert done.code == 303 and done.headers['location'].startswith('/dead-letters?')
    assert huey.dead_letters() == []
    with browser.open(dashboard.url + '/api/overview', timeout=10) as response:
        assert json.loads(response.read())['status']['dead_letters'] == 0
    with browser.open(dashboard.url + '/api/series', timeout=10) as response:
        assert len(json.loads(response.read())['minute']) == 60
