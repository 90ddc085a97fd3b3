"""Celery tasks for slides. They take ids, reload, and are safe to run twice."""

from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task

from intake.models import Record

from . import services


@shared_task(acks_late=True)
def slide_index(record_id: int) -> str:
    record = Record.objects.filter(pk=record_id).first()
    if record is None:
        return "gone"
    slide = services.slide_index(record)
    return slide.state if slide is not None else "not a slide"


# Storage errors are retried: OSError from a file system, botocore's errors from S3 (which
# are not OSErrors). Tiles of a deleted slide must not stay behind.
@shared_task(
    acks_late=True,
    autoretry_for=(OSError, BotoCoreError, ClientError),
    retry_backoff=30,
    max_retries=5,
)
def slide_tiles_delete(storage_prefix: str) -> int:
    return services.slide_tiles_delete(storage_prefix)
