"""The 0.x Django integration (``huey.djhuey``) needs a huey-django distribution.

This tree has none yet, so importing ``huey.djhuey`` fails with one line
saying what to install.
"""

from __future__ import annotations

__all__ = ['require_django_support']

MESSAGE = (
    'huey.djhuey (the 0.x Django API: HUEY_CONFIG, @queue_command, run_huey) needs '
    'the huey-django distribution: pip install huey-django huey-legacy'
)


def require_django_support() -> None:
    """Raise ImportError naming what to install (huey-django is not available)."""
    try:
        import huey_django  # noqa: F401
    except ImportError:
        raise ImportError(MESSAGE) from None
    raise ImportError(MESSAGE + ' (huey-django is installed but has no 0.x support yet)')
