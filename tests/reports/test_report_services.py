"""The report's life through the services: draft, save, sign, render, deliver."""

from typing import Any

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import DatabaseError, transaction
from django.utils import timezone

from accounts.models import User
from cases.models import Status
from core.models import OutboundEmail
from reports import services, tasks
from reports.models import ANSWER_MAX_CHARS, SECTION_MAX_CHARS, Report
from reports.tasks import report_render
from tests.reports.helpers import case_in_review, code, fill
from tests.services import need_postgres


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


# --- partial saves, the revision under the lock, what a signed report refuses ------------------


def test_draft_save_saves_the_valid_fields_and_names_the_long_one(
    family: User, specialist: User
) -> None:
    case = case_in_review(family, specialist)
    draft = services.report_draft_for(case=case, by=specialist)
    with pytest.raises(services.DraftPartlySaved) as partly:
        services.draft_save(
            report=draft,
            by=specialist,
            revision=0,
            sections={"summary": "Kept.", "next_steps": "n" * (SECTION_MAX_CHARS + 1)},
            answers={1: "Answer kept.", 2: "a" * (ANSWER_MAX_CHARS + 1)},
        )
    assert set(partly.value.message_dict) == {"next_steps", "answer_2"}
    # The new revision travels with the refusal; the caller's copy is left as it was.
    assert partly.value.revision == 1 and draft.revision == 0
    draft.refresh_from_db()
    assert draft.revision == 1
    assert draft.summary == "Kept." and draft.next_steps == ""
    assert draft.answers.get(position=1).text == "Answer kept."
    assert draft.answers.get(position=2).text == ""


def test_sign_with_a_stale_revision_signs_nothing(
    family: User, specialist: User, django_capture_on_commit_callbacks: Any
) -> None:
    case = case_in_review(family, specialist)
    draft = services.report_draft_for(case=case, by=specialist)
    fill(draft, specialist)
    draft.refresh_from_db()
    seen = draft.revision
    services.draft_save(
        report=draft, by=specialist, revision=seen, sections={"summary": "Changed elsewhere."}
    )
    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(services.DraftConflict) as conflict,
    ):
        services.report_sign(report=draft, by=specialist, code=code(), revision=seen)
    assert conflict.value.current_revision == seen + 1
    assert callbacks == []
    draft.refresh_from_db()
    case.refresh_from_db()
    assert draft.signed_at is None and not draft.pdf
    assert case.status == Status.IN_REVIEW
    # The revision the page showed signs.
    with django_capture_on_commit_callbacks(execute=False):
        services.report_sign(report=draft, by=specialist, code=code(), revision=seen + 1)
    draft.refresh_from_db()
    assert draft.is_signed


def _signed(family: User, specialist: User, captured: Any, *, render: bool) -> Report:
    case = case_in_review(family, specialist)
    draft = services.report_draft_for(case=case, by=specialist)
    fill(draft, specialist)
    draft.refresh_from_db()
    with captured(execute=render):
        services.report_sign(report=draft, by=specialist, code=code())
    draft.refresh_from_db()
    return draft


def test_a_signed_report_takes_its_pdf_once(
    family: User, specialist: User, django_capture_on_commit_callbacks: Any
) -> None:
    report = _signed(family, specialist, django_capture_on_commit_callbacks, render=False)
    assert report.is_signed and not report.pdf
    # The first fill, as the render task does it, is allowed.
    report.pdf.save("report.pdf", ContentFile(b"%PDF-1.4 first"), save=False)
    report.pdf_sha256, report.pdf_size = "a" * 64, 14
    report.rendered_at = report.delivered_at = timezone.now()
    report.save()
    report.refresh_from_db()
    assert report.pdf_sha256 == "a" * 64

    changes: list[dict[str, Any]] = [
        {"pdf_sha256": "b" * 64},
        {"pdf": "reports/another.pdf"},
        {"delivered_at": None},
        {"signed_method": "mfa" if report.signed_method != "mfa" else "password"},
    ]
    for change in changes:
        fresh = Report.objects.get(pk=report.pk)
        for name, value in change.items():
            setattr(fresh, name, value)
        with pytest.raises(ValidationError):
            fresh.save()
    report.refresh_from_db()
    assert report.pdf_sha256 == "a" * 64 and report.delivered_at is not None


@pytest.mark.postgres
@pytest.mark.parametrize(
    "change",
    [{"pdf_sha256": "b" * 64}, {"delivered_at": None}, {"signed_method": "tampered"}],
    ids=["pdf_sha256", "delivered_at", "signed_method"],
)
def test_the_database_refuses_changing_a_delivered_report(
    family: User,
    specialist: User,
    django_capture_on_commit_callbacks: Any,
    change: dict[str, Any],
) -> None:
    need_postgres()
    report = _signed(family, specialist, django_capture_on_commit_callbacks, render=True)
    assert report.delivered_at is not None
    with pytest.raises(DatabaseError, match="immutable"), transaction.atomic():
        Report.objects.filter(pk=report.pk).update(**change)
    fresh = Report.objects.get(pk=report.pk)
    assert (fresh.pdf_sha256, fresh.delivered_at) == (report.pdf_sha256, report.delivered_at)


def test_render_removes_its_file_when_delivery_fails(
    family: User,
    specialist: User,
    django_capture_on_commit_callbacks: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    report = _signed(family, specialist, django_capture_on_commit_callbacks, render=False)

    def stored() -> set[str]:
        try:
            return set(default_storage.listdir("reports")[1])
        except FileNotFoundError:
            return set()

    before = stored()
    real_deliver = services.report_deliver
    calls: list[int] = []

    def fails_once(report: Report) -> Any:
        calls.append(report.pk)
        if len(calls) == 1:
            raise RuntimeError("mail template broke")
        return real_deliver(report)

    monkeypatch.setattr(tasks, "report_deliver", fails_once)
    with pytest.raises(RuntimeError):
        report_render(report.pk)
    assert stored() == before  # no orphan left behind by the rolled-back row
    report.refresh_from_db()
    assert not report.pdf and report.delivered_at is None

    # The next run renders and delivers: exactly one file.
    assert report_render(report.pk) == "rendered"
    report.refresh_from_db()
    assert report.pdf and report.delivered_at is not None
    assert stored() - before == {report.pdf.name.rsplit("/", 1)[-1]}
