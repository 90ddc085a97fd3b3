"""The records pipeline's queueing: ``intake.records`` signals that a record is to be
scanned or verified, and these receivers queue the Celery task. The tasks import the
records module, so the records module sends signals rather than import the tasks."""

from typing import Any

from django.dispatch import receiver

from .records import record_stored, record_uploaded
from .tasks import record_scan, record_verify


@receiver(record_stored, dispatch_uid="intake.record_scan")
def scan_when_stored(sender: Any, record_id: int, **kwargs: Any) -> None:
    record_scan.delay(record_id)


@receiver(record_uploaded, dispatch_uid="intake.record_verify")
def verify_when_uploaded(sender: Any, record_id: int, **kwargs: Any) -> None:
    record_verify.delay(record_id)
