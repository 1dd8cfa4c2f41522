"""The Django app behind ``INSTALLED_APPS = [..., 'huey.contrib.djhuey']``: huey-django
under its classic module path (same label, templates and commands)."""

import os

from huey_django import apps


class DjHueyConfig(apps.HueyDjangoConfig):
    name = 'huey.contrib.djhuey'
    path = os.path.dirname(apps.__file__)
    default = True
