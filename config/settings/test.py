"""Test settings: the embedded stack, or real services when their URLs are in the environment.

``tests/conftest.py`` decides per test which real service it needs and skips (or, with
REQUIRE_REAL_SERVICES=1, fails) when it is absent.
"""

from .base import *  # noqa: F403
from .env import env_str

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
# Added to base.py's options (jit=off), so the tests' queries are planned as production's.
if DATABASES["default"]["ENGINE"].endswith("postgresql"):  # noqa: F405
    _options = DATABASES["default"].setdefault("OPTIONS", {})  # noqa: F405
    _options["options"] = f"{_options.get('options', '')} -c oso.audit_truncate=allow".strip()

# `make test` runs the suite in two pytest-xdist workers at once (PYTEST_XDIST_WORKER is gw0,
# gw1…), each with its own test database but the same Redis: a worker's cache keys carry its
# name, so one worker's rate-limit counters, used TOTP codes and cached calendar are never
# read, or cleared between tests, by the other (tests/conftest.py clears only its own).
XDIST_WORKER = env_str("PYTEST_XDIST_WORKER")
if XDIST_WORKER:
    CACHES["default"]["KEY_PREFIX"] = XDIST_WORKER  # noqa: F405
    # And its own Celery queue on the shared broker: a worker a test starts (in process or
    # as a subprocess, which inherits PYTEST_XDIST_WORKER) takes only the tasks of its own
    # test database, never a message the other worker's test queued.
    _queue = env_str("CELERY_QUEUE", "celery")
    if not _queue.endswith(f"-{XDIST_WORKER}"):
        CELERY_TASK_DEFAULT_QUEUE = f"{_queue}-{XDIST_WORKER}"
