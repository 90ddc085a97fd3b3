"""Celery tasks for slides. They take ids, reload, and are safe to run twice."""

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


@shared_task(acks_late=True, autoretry_for=(OSError,), retry_backoff=30, max_retries=5)
def slide_tiles_delete(storage_prefix: str) -> int:
    return services.slide_tiles_delete(storage_prefix)
