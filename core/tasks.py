"""The outbox's Celery tasks. They take ids, reload, and are safe to run twice."""

import logging
from datetime import timedelta

from celery import shared_task
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .models import OutboundEmail
from .signals import email_sent

logger = logging.getLogger(__name__)

# A claim older than this belongs to a worker that died mid-send; the task may take it over.
STALE_CLAIM = timedelta(minutes=10)


@shared_task(
    bind=True,
    autoretry_for=(OSError,),
    retry_backoff=30,
    retry_backoff_max=15 * 60,
    max_retries=8,
)
def email_send(self, email_id: int) -> str:
    now = timezone.now()
    # Claim the row with a conditional update: of two workers holding the same task
    # (redelivery after a lost worker, or a duplicate), only one gets rowcount 1.
    claimed = OutboundEmail.objects.filter(
        Q(state__in=[OutboundEmail.State.PENDING, OutboundEmail.State.FAILED])
        | Q(state=OutboundEmail.State.SENDING, claimed_at__lt=now - STALE_CLAIM),
        pk=email_id,
    ).update(state=OutboundEmail.State.SENDING, claimed_at=now)
    if claimed != 1:
        return "skipped"
    email = OutboundEmail.objects.get(pk=email_id)
    message = EmailMultiAlternatives(subject=email.subject, body=email.text, to=[email.to])
    if email.html:
        message.attach_alternative(email.html, "text/html")
    try:
        message.send(using="default")
    except OSError as exc:  # smtplib errors are OSErrors: retried with backoff
        OutboundEmail.objects.filter(pk=email_id).update(
            state=OutboundEmail.State.FAILED,
            attempts=email.attempts + 1,
            last_error=type(exc).__name__,
        )
        logger.warning("email %s failed (%s); will retry", email_id, type(exc).__name__)
        raise
    with transaction.atomic():
        OutboundEmail.objects.filter(pk=email_id).update(
            state=OutboundEmail.State.SENT, sent_at=timezone.now(), attempts=email.attempts + 1
        )
        email_sent.send(sender=OutboundEmail, email=email)
    return "sent"


# An email still pending this long after it was queued, or claimed by a worker that died
# mid-send (its claim older than STALE_CLAIM), is queued again by the sweep: a lost task
# message (a broker restart, a worker killed after its claim) never loses the email.
PENDING_GRACE = timedelta(minutes=2)


@shared_task(acks_late=True)
def outbox_sweep() -> int:
    now = timezone.now()
    stuck = OutboundEmail.objects.filter(
        Q(
            state__in=[OutboundEmail.State.PENDING, OutboundEmail.State.FAILED],
            created_at__lt=now - PENDING_GRACE,
        )
        | Q(state=OutboundEmail.State.SENDING, claimed_at__lt=now - STALE_CLAIM)
    ).filter(attempts__lt=8)
    ids = list(stuck.values_list("pk", flat=True)[:500])
    for email_id in ids:
        email_send.delay(email_id)
    return len(ids)
