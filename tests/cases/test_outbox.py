"""Email is never lost and never sent twice, even when a worker dies mid-task."""

from datetime import timedelta
from typing import Any

import pytest
from celery.exceptions import Retry
from django.core import mail
from django.utils import timezone

from cases.notifications import case_email
from core.models import OutboundEmail
from core.tasks import email_send, outbox_sweep
from tests.factories import CaseFactory


def _queued(family: Any) -> OutboundEmail:
    # Queued but its task never ran (no on-commit here): as if the task message was lost.
    case = CaseFactory(family=family)
    [email] = case_email(case, "case_update", [family.email], f"test:{case.pk}")
    return email


def test_a_worker_that_died_after_claiming_leaves_the_email_to_the_sweep(family: Any) -> None:
    email = _queued(family)
    # The dead worker's footprint: claimed ("sending") 11 minutes ago, never marked sent.
    OutboundEmail.objects.filter(pk=email.pk).update(
        state=OutboundEmail.State.SENDING, claimed_at=timezone.now() - timedelta(minutes=11)
    )
    assert outbox_sweep.apply().get() == 1
    email.refresh_from_db()
    assert email.state == OutboundEmail.State.SENT
    assert len(mail.outbox) == 1
    # The broker redelivers the dead worker's task too (acks_late): it finds nothing to do.
    assert email_send.apply(args=[email.pk]).get() == "skipped"
    assert outbox_sweep.apply().get() == 0
    assert len(mail.outbox) == 1


def test_a_fresh_claim_is_not_taken_over(family: Any) -> None:
    email = _queued(family)
    OutboundEmail.objects.filter(pk=email.pk).update(
        state=OutboundEmail.State.SENDING, claimed_at=timezone.now() - timedelta(minutes=1)
    )
    assert email_send.apply(args=[email.pk]).get() == "skipped"  # someone is sending it
    assert outbox_sweep.apply().get() == 0
    assert mail.outbox == []


def test_a_lost_task_message_is_sent_by_the_sweep(family: Any) -> None:
    email = _queued(family)
    assert outbox_sweep.apply().get() == 0  # too recent: its own task may still come
    OutboundEmail.objects.filter(pk=email.pk).update(
        created_at=timezone.now() - timedelta(minutes=3)
    )
    assert outbox_sweep.apply().get() == 1
    assert [m.to for m in mail.outbox] == [[family.email]]


def test_smtp_failure_is_retried_then_sent(family: Any, settings: Any) -> None:
    email = _queued(family)
    settings.MAILERS = {"default": {"BACKEND": "tests.cases.test_outbox.BrokenBackend"}}
    with pytest.raises(Retry):  # the task asks Celery to run it again later, with backoff
        email_send.apply(args=[email.pk])
    email.refresh_from_db()
    assert (email.state, email.attempts) == (OutboundEmail.State.FAILED, 1)
    settings.MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
    assert email_send.apply(args=[email.pk]).get() == "sent"
    assert len(mail.outbox) == 1


class BrokenBackend:
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def send_messages(self, messages: Any) -> int:
        raise ConnectionRefusedError("SMTP server down")
