"""huey-django's admin registrations, under the classic app."""

import huey_django.admin  # noqa: F401
