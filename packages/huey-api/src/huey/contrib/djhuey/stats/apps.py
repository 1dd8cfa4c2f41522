"""The Django app of ``huey.contrib.djhuey.stats`` (huey-django's ``HueyStatsConfig``)."""

from huey_django.stats_app import HueyStatsConfig

__all__ = ['HueyStatsConfig']
