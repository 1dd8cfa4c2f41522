"""The 0.x Django integration (``huey.djhuey``: ``HUEY_CONFIG``,
``@queue_command``) is not built yet: importing ``huey.djhuey`` fails with one
line saying what to install, and that the modern ``huey.contrib.djhuey``
(huey-django) is the way for now.
"""

from __future__ import annotations

import importlib.util

__all__ = ['require_django_support']

MESSAGE = (
    'huey.djhuey (the 0.x Django API: HUEY_CONFIG, @queue_command, run_huey) needs '
    'the huey-django distribution: pip install huey-django huey-legacy'
)


def require_django_support() -> None:
    """Raise ImportError naming what to install (huey-django is not available)."""
    # find_spec, not import: importing huey_django reads Django's settings
    if importlib.util.find_spec('huey_django') is None:
        raise ImportError(MESSAGE)
    raise ImportError(
        MESSAGE + ' (huey-django is installed but has no 0.x support yet: '
        "use INSTALLED_APPS = [..., 'huey.contrib.djhuey'] and settings.HUEY)"
    )
