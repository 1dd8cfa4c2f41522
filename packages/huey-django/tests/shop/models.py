from django.db import models


class Order(models.Model):
    """Written by tasks, read back by the tests through the ORM."""

    number = models.CharField(max_length=40, unique=True)
    note = models.CharField(max_length=200, blank=True)


class Tick(models.Model):
    """One row per run of the periodic task."""

    source = models.CharField(max_length=40)
    created = models.DateTimeField(auto_now_add=True)
