"""``INSTALLED_APPS = [..., 'huey.contrib.djhuey.stats']``: huey's task statistics
for Django, from the huey-django distribution (``huey_django.stats_app``)."""
