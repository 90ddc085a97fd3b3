"""The report's life through the services: draft, save, sign, render, deliver."""

from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError

from accounts.models import User
from cases.models import OutboundEmail, Status
from reports import services
from tests.reports.helpers import case_in_review, code, fill


def test_sign_render_deliver(
    family: User, specialist: User, physician: User, django_capture_on_commit_callbacks: Any
) -> None:
    case = case_in_review(family, specialist)
    draft = services.report_draft_for(case=case, by=specialist)
    assert draft.version == 1 and draft.answers.count() == 2
    assert "labs.pdf" in draft.records_reviewed
    with pytest.raises(ValidationError) as refused:
        services.report_sign(report=draft, by=specialist, code=code())
    assert "Answer question 1" in str(refused.value)
    fill(draft, specialist)
    draft.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.report_sign(report=draft, by=specialist, code=code())
    draft.refresh_from_db()
    case.refresh_from_db()
    assert draft.signed_at and draft.pdf and len(draft.pdf_sha256) == 64
    assert draft.delivered_at is not None
    assert case.status == Status.DELIVERED
    kinds = set(OutboundEmail.objects.filter(case=case).values_list("kind", "to"))
    assert ("report_ready", "family@example.com") in kinds
    assert ("report_ready", "physician@example.com") in kinds
    assert all("Kawasaki" not in m.body for m in mail.outbox)
    with pytest.raises(ValidationError):
        draft.summary = "changed"
        draft.save()


def test_wrong_password_refused(family: User, specialist: User) -> None:
    case = case_in_review(family, specialist)
    draft = services.report_draft_for(case=case, by=specialist)
    fill(draft, specialist)
    draft.refresh_from_db()
    with pytest.raises(services.ReauthFailed):
        services.report_sign(report=draft, by=specialist, password="nope")
    draft.refresh_from_db()
    assert draft.signed_at is None
