"""Test settings: the embedded stack, or real services when their URLs are in the environment.

``tests/conftest.py`` decides per test which real service it needs and skips (or, with
REQUIRE_REAL_SERVICES=1, fails) when it is absent.
"""

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
CELERY_TASK_ALWAYS_EAGER = True
SITE_URL = "http://testserver"
# Serve static files straight from the finders (no collectstatic before tests or live_server).
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
