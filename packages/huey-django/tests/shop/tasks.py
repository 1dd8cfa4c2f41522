"""The shop app's tasks, written the way huey's Django users write them."""

from django.db import connection
from huey import crontab
from huey.contrib.djhuey import db_periodic_task, db_task, on_commit_task, task

from shop.models import Order, Tick


@task()
def add(a, b):
    return a + b


@db_task()
def create_order(number, note=''):
    Order.objects.create(number=number, note=note)
    return Order.objects.filter(number=number).count()


@db_task()
def database_backend():
    return connection.vendor


@on_commit_task()
def create_order_on_commit(number):
    Order.objects.create(number=number, note='on commit')
    return number


@db_periodic_task(crontab(minute='*'))
def tick():
    Tick.objects.create(source='periodic')


@task()
def fail():
    raise ValueError('the shop is closed')
