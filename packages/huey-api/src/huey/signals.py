"""``huey.signals``: the SIGNAL_* names receivers compare against."""

from huey_api import signals as _signals
from huey_api.signals import *  # noqa: F403  (the list lives in huey_api.signals)

__all__ = [name for name in _signals.__all__ if name.startswith('SIGNAL')]
