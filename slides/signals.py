"""Index a slide as soon as its record is cleared by the scanner (a Celery task, after
commit); the viewer page indexes on first open too, so a lost task costs only a wait."""

from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from intake.models import Record

from .models import Slide


@receiver(post_save, sender=Record, dispatch_uid="slides.record_cleared")
def record_cleared(sender: type[Record], instance: Record, **kwargs: Any) -> None:
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and "scan_status" not in update_fields:
        return
    from . import services

    if not (instance.is_cleared and services.is_candidate(instance)):
        return
    from .tasks import slide_index

    record_id = instance.pk
    transaction.on_commit(lambda: slide_index.delay(record_id))


@receiver(post_delete, sender=Slide, dispatch_uid="slides.slide_deleted")
def slide_deleted(sender: type[Slide], instance: Slide, **kwargs: Any) -> None:
    # Tiles are pictures of the patient's tissue: they go with the record (or the slide).
    from .tasks import slide_tiles_delete

    prefix = instance.storage_prefix
    transaction.on_commit(lambda: slide_tiles_delete.delay(prefix))
