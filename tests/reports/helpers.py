"""Shared set-up for report tests: a case in review with questions and a clean record."""

from datetime import date
from typing import Any

from django.core.files.base import ContentFile

from accounts.models import SpecialistProfile, User
from cases.models import Case, Status
from intake.models import Intake, Question, Record
from reports.models import SECTIONS, Report
from tests.conftest import TOTP_SECRET, totp_now
from tests.factories import CaseFactory

QUESTIONS = (
    "Is the diagnosis of Kawasaki disease right?",
    "Should she have the second dose of IVIG?",
)


def case_in_review(family: User, specialist: User, **kwargs: Any) -> Case:
    SpecialistProfile.objects.update_or_create(
        user=specialist,
        defaults={"title": "Attending Cardiologist", "credentials": "MD, PhD"},
    )
    case: Case = CaseFactory(
        family=family, assigned_specialist=specialist, status=Status.IN_REVIEW, **kwargs
    )
    Intake.objects.create(
        case=case,
        child_legal_first_name="Sofia",
        child_legal_last_name="Lopez",
        child_date_of_birth=date(2019, 4, 2),
        physician_name="Dr. Priya Shah",
        physician_practice="Valley Pediatrics",
        diagnosis="Kawasaki disease",
        recommended_treatment="A second dose of IVIG",
    )
    for position, text in enumerate(QUESTIONS, start=1):
        Question.objects.create(case=case, position=position, text=text, asked_by=family)
    record = Record(
        case=case,
        kind=Record.Kind.LAB_RESULTS,
        original_name="labs.pdf",
        size=9,
        state=Record.State.AVAILABLE,
        scan_status=Record.Scan.CLEAN,
        uploaded_by=family,
        content_type="application/pdf",
    )
    record.file.save("x", ContentFile(b"%PDF-1.4\n"), save=False)
    record.save()
    return case


def filled_sections(marker: str = "") -> dict[str, str]:
    return {name: f"{heading} text {marker}".strip() for name, heading, *_ in SECTIONS}


def fill(report: Report, by: User, marker: str = "") -> Report:
    from reports.services import draft_save

    return draft_save(
        report=report,
        by=by,
        revision=report.revision,
        sections=filled_sections(marker),
        answers={a.position: f"Answer {a.position} {marker}".strip() for a in report.answers.all()},
    )


def code() -> str:
    return totp_now(TOTP_SECRET)
