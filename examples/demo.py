"""The guide's first example: an ``add`` task on the embedded SQLite storage."""

import os

from huey import SqliteHuey, crontab

huey = SqliteHuey(filename=os.environ.get('HUEY_DEMO_DB', '/tmp/demo.db'))


@huey.task()
def add(a, b):
    return a + b


@huey.task(retries=2, retry_delay=1)
def flaky_divide(a, b):
    return a / b


@huey.periodic_task(crontab(minute='*/3'))
def every_three_minutes():
    print('This task runs every three minutes')
