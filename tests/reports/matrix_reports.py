"""Access-matrix entries for this module's case-scoped URLs (see tests/matrix.py).

Everyone inside the case reads the delivered report (family, physician, coordinator, the
assigned specialist); only the family and the physician ask follow-up questions."""

import hashlib
from datetime import datetime
from typing import Any

from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import Role
from cases.models import Case, Status
from reports.models import SECTIONS, Answer, Report
from tests.factories import UserFactory
from tests.matrix import ALL_200, Entry
from tests.reports.matrix_viewer import tiny_pdf

ASKERS = {"family": 302, "physician": 302, "coordinator": 404, "specialist": 404}


def delivered_report(
    case: Case,
    *,
    version: int = 1,
    supersedes: Report | None = None,
    amendment_reason: str = "",
    delivered_at: datetime | None = None,
    marker: str = "",
) -> Report:
    """A signed, rendered and delivered report on ``case``, made directly (no renderer, no
    emails, no status change), with one answer per question the case has."""
    now = delivered_at or timezone.now()
    # Some matrix cases have nobody assigned; the report still needs its author.
    author = case.assigned_specialist or UserFactory(role=Role.SPECIALIST)
    report = Report.objects.create(
        case=case,
        kind=Report.Kind.REPORT,
        version=version,
        supersedes=supersedes,
        amendment_reason=amendment_reason,
        author=author,
        **{name: f"{heading} text {marker}".strip() for name, heading, *_ in SECTIONS},
    )
    # Answers before the signature: once signed, the database refuses new ones.
    for question in case.questions.order_by("position"):
        Answer.objects.create(
            report=report,
            question=question,
            question_text=question.text,
            position=question.position,
            text=f"Answer {question.position} {marker}".strip(),
        )
    pdf = tiny_pdf(1)
    report.pdf.save("report.pdf", ContentFile(pdf), save=False)
    report.pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    report.pdf_size = len(pdf)
    report.signed_at = report.rendered_at = report.delivered_at = now
    report.signed_name = author.full_name
    report.signed_credentials = "MD"
    report.signed_method = "mfa"
    report.content_sha256 = hashlib.sha256(f"{report.pk}{marker}".encode()).hexdigest()
    report.save()
    return report


def _report(case: Case) -> dict[str, Any]:
    return {"report_uid": delivered_report(case).uid}


def _current(case: Case) -> dict[str, Any]:
    delivered_report(case)
    return {}


ENTRIES: dict[str, Entry] = {
    "report_read": Entry(ALL_200, object_type="report", status=Status.DELIVERED, kwargs=_current),
    "report_version": Entry(ALL_200, object_type="report", status=Status.DELIVERED, kwargs=_report),
    "report_pdf": Entry(ALL_200, object_type="report", status=Status.DELIVERED, kwargs=_report),
    "follow_up_ask": Entry(
        ASKERS,
        method="post",
        object_type="follow_up",
        status=Status.DELIVERED,
        kwargs=_current,
        data={"text": "Can she go back to swimming lessons now?"},
    ),
}
