"""Settings shared by every environment; everything configurable comes from the environment.

The defaults are the embedded local stack (SQLite, eager Celery, local files, file-based
mail). ``production.py`` refuses to start without the values production needs.
"""

from pathlib import Path

import dj_database_url
from xstatic.pkg import bootstrap as xstatic_bootstrap

from .csp import content_security_policy
from .env import env_bool, env_float, env_int, env_list, env_str

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(env_str("VAR_DIR", str(BASE_DIR / "var")))

# Local-only key; production.py requires SECRET_KEY from the environment.
SECRET_KEY = env_str("SECRET_KEY", "local-development-key-not-for-production-use-0123456789abcdef")
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

SITE_NAME = env_str("SITE_NAME", "Online Second Opinion")
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
HOSPITAL_NAME = env_str("HOSPITAL_NAME", "Children's Hospital")
SUPPORT_EMAIL = env_str("SUPPORT_EMAIL", "onlinesecondopinion@example.org")
SUPPORT_HOURS = "Monday to Friday, 9 a.m. to 5 p.m. Pacific"
IN_PERSON_PHONE = env_str("IN_PERSON_PHONE", "323-660-2450")
TRANSFER_PHONE = env_str("TRANSFER_PHONE", "888-631-2452")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "crispy_forms",
    "crispy_bootstrap5",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "core",
    "accounts",
    "cases",
    "intake",
    "billing",
    "reports",
    "imaging",
    "slides",
    "pacs",
    "demo",
]

MIDDLEWARE = [
    "config.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    # After messages: signing out at a session limit tells the person why.
    "accounts.middleware.SessionPolicyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.StaffMfaMiddleware",
    "config.middleware.NoStoreForAuthenticatedMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "config.context_processors.site",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
# No JIT compilation in PostgreSQL: the portal's queries are short reads that the planner
# sometimes costs above jit_above_cost on a large table (the dashboard at 100,000 cases spent
# about 2 s of 2.8 s compiling); compiling never pays off for queries this size.
# (production.py and benchmarks/settings.py parse their own URL and apply the same options.)
POSTGRES_OPTIONS = {"options": "-c jit=off"}
if DATABASES["default"].get("ENGINE") == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).update(POSTGRES_OPTIONS)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default (make run) must hold concurrent requests: WAL lets readers and
    # the writer overlap, the busy timeout makes a writer wait for the lock instead of
    # failing, and IMMEDIATE takes the write lock when a transaction starts, since a
    # deferred one upgrading its read lock mid-way fails at once ("database is locked").
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL",
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env_str("CACHE_URL", REDIS_URL),
        }
    }
else:
    # A real (per-process) cache, never the dummy one: allauth's rate limits live here.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_USER_MODEL = "accounts.User"
# allauth's backend, with each user's permissions cached (accounts.backends): every console
# page checks them, and reading them costs two queries a request.
AUTHENTICATION_BACKENDS = ["accounts.backends.CachedPermissionsBackend"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "dashboard"

# django-allauth: email is the login, verification is mandatory, no account enumeration.
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_EMAIL_VERIFICATION_BY_CODE_ENABLED = False
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_PREVENT_ENUMERATION = True
ACCOUNT_CHANGE_EMAIL = True
ACCOUNT_EMAIL_NOTIFICATIONS = True
ACCOUNT_SESSION_REMEMBER = False
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = False
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_DEFAULT_HTTP_PROTOCOL = "https" if SITE_URL.startswith("https") else "http"
ACCOUNT_EMAIL_SUBJECT_PREFIX = f"[{SITE_NAME}] "
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "login": "30/m/ip",
    "signup": "20/m/ip",
    "confirm_email": "1/3m/key",
    "reset_password": "20/m/ip,5/m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "manage_email": "10/m/user",
    "reauthenticate": "10/m/user",
}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = SITE_NAME
MFA_ADAPTER = "accounts.adapter.MfaAdapter"

# Sessions: 30 minutes idle (the expiry moves at most once a minute), 12 hours absolute
# (accounts.middleware.SessionPolicyMiddleware), a new key at login (django.contrib.auth).
# With Redis, read from the cache and written to both (cached_db): every signed-in page
# read its session row. Only with a cache every process shares: with the per-process
# memory cache, a process would keep serving a session that another one signed out.
# Nothing here deletes session rows behind the store's back (logout and the key's rotation
# at login go through it); the user, their password hash and is_active are still read
# fresh on every request, so a deactivation or a password change counts at once.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db"
    if CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    else "django.contrib.sessions.backends.db"
)
SESSION_IDLE_SECONDS = env_int("SESSION_IDLE_SECONDS", 30 * 60)
SESSION_ABSOLUTE_SECONDS = env_int("SESSION_ABSOLUTE_SECONDS", 12 * 60 * 60)
SESSION_COOKIE_AGE = SESSION_IDLE_SECONDS
# The session is saved when it changes; accounts.middleware refreshes "last seen" (and so
# the expiry) at most once a minute rather than saving on every request.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"

X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "America/Los_Angeles"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    ("vendor/bootstrap", xstatic_bootstrap.BASE_DIR),
]
MEDIA_ROOT = Path(env_str("MEDIA_ROOT", str(VAR_DIR / "media")))
MEDIA_URL = "/media-not-served/"

# Files: local disk by default, a private S3 bucket when AWS_STORAGE_BUCKET_NAME is set.
AWS_STORAGE_BUCKET_NAME = env_str("AWS_STORAGE_BUCKET_NAME")
AWS_S3_ENDPOINT_URL = env_str("AWS_S3_ENDPOINT_URL") or None
AWS_S3_REGION_NAME = env_str("AWS_S3_REGION_NAME", "us-west-2")
DOWNLOAD_URL_SECONDS = 300
if AWS_STORAGE_BUCKET_NAME:
    default_storage = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": AWS_S3_ENDPOINT_URL,
            "region_name": AWS_S3_REGION_NAME,
            "default_acl": "private",
            "querystring_auth": True,
            "querystring_expire": DOWNLOAD_URL_SECONDS,
            "file_overwrite": False,
            "object_parameters": {"ServerSideEncryption": "AES256"},
            "signature_version": "s3v4",
        },
    }
else:
    default_storage = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(MEDIA_ROOT), "base_url": MEDIA_URL},
    }
STORAGES = {
    "default": default_storage,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Email: written to var/mail locally, SMTP when EMAIL_HOST is set. Only Celery tasks send.
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"{SITE_NAME} <no-reply@example.org>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
if env_str("EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": env_str("EMAIL_HOST"),
                "port": env_int("EMAIL_PORT", 587),
                "username": env_str("EMAIL_HOST_USER"),
                "password": env_str("EMAIL_HOST_PASSWORD"),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
                "timeout": env_int("EMAIL_TIMEOUT", 20),
            },
        }
    }
else:
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.filebased.EmailBackend",
            "OPTIONS": {"file_path": str(VAR_DIR / "mail")},
        }
    }

# Celery (config/celery_app.py reads the CELERY_ namespace).
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", REDIS_URL or "memory://")
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = env_str("CELERY_QUEUE", "celery")
CELERY_BEAT_SCHEDULE: dict[str, dict] = {
    "clock-sweep": {"task": "cases.tasks.clock_sweep", "schedule": 15 * 60},
    "outbox-sweep": {"task": "core.tasks.outbox_sweep", "schedule": 5 * 60},
    "report-physician-reminders": {
        "task": "reports.tasks.physician_reminders",
        "schedule": 60 * 60,
    },
    "report-render-sweep": {"task": "reports.tasks.render_sweep", "schedule": 30 * 60},
    "records-abandoned-cleanup": {
        "task": "intake.tasks.records_abandoned_cleanup",
        "schedule": 6 * 60 * 60,
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "config.logging.RedactingFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"}
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["redact"],
            "formatter": "plain",
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        # django.server logs every request line locally; keep it, it holds only path + status.
        "django.request": {"level": "ERROR"},
        "django.db.backends": {"level": "WARNING"},
    },
}

DEMO_PASSWORD = env_str("DEMO_PASSWORD", "SecondOpinion-demo-2026")
DEMO_TOTP_SECRET = env_str("DEMO_TOTP_SECRET", "JBSWY3DPEHPK3PXP")

# Malware scanning of records (clamd's INSTREAM over TCP); empty host = no scanner here.
CLAMD_HOST = env_str("CLAMD_HOST")
CLAMD_PORT = env_int("CLAMD_PORT", 3310)
# "clamd" everywhere but config/settings/local.py, whose "development" mode passes records
# unscanned and marks them so (Record.Scan.DEVELOPMENT): make run has no clamd.
SCANNER = "clamd"
FILE_UPLOAD_TEMP_DIR = env_str("FILE_UPLOAD_TEMP_DIR") or None
ACCOUNT_FORMS = {"signup": "accounts.forms.SignupForm"}

# --- Limits of the bounded child processes ------------------------------------------------
# Every decoder of an uploaded file, and the PDF renderer, runs in a child process with a
# time and memory limit (core/bounded.py); a file too large is refused before it is read.
# Report PDFs (core/pdf/): PDF_RENDER_SECONDS covers a report of up to ten pages, each
# further page adds PDF_RENDER_SECONDS_PER_PAGE, never beyond PDF_RENDER_MAX_SECONDS.
PDF_RENDER_SECONDS = env_int("PDF_RENDER_SECONDS", 20)
PDF_RENDER_SECONDS_PER_PAGE = env_float("PDF_RENDER_SECONDS_PER_PAGE", 1.5)
PDF_RENDER_MAX_SECONDS = env_int("PDF_RENDER_MAX_SECONDS", 120)
PDF_RENDER_MEMORY_MB = env_int("PDF_RENDER_MEMORY_MB", 1024)
PDF_MAX_RESOURCE_BYTES = env_int("PDF_MAX_RESOURCE_BYTES", 10 * 1024 * 1024)
# The record viewer (core/previews/, reports/viewer.py): PDFs, pictures and DICOM as PNGs.
VIEWER_MAX_SOURCE_MB = env_int("VIEWER_MAX_SOURCE_MB", 64)
VIEWER_MAX_PAGES = env_int("VIEWER_MAX_PAGES", 50)
VIEWER_MAX_SIDE_PX = env_int("VIEWER_MAX_SIDE_PX", 1600)
VIEWER_MAX_IMAGE_PIXELS = env_int("VIEWER_MAX_IMAGE_PIXELS", 50_000_000)
VIEWER_RENDER_SECONDS = env_int("VIEWER_RENDER_SECONDS", 20)
VIEWER_RENDER_MEMORY_MB = env_int("VIEWER_RENDER_MEMORY_MB", 1024)
# The imaging indexer (imaging/indexing.py) reads a whole study zip in one child;
# IMAGING_LIMITS overrides imaging.dicomfiles.Limits (counts and sizes inside a study).
IMAGING_INDEX_SECONDS = env_int("IMAGING_INDEX_SECONDS", 15 * 60)
IMAGING_INDEX_MEMORY_MB = env_int("IMAGING_INDEX_MEMORY_MB", 1024)
IMAGING_MAX_RECORD_MB = env_int("IMAGING_MAX_RECORD_MB", 5 * 1024)
IMAGING_LIMITS: dict[str, int] = {}
# Whole-slide images (slides/services.py): opened once per slide, tiles drawn by a small
# pool of children; the local copies of open slides live in SLIDES_CACHE_DIR (default: a
# private folder in the system's temporary directory).
SLIDES_GRANT_SECONDS = env_int("SLIDES_GRANT_SECONDS", 10 * 60)
SLIDES_MAX_SOURCE_MB = env_int("SLIDES_MAX_SOURCE_MB", 5 * 1024)
SLIDES_OPEN_SECONDS = env_int("SLIDES_OPEN_SECONDS", 30)
SLIDES_MEMORY_MB = env_int("SLIDES_MEMORY_MB", 1024)
SLIDES_TILE_WORKERS = env_int("SLIDES_TILE_WORKERS", 2)
SLIDES_TILE_SECONDS = env_int("SLIDES_TILE_SECONDS", 10)
SLIDES_CACHE_DIR = env_str("SLIDES_CACHE_DIR")
# --- end of limits -------------------------------------------------------------------------

# --- Billing documents (receipts, superbills, no-charge statements) -----------------------
# What an insurer needs on a superbill. The defaults are demo values: set the real ones in
# the environment of every deployment that issues documents.
HOSPITAL_ADDRESS = env_str("HOSPITAL_ADDRESS", "100 Example Avenue, Los Angeles, CA 90027")
HOSPITAL_TAX_ID = env_str("HOSPITAL_TAX_ID", "12-3456789")
HOSPITAL_NPI = env_str("HOSPITAL_NPI", "1234567893")
SUPERBILL_PLACE_OF_SERVICE = env_str("SUPERBILL_PLACE_OF_SERVICE", "02 Telehealth")
SERVICE_DESCRIPTION = env_str(
    "SERVICE_DESCRIPTION",
    "Online second opinion: a written review of the child's medical records by a "
    "pediatric specialist (no in-person visit)",
)
# --- end of billing documents -------------------------------------------------------------

# --- Stripe ---------------------------------------------------------------------------------
# billing/stripe_client.py is the only module that talks to Stripe. `make run`, CI and the
# tests point these at localstripe on loopback; production at Stripe (no STRIPE_API_BASE).
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_PUBLISHABLE_KEY = env_str("STRIPE_PUBLISHABLE_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env_str("STRIPE_API_BASE").rstrip("/")  # empty: https://api.stripe.com
STRIPE_JS_URL = env_str("STRIPE_JS_URL", "https://js.stripe.com/v3/")
STRIPE_WEBHOOK_TOLERANCE = 300  # seconds: an older signed timestamp is refused (replays)

# The Content Security Policy (config/settings/csp.py) allows the bucket's and Stripe's
# origins set above.
SECURE_CSP = content_security_policy(
    s3_endpoint_url=AWS_S3_ENDPOINT_URL,
    s3_bucket=AWS_STORAGE_BUCKET_NAME,
    s3_region=AWS_S3_REGION_NAME,
    stripe_js_url=STRIPE_JS_URL,
    stripe_api_base=STRIPE_API_BASE,
)
# The SDK logs every request at INFO; failures reach our own logs through billing.services.
LOGGING["loggers"]["stripe"] = {"level": "WARNING"}  # type: ignore[index]
# --- end of Stripe --------------------------------------------------------------------------

# --- PACS forwarding ------------------------------------------------------------------------
# The DICOMweb root of the hospital's PACS (STOW-RS to store, QIDO-RS to check), for example
# https://pacs.example.org/dicom-web. Empty: forwarding is off and the console says so.
PACS_DICOMWEB_URL = env_str("PACS_DICOMWEB_URL").rstrip("/")
PACS_USERNAME = env_str("PACS_USERNAME")  # HTTP basic auth; both empty: no auth
PACS_PASSWORD = env_str("PACS_PASSWORD")
# Small STOW-RS requests: a dropped connection costs one batch, and the PACS's answer says
# per instance what it stored, which is what a resumed send skips.
PACS_STOW_BATCH = env_int("PACS_STOW_BATCH", 5)
PACS_STOW_BATCH_BYTES = env_int("PACS_STOW_BATCH_BYTES", 32 * 1024 * 1024)
PACS_TIMEOUT_SECONDS = env_int("PACS_TIMEOUT_SECONDS", 120)
# While the PACS is unreachable: exponential backoff from this many seconds (with jitter,
# capped at 15 minutes), at most PACS_RETRY_MAX retries before the transfer fails.
PACS_RETRY_BACKOFF_SECONDS = env_int("PACS_RETRY_BACKOFF_SECONDS", 30)
PACS_RETRY_MAX = env_int("PACS_RETRY_MAX", 8)
# A transfer whose task message was lost (broker down when it was queued) is sent again.
CELERY_BEAT_SCHEDULE["pacs-sweep"] = {"task": "pacs.tasks.pacs_sweep", "schedule": 15 * 60}
# --- end of PACS forwarding -----------------------------------------------------------------
