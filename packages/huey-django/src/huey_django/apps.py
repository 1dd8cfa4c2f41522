"""The Django app: ``INSTALLED_APPS = [..., 'huey_django']`` (or ``'huey.contrib.djhuey'``)."""

from __future__ import annotations

import importlib.util

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

        if _tasks_framework_installed():
            # registers the huey task that runs Django tasks, so the consumer knows it
            import huey_django.tasks_backend  # noqa: F401


def _tasks_framework_installed() -> bool:
    """django.tasks (Django 6) or its django-tasks backport is importable."""
    for module in ('django.tasks', 'django_tasks'):
        try:
            if importlib.util.find_spec(module) is not None:
                return True
        except ImportError:
            pass
    return False
