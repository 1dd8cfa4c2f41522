"""The 0.x Django integration behind ``huey.djhuey``: ``HUEY_CONFIG`` in the
settings, ``@queue_command`` / ``@periodic_command`` and ``manage.py run_huey``.

It runs on huey-django (its ``run_huey`` machinery); without that
distribution importing ``huey.djhuey`` fails with one line saying what to
install. This module itself never reads Django's settings.
"""

from __future__ import annotations

import importlib.util

__all__ = ['require_django_support']

MESSAGE = (
    'huey.djhuey (the 0.x Django API: HUEY_CONFIG, @queue_command, run_huey) needs '
    'the huey-django distribution: pip install huey-django huey-legacy '
    '(or pip install huey-legacy[django])'
)


def require_django_support() -> None:
    """Raise ImportError naming what to install when huey-django is missing."""
    # find_spec, not import: importing huey_django reads Django's settings
    if importlib.util.find_spec('huey_django') is None:
        raise ImportError(MESSAGE)
