"""``huey.contrib.djhuey.tasks_backend.HueyBackend``: huey-django's django.tasks backend."""

from huey_django.tasks_backend import HueyBackend, HueyTaskBackend

__all__ = ['HueyBackend', 'HueyTaskBackend']
