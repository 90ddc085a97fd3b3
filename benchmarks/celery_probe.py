"""The task benchmarks.celery_latency times: it only notes when it started.

The worker under test loads it with ``-I benchmarks.celery_probe`` beside the project's own
tasks (``config.celery_app``), so it runs in the same app, pool and settings as they do.
"""

import json
import time

import redis

from config.celery_app import app


@app.task(name="benchmarks.probe", ignore_result=True)
def probe(report_to: str, key: str, sent_at: float) -> None:
    """Pushes (sent_at, now) onto the Redis list ``key`` at ``report_to``."""
    started_at = time.time()
    client = redis.Redis.from_url(report_to)
    try:
        client.rpush(key, json.dumps([sent_at, started_at]))
    finally:
        client.close()
