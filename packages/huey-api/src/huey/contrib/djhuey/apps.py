"""The Django app behind ``INSTALLED_APPS = [..., 'huey.contrib.djhuey']``."""

from huey_django import apps


class DjHueyConfig(apps.HueyDjangoConfig):
    name = 'huey.contrib.djhuey'
    default = True
