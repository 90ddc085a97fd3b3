"""Celery tasks of the imaging app. They take ids only (no PHI), reload, and are safe to
run twice: indexing a record again replaces what it added."""

from celery import shared_task

from . import indexing


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def record_index(record_id: int) -> str:
    index = indexing.record_index(record_id=record_id)
    return index.state if index is not None else "skipped"
