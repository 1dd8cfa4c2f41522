"""``huey.decorators``: the 0.x ``queue_command`` / ``periodic_command`` (deprecated),
from huey-legacy."""

from huey_crontab import crontab

from huey._optional import load

queue_command = load('huey.decorators', 'huey_legacy.decorators', 'queue_command', 'huey-legacy')
periodic_command = load(
    'huey.decorators', 'huey_legacy.decorators', 'periodic_command', 'huey-legacy'
)

__all__ = ['crontab', 'periodic_command', 'queue_command']
