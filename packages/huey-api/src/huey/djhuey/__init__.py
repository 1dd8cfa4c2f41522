"""``huey.djhuey``: the 0.x Django API; fails with one line naming what to install."""

from huey._optional import load

load('huey.djhuey', 'huey_legacy.djhuey', 'require_django_support', 'huey-legacy')()
