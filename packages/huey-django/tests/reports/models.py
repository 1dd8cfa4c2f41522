from django.db import models


class Report(models.Model):
    title = models.CharField(max_length=80)
