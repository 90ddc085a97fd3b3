"""The signed report's PDF: what it says, what it never fetches, and that it is made and
delivered once however many times the task runs (a real worker on Redis)."""

import threading
import time
from typing import Any

import pytest
from django.core import mail
from django.core.files.storage import default_storage
from django.db import connection

from accounts.models import User
from cases.models import Status
from core.models import OutboundEmail
from reports import services
from reports.models import SECTIONS, Report
from reports.tasks import report_render
from tests.pdfs import PASSWD_MARKER, inflated, pdf_text
from tests.reports.helpers import QUESTIONS, case_in_review, code, fill

INJECTION = '<img src="file:///etc/passwd"> and <img src="{url}/tracker.png">'


def _signed(family: User, specialist: User, captured: Any, **sections: str) -> Report:
    case = case_in_review(family, specialist)
    draft = services.report_draft_for(case=case, by=specialist)
    fill(draft, specialist, "(v1)")
    draft.refresh_from_db()
    if sections:
        services.draft_save(report=draft, by=specialist, revision=draft.revision, sections=sections)
        draft.refresh_from_db()
    with captured(execute=True):
        services.report_sign(report=draft, by=specialist, code=code())
    draft.refresh_from_db()
    return draft


def test_the_pdf_holds_every_answer_and_the_signature(
    family: User, specialist: User, physician: User, django_capture_on_commit_callbacks: Any
) -> None:
    report = _signed(family, specialist, django_capture_on_commit_callbacks)
    with default_storage.open(report.pdf.name, "rb") as f:
        pdf = f.read()
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    for position, question in enumerate(QUESTIONS, start=1):
        assert question in text
        assert f"Answer {position} (v1)" in text
    for _name, heading, *_ in SECTIONS:
        assert heading in text
    assert "Electronically signed by Dr. Helen Park, MD, PhD" in text
    assert "Attending Cardiologist" in text
    assert f"{report.signed_at:%B %-d, %Y, %H:%M} UTC" in text
    assert "Sofia Lopez" in text and report.case.reference in text
    assert "Page 1 of" in text
    assert report.content_sha256 in text.replace(" ", "")
    assert b"/StructTreeRoot" in inflated(pdf)  # tagged
    assert "DRAFT" not in text


def test_a_report_naming_local_files_or_urls_renders_without_fetching_them(
    family: User,
    specialist: User,
    recorder: tuple[str, list[str]],
    django_capture_on_commit_callbacks: Any,
) -> None:
    url, hits = recorder
    typed = INJECTION.format(url=url)
    report = _signed(
        family,
        specialist,
        django_capture_on_commit_callbacks,
        recommendations=typed,
        next_steps=f'<link rel="stylesheet" href="{url}/x.css"> {url}/plain-link',
    )
    with default_storage.open(report.pdf.name, "rb") as f:
        text = pdf_text(f.read())
    assert PASSWD_MARKER not in text
    assert 'src="file:///etc/passwd"' in text  # kept as the text the specialist typed
    time.sleep(0.2)
    assert hits == []


def test_the_draft_preview_is_marked_and_not_stored(family: User, specialist: User) -> None:
    case = case_in_review(family, specialist)
    draft = services.report_draft_for(case=case, by=specialist)
    text = pdf_text(services.render_report_pdf(draft, draft=True))
    assert "DRAFT" in text and "not signed" in text
    draft.refresh_from_db()
    assert not draft.pdf


@pytest.mark.django_db(transaction=True)
def test_the_render_task_run_twice_makes_one_pdf_and_one_email_each(
    celery_worker: Any, family: User, specialist: User, physician: User
) -> None:
    case = case_in_review(family, specialist)
    draft = services.report_draft_for(case=case, by=specialist)
    fill(draft, specialist)
    draft.refresh_from_db()
    services.report_sign(report=draft, by=specialist, code=code())  # queues the render
    report_render.delay(draft.pk)  # a duplicate message, as after a redelivery
    # And a third attempt at the same moment, outside the worker (a second worker).
    outcome: list[str] = []

    def second_worker() -> None:
        try:
            outcome.append(report_render.apply([draft.pk]).get())
        finally:
            connection.close()  # this thread's own connection, or the test DB stays busy

    thread = threading.Thread(target=second_worker)
    thread.start()
    thread.join(60)

    def delivered() -> bool:
        return (
            OutboundEmail.objects.filter(case=case, kind="report_ready", state="sent").count() >= 2
        )

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not delivered():
        time.sleep(0.2)
    time.sleep(2)  # give any duplicate the time to show up
    draft.refresh_from_db()
    case.refresh_from_db()
    assert case.status == Status.DELIVERED
    assert draft.pdf and default_storage.exists(draft.pdf.name)
    stored = default_storage.listdir("reports")[1]
    assert stored == [draft.pdf.name.split("/")[-1]]  # one PDF stored, not one per run
    ready = OutboundEmail.objects.filter(case=case, kind="report_ready")
    assert sorted(ready.values_list("to", flat=True)) == [
        "family@example.com",
        "physician@example.com",
    ]
    assert sorted(m.to[0] for m in mail.outbox if "report" in m.subject.lower()) == [
        "family@example.com",
        "physician@example.com",
    ]
    assert outcome and outcome[0] in ("rendered", "already-rendered")
    assert case.timeline.filter(kind="status", to_status=Status.DELIVERED).count() == 1
