"""``huey.djhuey.decorators``: ``queue_command``, ``periodic_command``, ``crontab``."""

from huey_legacy.djhuey.decorators import *  # noqa: F403
from huey_legacy.djhuey.decorators import __all__  # noqa: F401
