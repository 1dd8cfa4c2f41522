"""No tables: one unmanaged model gives the queue its place in the Django admin.

Everything the admin shows is read from huey's storage when the page is
rendered, so there is no second copy of the queue to get out of date.
"""

from __future__ import annotations

from django.db import models

__all__ = ['Queue']


class Queue(models.Model):
    """The admin entry "Huey > Queue" (see ``huey_django.admin``)."""

    class Meta:
        managed = False
        app_label = 'huey_django'
        verbose_name = 'queue'
        verbose_name_plural = 'queue'
        # view: see the queue; change: requeue or delete dead letters
        default_permissions = ('view', 'change')
