from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from cases.clock import BusinessCalendar, clock_state
from cases.models import Case, Status, TurnaroundPolicy


def test_seed_demo_spreads_cases_over_the_lifecycle_and_the_clock(settings: Any) -> None:
    settings.STRIPE_SECRET_KEY = ""  # the lifecycle demo needs no Stripe
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())  # idempotent
    statuses = set(Case.objects.values_list("status", flat=True))
    assert {
        Status.DRAFT,
        Status.SUBMITTED,
        Status.IN_TRIAGE,
        Status.AWAITING_RECORDS,
        Status.AWAITING_FAMILY_CONFIRMATION,
        Status.ASSIGNED,
        Status.ON_HOLD,
    } <= statuses
    calendar, policy, now = BusinessCalendar.from_db(), TurnaroundPolicy.current(), timezone.now()
    states = {
        clock_state(case.due_at, now, policy=policy, calendar=calendar)
        for case in Case.objects.filter(status=Status.ASSIGNED, due_at__isnull=False)
    }
    assert states == {"on_track", "at_risk", "overdue"}
    for email in ["family@example.com", "family2@example.com"]:
        assert Case.objects.filter(family__email=email, status=Status.ASSIGNED).exists()


@pytest.mark.django_db(transaction=True)  # commits, so the render task runs as under make run
def test_seed_demo_has_delivered_reports_an_addendum_and_a_draft(settings: Any) -> None:
    from django.core.files.storage import default_storage

    from reports.models import Report

    settings.STRIPE_SECRET_KEY = ""
    call_command("seed_demo", stdout=StringIO())
    call_command("seed_demo", stdout=StringIO())  # idempotent
    for email in ["family@example.com", "family2@example.com"]:
        delivered = Case.objects.get(family__email=email, status=Status.DELIVERED)
        report = Report.objects.get(case=delivered, kind=Report.Kind.REPORT)
        assert report.signed_at and report.delivered_at
        assert default_storage.exists(report.pdf.name) and len(report.pdf_sha256) == 64
    addendum = Report.objects.get(case__family__email="family@example.com", kind="addendum")
    assert addendum.delivered_at and addendum.answers.count() == 1
    draft = Report.objects.get(
        case__assigned_specialist__email="specialist@example.com",
        case__status=Status.IN_REVIEW,
        signed_at__isnull=True,
    )
    assert draft.summary and draft.answers.exclude(text="").exists()


def test_the_demo_report_answers_fit_the_questions_asked() -> None:
    from django.core.management import call_command

    from reports.models import Answer

    call_command("seed_demo", verbosity=0)
    wait = Answer.objects.filter(
        question__text="What are the risks if we wait six months?", report__signed_at__isnull=False
    ).first()
    assert wait is not None
    assert not wait.text.startswith("Yes")
    assert "six months" in wait.text
