"""Index a slide as soon as its record is cleared by the scanner (a Celery task, after
commit); the viewer page indexes on first open too, so a lost task costs only a wait."""

import logging
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from intake.models import Record

from . import services
from .models import Slide
from .services import slide_local_copy_delete
from .tasks import slide_index, slide_tiles_delete

logger = logging.getLogger(__name__)


@receiver(post_save, sender=Record, dispatch_uid="slides.record_cleared")
def record_cleared(sender: type[Record], instance: Record, **kwargs: Any) -> None:
    update_fields = kwargs.get("update_fields")
    if update_fields is not None and "scan_status" not in update_fields:
        return
    if not (instance.is_cleared and services.is_candidate(instance)):
        return
    record_id = instance.pk
    transaction.on_commit(lambda: slide_index.delay(record_id))


@receiver(post_delete, sender=Slide, dispatch_uid="slides.slide_deleted")
def slide_deleted(sender: type[Slide], instance: Slide, **kwargs: Any) -> None:
    # Tiles are pictures of the patient's tissue: they go with the record (or the slide).
    prefix = instance.storage_prefix

    def cleanup() -> None:
        # The local copy here at once (this process may have made it); the tiles, and the
        # worker machine's copy, by the task. After the commit, so an error here (broker
        # down) is logged, never a failed delete or an error page for a done delete.
        slide_local_copy_delete(prefix)
        try:
            slide_tiles_delete.delay(prefix)
        except Exception:
            logger.warning("slides: tile deletion could not be queued", exc_info=True)

    transaction.on_commit(cleanup)
