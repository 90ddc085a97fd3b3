import os

from django.core.wsgi import get_wsgi_application

# Served by gunicorn in production: production settings unless the environment asks for
# others (make run serves through manage.py, which asks for config.settings.local).
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.production")

application = get_wsgi_application()
