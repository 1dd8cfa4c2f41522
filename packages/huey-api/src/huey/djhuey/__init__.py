"""``huey.djhuey``: the 0.x Django app (``HUEY_CONFIG``); fails with one line
naming what to install when huey-django is missing."""

from huey._optional import load

load('huey.djhuey', 'huey_legacy.djhuey', 'require_django_support', 'huey-legacy')()
