"""``manage.py run_huey``, from huey-django."""

from huey_django.management.commands.run_huey import Command

__all__ = ['Command']
