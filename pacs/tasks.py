"""Celery tasks of the PACS app. They take ids, reload, and are safe to run twice."""

from celery import shared_task
from celery.utils.time import get_exponential_backoff_interval
from django.conf import settings

from .services import transfer_fail, transfer_send, transfers_stale
from .stow import PacsUnavailable


@shared_task(bind=True, acks_late=True)
def pacs_send(self, transfer_id: int) -> str:
    """Send a study's missing instances. While the PACS is unreachable the task retries
    with exponential backoff and jitter (PACS_RETRY_BACKOFF_SECONDS: 30 s, 1, 2, 4 … min,
    capped at 15 min), at most PACS_RETRY_MAX times; then the transfer fails with the reason.
    The backoff is a setting (not autoretry_for's decoration-time constant) so a test can
    restart a PACS within seconds."""
    try:
        return transfer_send(transfer_id=transfer_id)
    except PacsUnavailable as exc:
        retries = self.request.retries
        # Run in process (make run's eager Celery) there is no worker to come back later,
        # and a retry would surface in the coordinator's request: fail now, with the reason.
        if retries >= settings.PACS_RETRY_MAX or self.request.is_eager:
            transfer_fail(
                transfer_id=transfer_id,
                reason=f"the PACS could not be reached after {retries + 1} attempts ({exc}).",
            )
            return "failed"
        countdown = get_exponential_backoff_interval(
            factor=settings.PACS_RETRY_BACKOFF_SECONDS,
            retries=retries,
            maximum=15 * 60,
            full_jitter=True,
        )
        raise self.retry(exc=exc, countdown=countdown, max_retries=settings.PACS_RETRY_MAX) from exc


@shared_task(acks_late=True)
def pacs_sweep() -> int:
    if not settings.PACS_DICOMWEB_URL:
        return 0
    stale = transfers_stale()
    for transfer_id in stale:
        pacs_send.delay(transfer_id)
    return len(stale)
