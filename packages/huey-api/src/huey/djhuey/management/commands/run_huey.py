"""``manage.py run_huey`` for ``HUEY_CONFIG`` (huey-legacy's command)."""

from huey_legacy.djhuey.management.commands.run_huey import Command

__all__ = ['Command']
