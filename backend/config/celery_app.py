"""The Celery app. Configuration comes from Django settings under the CELERY_ namespace;
tasks are discovered in each app's tasks.py."""
import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.base")

app = Celery("lailiao")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
