"""The app's 0.x commands, found by ``run_huey`` like 0.x did."""

import os

from huey.djhuey.decorators import crontab, periodic_command, queue_command


@queue_command
def count_some_beans(how_many):
    return f'Counted {how_many} beans in process {os.getpid()}'


@periodic_command(crontab(minute='*/5'))
def every_five_minutes():
    return 'five minutes'
