"""Real gevent deployments with monkey-patching, each in its own subprocess."""

from __future__ import annotations


def test_seed_wsgi_example_enqueues_from_a_real_http_request(run_script):
    report = run_script('wsgi_example.py')
    assert report['port'] > 0
    assert report['status'] == 202 and report['later_status'] == 202
    assert report['now_value'] is True  # check_spam('buy cheap spam') ran and returned
    assert report['later_value'] is False  # scheduled from the app, run by the scheduler
    assert report['checked'] == ['buy cheap spam', 'hello']
    # the every-minute periodic task fired once per minute (twice if the run crossed one)
    assert 1 <= report['heartbeats'] <= report['minutes_spanned']
    assert report['scheduler_running'] is False


def test_pool_size_two_limits_sleeping_tasks_to_two_at_once(run_script):
    report = run_script('pool_limit.py', '2')
    assert report == {'peak': 2, 'values': [0, 1, 2, 3]}


def test_without_pool_size_all_four_sleeping_tasks_overlap(run_script):
    report = run_script('pool_limit.py', 'none')
    assert report == {'peak': 4, 'values': [0, 1, 2, 3]}
