"""The seed's WSGI deployment, for real: monkey-patch, start MiniHuey, serve, request.

Run by test_monkeypatched.py in a subprocess (the pytest process stays
unpatched). Prints one JSON report line.
"""

# Always apply gevent monkey-patch before anything else!
from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import time  # noqa: E402
import urllib.parse  # noqa: E402
import urllib.request  # noqa: E402

from gevent.pywsgi import WSGIServer  # noqa: E402
from huey_mini import MiniHuey, crontab  # noqa: E402

mini_huey = MiniHuey(interval=0.05)
checked, heartbeats, pending = [], [], {}


@mini_huey.task()
def check_spam(comment):
    time.sleep(0.05)  # patched: yields to the server and the scheduler
    checked.append(comment)
    return 'spam' in comment


@mini_huey.task(crontab())  # every minute; the first check fires it
def heartbeat():
    heartbeats.append(time.time())


def app(environ, start_response):
    params = urllib.parse.parse_qs(environ.get('QUERY_STRING', ''))
    comment = params.get('comment', [''])[0]
    if environ['PATH_INFO'] == '/later':
        result = check_spam.schedule((comment,), delay=0.2)
    else:
        result = check_spam(comment)
    pending[result.id] = result
    start_response('202 Accepted', [('Content-Type', 'application/json')])
    return [json.dumps({'task_id': result.id}).encode()]


def request(port, path):
    with urllib.request.urlopen(f'http://127.0.0.1:{port}{path}', timeout=10) as response:
        return response.status, json.loads(response.read())


def main():
    started = time.time()
    mini_huey.start()  # returns immediately
    server = WSGIServer(('127.0.0.1', 0), app, log=None)
    server.start()
    port = server.server_port
    status, body = request(port, '/?comment=buy+cheap+spam')
    now_value = pending[body['task_id']].get(timeout=10)
    later_status, later_body = request(port, '/later?comment=hello')
    later_value = pending[later_body['task_id']].get(timeout=10)
    deadline = time.time() + 10
    while not heartbeats and time.time() < deadline:
        time.sleep(0.01)
    server.stop()
    mini_huey.stop()
    minutes_spanned = int(time.time() // 60) - int(started // 60) + 1
    print(
        json.dumps(
            {
                'minutes_spanned': minutes_spanned,
                'port': port,
                'status': status,
                'later_status': later_status,
                'now_value': now_value,
                'later_value': later_value,
                'checked': checked,
                'heartbeats': len(heartbeats),
                'scheduler_running': mini_huey.running,
            }
        )
    )


if __name__ == '__main__':
    main()
