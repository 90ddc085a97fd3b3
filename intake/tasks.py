"""Celery tasks for records. They take ids, reload, and are safe to run twice."""

from datetime import timedelta

from celery import shared_task
from django.utils import timezone

from . import records
from .models import Record
from .scanning import ScanError
from .uploads import UploadRefused, multipart_abort


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=10, max_retries=5)
def record_verify(record_id: int) -> str:
    return records.record_verify(record_id=record_id).state


@shared_task(acks_late=True, autoretry_for=(ScanError, OSError), retry_backoff=30, max_retries=8)
def record_scan(record_id: int) -> str:
    return records.record_scan(record_id=record_id).scan_status


# S3's lifecycle rule (s3_configure_bucket) drops unfinished parts after 7 days; the rows
# of those never-finished uploads go at the same age.
ABANDONED_AFTER_DAYS = 7


@shared_task(acks_late=True)
def records_abandoned_cleanup() -> int:
    cutoff = timezone.now() - timedelta(days=ABANDONED_AFTER_DAYS)
    removed = 0
    for record in Record.objects.filter(state=Record.State.UPLOADING, uploaded_at__lt=cutoff):
        try:
            multipart_abort(record=record)
        except UploadRefused:
            continue  # finished meanwhile
        removed += 1
    return removed
