"""The real services: a Celery worker on Redis, S3 on the moto server."""

import time
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.core import mail
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.test import Client

from cases.models import TimelineEvent
from cases.notifications import case_email
from core.models import OutboundEmail
from core.tasks import email_send
from tests.factories import CaseFactory


def _wait(predicate: Any, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return False


@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_email_only_after_commit(celery_worker: Any, family: Any) -> None:
    case = CaseFactory(family=family)
    with transaction.atomic():
        [email] = case_email(case, "case_update", [family.email], "test")
        time.sleep(1.0)  # a worker that got the task now would find nothing committed yet
        assert mail.outbox == []
    assert _wait(lambda: OutboundEmail.objects.get(pk=email.pk).state == "sent")
    assert len(mail.outbox) == 1
    sent = mail.outbox[0]
    assert sent.to == [family.email]
    assert case.reference in sent.subject and case.reference in sent.body
    assert sent.alternatives and "Sign in" in sent.alternatives[0][0]
    # The timeline shows it was sent; the same dedupe key never mails twice.
    assert TimelineEvent.objects.filter(case=case, kind="email").count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_email_is_never_sent(celery_worker: Any, family: Any) -> None:
    case = CaseFactory(family=family)
    with pytest.raises(RuntimeError), transaction.atomic():
        case_email(case, "case_update", [family.email], "test")
        raise RuntimeError("the step that queued it failed")
    time.sleep(1.5)
    assert mail.outbox == [] and not OutboundEmail.objects.exists()


def test_the_same_event_is_queued_once(
    family: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = CaseFactory(family=family)
    with django_capture_on_commit_callbacks(execute=True):
        first = case_email(case, "case_update", [family.email], f"x:{case.pk}")
        again = case_email(case, "case_update", [family.email], f"x:{case.pk}")
    assert len(first) == 1 and again == []
    assert len(mail.outbox) == 1


def test_the_send_task_is_idempotent(family: Any, django_capture_on_commit_callbacks: Any) -> None:
    case = CaseFactory(family=family)
    with django_capture_on_commit_callbacks(execute=True):
        [email] = case_email(case, "case_update", [family.email], "test")
    assert email_send.apply(args=[email.pk]).get() == "skipped"  # a redelivery
    assert len(mail.outbox) == 1


def test_email_carries_no_medical_detail(
    family: Any, django_capture_on_commit_callbacks: Any
) -> None:
    case = CaseFactory(family=family)
    with django_capture_on_commit_callbacks(execute=True):
        case_email(case, "case_update", [family.email], "test")
    body = mail.outbox[0].body.lower()
    for word in ["diagnosis", "specialty", case.specialty.name.lower(), "record"]:
        assert word not in body


def test_files_are_private_and_encrypted_on_s3(s3_storage: dict[str, Any]) -> None:
    name = default_storage.save("records/probe.txt", ContentFile(b"hello"))
    head = s3_storage["client"].head_object(Bucket=s3_storage["bucket"], Key=name)
    assert head["ServerSideEncryption"] == "AES256"
    acl = s3_storage["client"].get_object_acl(Bucket=s3_storage["bucket"], Key=name)
    assert all("AllUsers" not in str(g["Grantee"]) for g in acl["Grants"])
    url = default_storage.url(name)
    query = parse_qs(urlparse(url).query)
    assert query["X-Amz-Expires"] == ["300"]
    assert "X-Amz-Signature" in query


def test_healthz_reaches_s3(s3_storage: dict[str, Any], client: Client) -> None:
    assert client.get("/healthz").json()["checks"]["storage"] is True
    s3_storage["client"].delete_bucket(Bucket=s3_storage["bucket"])
    response = client.get("/healthz")
    assert response.status_code == 503 and response.json()["checks"]["storage"] is False
