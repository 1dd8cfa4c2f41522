"""The reports app's tasks: found by ``run_huey`` like every app's ``tasks.py``."""

from huey.contrib.djhuey import db_task

from reports.models import Report


@db_task()
def write_report(title):
    Report.objects.create(title=title)
    return title.upper()
