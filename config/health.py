"""/healthz: is each backing service reachable? Names and booleans only, never secrets."""

import logging
import os
import uuid

from django.core.cache import cache
from django.core.files.storage import default_storage
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .celery_app import app as celery_app

logger = logging.getLogger(__name__)


def _database() -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        return cursor.fetchone() == (1,)


def _cache() -> bool:
    key = f"healthz:{uuid.uuid4().hex}"
    cache.set(key, "1", 5)
    ok = cache.get(key) == "1"
    cache.delete(key)
    return ok


def _broker() -> bool:
    if celery_app.conf.task_always_eager:
        return True  # tasks run in process: there is no broker to reach
    with celery_app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
    return True


def _storage() -> bool:
    bucket = getattr(default_storage, "bucket_name", None)
    if bucket:
        # HEAD on the bucket: fails on a missing bucket or bad credentials, lists nothing.
        default_storage.connection.meta.client.head_bucket(Bucket=bucket)  # type: ignore[attr-defined]
        return True
    location = getattr(default_storage, "location", "")
    if not location:
        return False
    os.makedirs(location, exist_ok=True)  # the first upload would create it anyway
    return os.access(location, os.W_OK)


CHECKS = {"database": _database, "cache": _cache, "broker": _broker, "storage": _storage}


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    results: dict[str, bool] = {}
    for name, check in CHECKS.items():
        try:
            results[name] = bool(check())
        except Exception:  # a failing dependency is the answer, not an error
            logger.warning("healthz: %s unreachable", name)
            results[name] = False
    healthy = all(results.values())
    return JsonResponse(
        {"status": "ok" if healthy else "fail", "checks": results}, status=200 if healthy else 503
    )
