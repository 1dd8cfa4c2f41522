"""``huey.contrib.stats``: huey's task statistics API, from the huey-monitor distribution."""

import importlib.util

if importlib.util.find_spec('huey_monitor') is None:
    raise ImportError(
        'huey.contrib.stats needs the huey-monitor distribution: pip install huey-monitor'
    )

from huey_monitor.stats import *  # noqa: E402,F403
from huey_monitor.stats import __all__, _resolve_db  # noqa: E402,F401  (huey's tests use it)
