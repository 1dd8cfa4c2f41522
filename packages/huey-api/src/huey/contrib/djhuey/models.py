"""huey-django's models (the admin's read-only queue view), under the classic app."""

from huey_django.models import *  # noqa: F403
