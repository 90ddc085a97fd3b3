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

# The audit log refuses TRUNCATE (cases migration 0008), but pytest-django empties every table
# with one TRUNCATE after each transactional test. Only test sessions carry this setting; the
# application's own settings never do, so production and development still refuse it.
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    DATABASES["default"].setdefault("OPTIONS", {})["options"] = "-c oso.audit_truncate=allow"  # noqa: F405
