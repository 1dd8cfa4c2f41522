"""The Django app behind ``INSTALLED_APPS = [..., 'huey.djhuey']``."""

from huey_legacy.djhuey.apps import DjHueyLegacyConfig

__all__ = ['DjHueyLegacyConfig']
