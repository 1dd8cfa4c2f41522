"""The Django app: ``INSTALLED_APPS = [..., 'huey_django']`` (or ``'huey.contrib.djhuey'``)."""

from __future__ import annotations

from django.apps import AppConfig

__all__ = ['HueyDjangoConfig']


class HueyDjangoConfig(AppConfig):
    """Reads ``settings.HUEY`` when Django starts, so a wrong setting fails then."""

    name = 'huey_django'
    label = 'huey_django'
    verbose_name = 'Huey'
    default_auto_field = 'django.db.models.AutoField'

    def ready(self) -> None:
        import huey_django  # noqa: F401  (builds HUEY from settings.HUEY)
