import os

from celery import Celery

# A worker or beat is a production process unless the environment asks for other settings
# (tests set config.settings.test; a local worker is started with config.settings.local).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

app = Celery("second_opinion")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
