"""Settings for the benchmark server: the project's own settings, served from a bench database.

Everything else (middleware, templates, cache, sessions, connection reuse) is left as the
project configures it, because the point is to measure what a real request pays.
"""

import copy
import os
from pathlib import Path

import dj_database_url

from config.settings.base import *  # noqa: F403
from config.settings.base import TEMPLATES as _BASE_TEMPLATES
from config.settings.env import env_int

DEFAULT_BENCH_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench_second_opinion"

DEBUG = False
ROOT_URLCONF = "benchmarks.urls"
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

# A database of its own so that seeding benchmark rows never touches development data.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("BENCH_DATABASE_URL", DEFAULT_BENCH_DATABASE_URL),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
}
if DATABASES["default"].get("ENGINE") == "django.db.backends.postgresql":
    DATABASES["default"].setdefault("OPTIONS", {}).update(POSTGRES_OPTIONS)  # noqa: F405

# Copied, not mutated: base's TEMPLATES is the same object other settings modules import.
TEMPLATES = copy.deepcopy(_BASE_TEMPLATES)
TEMPLATES[0]["DIRS"] = [Path(__file__).resolve().parent / "templates", *TEMPLATES[0]["DIRS"]]

# Redis as the cache, as production runs (production.py requires REDIS_URL): the pages read
# the clock's closures and policy, the queue's filter lists and allauth's rate limits from
# the cache, and a per-process memory cache would answer those from each worker's own dict,
# flattering every cached page. BENCH_REDIS_URL, else the environment's REDIS_URL, else a
# local Redis. The key prefix is the bench database's name: two bench databases (1,000 and
# 1,000,000 cases) share a Redis, and a cached list of one must never serve the other.
BENCH_REDIS_URL = os.environ.get("BENCH_REDIS_URL") or os.environ.get(
    "REDIS_URL", "redis://127.0.0.1:6379/0"
)
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": BENCH_REDIS_URL,
        "KEY_PREFIX": f"bench:{DATABASES['default'].get('NAME', '')}",
    }
}
# And so the sessions as production keeps them (config/settings/base.py: cached_db with Redis).
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"

# The upload benchmark's S3 is moto, which assembles a completed multipart upload inside the
# CompleteMultipartUpload call: over a minute for 2 GiB on a busy machine, where real S3
# answers in seconds. botocore's 60 s read timeout then fails the completion (and moto
# cannot take the retry), so `benchmarks.upload --worker-timeout` raises this with
# gunicorn's timeout; every other option stays as base.py sets it.
BENCH_S3_READ_TIMEOUT = os.environ.get("BENCH_S3_READ_TIMEOUT")
if BENCH_S3_READ_TIMEOUT and STORAGES["default"]["BACKEND"] == "storages.backends.s3.S3Storage":  # noqa: F405
    from botocore.config import Config

    STORAGES = copy.deepcopy(STORAGES)  # noqa: F405
    options = STORAGES["default"]["OPTIONS"]
    options["client_config"] = Config(
        s3={"addressing_style": None},
        signature_version=options["signature_version"],
        read_timeout=int(BENCH_S3_READ_TIMEOUT),
    )
