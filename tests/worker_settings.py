"""Settings of the Celery worker subprocesses that tests/cases/test_worker_kill.py starts.

The test settings, but with what a production worker has: a real broker (CELERY_BROKER_URL),
tasks really queued, and SMTP to the test's loopback server. The broker's visibility timeout
is short (and checked every second) so a killed worker's unacknowledged message comes back
within the test instead of after an hour.
"""

from config.settings.env import env_int, env_str
from config.settings.test import *  # noqa: F403

CELERY_TASK_ALWAYS_EAGER = False
MAILERS = {
    "default": {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": env_str("EMAIL_HOST", "127.0.0.1"),
            "port": env_int("EMAIL_PORT", 25),
            "use_tls": False,
            # Longer than the test waits: the stalled send must still be in flight when killed.
            "timeout": env_int("EMAIL_TIMEOUT", 60),
        },
    }
}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600),
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
