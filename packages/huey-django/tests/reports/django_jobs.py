"""Tasks of Django's own Tasks framework (``@task``), run by the huey backend."""

try:
    from django.tasks import task
except ImportError:  # Django < 6: the django-tasks backport
    from django_tasks import task

from reports.models import Report


@task
def multiply(a, b):
    return a * b


@task
def explode():
    raise ValueError('kapow')


@task(takes_context=True)
def attempt(context, x):
    return [context.attempt, x]


@task
def save_report(title):
    Report.objects.create(title=title)
    return {'saved': title}


@task
def unserializable():
    return object()


# module level, but not importable by its path ('<lambda>'): refused at enqueue
anonymous = task(lambda: 1)


@task
async def add_async(a, b):
    return a + b
