"""The Django app ``huey.djhuey``: builds the invoker when Django starts, so a
wrong ``HUEY_CONFIG`` stops the project then."""

from __future__ import annotations

from django.apps import AppConfig

__all__ = ['DjHueyLegacyConfig']


class DjHueyLegacyConfig(AppConfig):
    name = 'huey.djhuey'
    label = 'djhuey'
    verbose_name = 'Huey (0.x)'

    def ready(self) -> None:
        from huey_legacy.djhuey.settings import invoker

        invoker()
