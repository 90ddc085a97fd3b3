"""Production: refuses to start without the values that must never default."""

import dj_database_url

from .base import *  # noqa: F403
from .base import DATABASES, POSTGRES_OPTIONS, REDIS_URL
from .env import env_bool, env_int, env_list, env_required

SECRET_KEY = env_required("SECRET_KEY")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS")
if not ALLOWED_HOSTS or "*" in ALLOWED_HOSTS:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("ALLOWED_HOSTS must list the real host names (no '*').")
DATABASES["default"] = dj_database_url.parse(
    env_required("DATABASE_URL"), conn_max_age=60, conn_health_checks=True
)
if DATABASES["default"].get("ENGINE") == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).update(POSTGRES_OPTIONS)
DEBUG = False
if not REDIS_URL:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("REDIS_URL is required in production (broker, cache, rate limits).")

if MAILERS["default"]["BACKEND"] != "django.core.mail.backends.smtp.EmailBackend":  # noqa: F405
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured("EMAIL_HOST is required in production (SMTP).")

# Stripe, and what superbills print for insurers: the demo defaults must never reach one.
for _name in (
    "STRIPE_SECRET_KEY",
    "STRIPE_PUBLISHABLE_KEY",
    "STRIPE_WEBHOOK_SECRET",
    "HOSPITAL_ADDRESS",
    "HOSPITAL_TAX_ID",
    "HOSPITAL_NPI",
):
    env_required(_name)

# Every record is scanned: without a scanner records would wait forever, unseen by
# specialists, so refuse to start instead (and never pass files unscanned here).
SCANNER = "clamd"
env_required("CLAMD_HOST")

SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 63072000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
STORAGES["staticfiles"] = {  # noqa: F405
    "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
}
