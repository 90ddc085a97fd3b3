"""Celery tasks for records. They take ids, reload, and are safe to run twice."""

from celery import shared_task

from . import records
from .scanning import ScanError


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=10, max_retries=5)
def record_verify(record_id: int) -> str:
    return records.record_verify(record_id=record_id).state


@shared_task(acks_late=True, autoretry_for=(ScanError, OSError), retry_backoff=30, max_retries=8)
def record_scan(record_id: int) -> str:
    return records.record_scan(record_id=record_id).scan_status
