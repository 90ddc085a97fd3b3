"""The delivered report in the portal: the page, the PDF, first openings, versions, and
follow-up questions answered in an addendum."""

import hashlib
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.conf import settings
from django.core import mail
from django.core.files.storage import default_storage
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.models import User
from cases.models import AccessEvent, Case, Status, TimelineEvent
from core.models import OutboundEmail
from reports import services
from reports.models import FollowUpQuestion, Report, ReportOpening
from tests.conftest import login
from tests.reports.helpers import case_in_review, code, fill
from tests.reports.matrix_reports import delivered_report

S = Status


def _body(response: Any) -> str:
    return response.content.decode()


def _pdf_bytes(response: Any) -> bytes:
    content = b"".join(response.streaming_content)
    _close_file(response)
    return content


def _close_file(response: Any) -> None:
    # response.close() would also fire request_finished and close the test's database
    # connection: close only the file.
    for closer in getattr(response, "_resource_closers", []):
        closer()


@pytest.fixture
def delivered(
    family: User, specialist: User, physician: User, django_capture_on_commit_callbacks: Any
) -> tuple[Case, Report]:
    """A case whose report went the whole way: drafted, signed, rendered, delivered."""
    case = case_in_review(family, specialist)
    draft = services.report_draft_for(case=case, by=specialist)
    fill(draft, specialist)
    draft.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        services.report_sign(report=draft, by=specialist, password=settings.DEMO_PASSWORD)
    draft.refresh_from_db()
    case.refresh_from_db()
    assert case.status == S.DELIVERED and draft.delivered_at is not None
    return case, draft


def _quick_delivered(family: User, specialist: User) -> tuple[Case, Report]:
    """The same end state without the renderer, for tests about what comes after."""
    case = case_in_review(family, specialist)
    Case.objects.filter(pk=case.pk).update(status=S.DELIVERED)
    case.refresh_from_db()
    return case, delivered_report(case)


def _read_url(case: Case) -> str:
    return reverse("report_read", args=[case.reference])


def _pdf_url(report: Report) -> str:
    return reverse("report_pdf", args=[report.case.reference, report.uid])


def _ask_url(case: Case) -> str:
    return reverse("follow_up_ask", args=[case.reference])


# --- reading -------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["family", "physician"])
def test_family_and_physician_read_the_report(
    who: str, delivered: tuple[Case, Report], request: pytest.FixtureRequest
) -> None:
    case, report = delivered
    user = request.getfixturevalue(who)
    response = login(Client(), user).get(_read_url(case))
    assert response.status_code == 200
    html = _body(response)
    assert "<h1" in html and "Second opinion report" in html
    for answer in report.answers.all():
        assert answer.text in html
        assert answer.question_text in html
    assert "Electronically signed by" in html and "Dr. Helen Park" in html
    assert report.content_sha256 in html
    assert _pdf_url(report) in html
    assert "(PDF, " in html  # the size is shown with the link
    event = AccessEvent.objects.filter(case=case, user=user).latest("pk")
    assert (event.object_type, event.action, event.outcome) == (
        "report",
        "view",
        AccessEvent.Outcome.ALLOWED,
    )


def test_pdf_download_is_an_attachment_of_the_issued_file(
    delivered: tuple[Case, Report], family: User
) -> None:
    case, report = delivered
    response = login(Client(), family).get(_pdf_url(report))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        f'attachment; filename="{case.reference}-report-v1.pdf"'
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    content = _pdf_bytes(response)
    assert content.startswith(b"%PDF")
    assert hashlib.sha256(content).hexdigest() == report.pdf_sha256
    event = AccessEvent.objects.filter(case=case, user=family).latest("pk")
    assert (event.object_type, event.object_id, event.action, event.outcome) == (
        "report",
        str(report.uid),
        "download",
        AccessEvent.Outcome.ALLOWED,
    )


def test_pdf_from_s3_is_a_short_lived_attachment_link(
    s3_storage: dict[str, Any], family: User, specialist: User
) -> None:
    case, report = _quick_delivered(family, specialist)
    response = login(Client(), family).get(_pdf_url(report))
    assert response.status_code == 302
    link = urlsplit(response["Location"])
    query = parse_qs(link.query)
    assert query["response-content-disposition"] == [
        f'attachment; filename="{case.reference}-report-v1.pdf"'
    ]
    assert query["X-Amz-Expires"] == ["300"]
    assert ReportOpening.objects.filter(report=report, user=family).exists()


def test_first_opening_is_noted_once_per_person(
    delivered: tuple[Case, Report], family: User, physician: User, coordinator: User
) -> None:
    case, report = delivered
    family_client = login(Client(), family)
    family_client.get(_read_url(case))
    family_client.get(_read_url(case))
    _close_file(family_client.get(_pdf_url(report)))
    _close_file(login(Client(), physician).get(_pdf_url(report)))
    login(Client(), coordinator).get(_read_url(case))
    openings = {(o.user, o.role) for o in ReportOpening.objects.filter(report=report)}
    assert openings == {(family, "family"), (physician, "physician")}
    notes = TimelineEvent.objects.filter(case=case, note__contains="first opened")
    assert notes.count() == 2
    assert notes.filter(actor=family, note__contains="The family").exists()


def test_before_delivery_the_report_is_not_there(
    family: User, specialist: User, django_capture_on_commit_callbacks: Any
) -> None:
    case = case_in_review(family, specialist)
    draft = services.report_draft_for(case=case, by=specialist)
    fill(draft, specialist)
    client = login(Client(), family)
    assert client.get(_read_url(case)).status_code == 404
    # Signed, but the PDF task has not run: still not readable.
    draft.refresh_from_db()
    services.report_sign(report=draft, by=specialist, password=settings.DEMO_PASSWORD)
    response = client.get(_read_url(case))
    assert response.status_code == 404
    draft_page = client.get(reverse("report_version", args=[case.reference, draft.uid]))
    assert draft_page.status_code == 404
    assert client.get(_pdf_url(draft)).status_code == 404
    event = AccessEvent.objects.filter(case=case, user=family).latest("pk")
    assert (event.object_type, event.outcome) == ("report", AccessEvent.Outcome.DENIED)
    assert not ReportOpening.objects.exists()
    # The case page has no link to a report yet.
    assert "Read the report" not in _body(client.get(reverse("case_detail", args=[case.reference])))


@pytest.mark.parametrize("who", ["other_family", "other_physician", "other_specialist"])
def test_outsiders_get_404_and_the_refusal_is_audited(
    who: str, request: pytest.FixtureRequest, family: User, specialist: User
) -> None:
    case, report = _quick_delivered(family, specialist)
    client = login(Client(), request.getfixturevalue(who))
    for url in (_read_url(case), _pdf_url(report)):
        assert client.get(url).status_code == 404
        event = AccessEvent.objects.latest("pk")
        assert (event.case, event.object_type, event.outcome) == (
            case,
            "report",
            AccessEvent.Outcome.DENIED,
        )
    assert not ReportOpening.objects.exists()


def test_a_report_of_another_case_is_404_through_this_case(family: User, specialist: User) -> None:
    case, _report = _quick_delivered(family, specialist)
    _other_case, other_report = _quick_delivered(family, specialist)
    url = reverse("report_pdf", args=[case.reference, other_report.uid])
    assert login(Client(), family).get(url).status_code == 404


def test_case_page_links_to_the_report(delivered: tuple[Case, Report], family: User) -> None:
    case, _report = delivered
    html = _body(login(Client(), family).get(reverse("case_detail", args=[case.reference])))
    assert "Read the report" in html and _read_url(case) in html


def test_both_versions_are_visible_after_an_amendment(family: User, specialist: User) -> None:
    case, first = _quick_delivered(family, specialist)
    second = delivered_report(
        case,
        version=2,
        supersedes=first,
        amendment_reason="The echo date was wrong in the history.",
        marker="corrected",
    )
    client = login(Client(), family)
    current = _body(client.get(_read_url(case)))
    assert "Second opinion report, version 2" in current
    assert "The echo date was wrong in the history." in current
    # Each version's links say which version it is, whether it is current, and which file.
    replaced = f"Version 1, replaced {timezone.localtime(second.delivered_at):%-d %b %Y}"
    first_pdf = reverse("report_pdf", args=[case.reference, first.uid])
    second_pdf = reverse("report_pdf", args=[case.reference, second.uid])
    assert f'<a href="{first_pdf}">{replaced} — PDF</a>' in current
    assert f'<a href="{second_pdf}">Version 2, current — PDF</a>' in current
    assert reverse("report_version", args=[case.reference, first.uid]) in current
    old = client.get(reverse("report_version", args=[case.reference, first.uid]))
    assert old.status_code == 200
    old_html = _body(old)
    assert "This version was replaced by version 2." in old_html
    assert "The echo date was wrong in the history." in old_html
    assert second.summary not in old_html and first.summary in old_html


# --- follow-up questions -------------------------------------------------------------------


def test_ask_three_follow_ups_then_the_fourth_is_refused(
    family: User, specialist: User, coordinator: User
) -> None:
    case, _report = _quick_delivered(family, specialist)
    client = login(Client(), family)
    for n in (1, 2, 3):
        response = client.post(_ask_url(case), {"text": f"Follow-up number {n}?"})
        assert response.status_code == 302
        assert response["Location"] == _read_url(case) + "#follow-up"
    questions = list(FollowUpQuestion.objects.filter(case=case))
    assert [(q.position, q.text, q.asked_by) for q in questions] == [
        (n, f"Follow-up number {n}?", family) for n in (1, 2, 3)
    ]
    assert TimelineEvent.objects.filter(case=case, note__contains="asked follow-up").count() == 3
    received = OutboundEmail.objects.filter(case=case, kind="follow_up_received")
    assert set(received.values_list("to", flat=True)) == {specialist.email, coordinator.email}
    assert received.count() == 6
    assert all("number" not in m.body for m in mail.outbox)  # no question text in emails

    page = _body(client.get(_read_url(case)))
    assert page.count("waiting for the specialist") == 3
    assert "All 3 follow-up questions for this request have been asked." in page
    assert 'name="text"' not in page

    response = client.post(_ask_url(case), {"text": "And a fourth one?"})
    assert response.status_code == 400
    html = _body(response)
    assert "All 3 follow-up questions for this request have been asked." in html
    assert "And a fourth one?" in html  # what was typed is shown back, not lost
    assert FollowUpQuestion.objects.filter(case=case).count() == 3


def test_follow_up_needs_text_and_keeps_it_on_error(family: User, specialist: User) -> None:
    case, _report = _quick_delivered(family, specialist)
    client = login(Client(), family)
    response = client.post(_ask_url(case), {"text": "   "})
    assert response.status_code == 400
    html = _body(response)
    assert 'aria-invalid="true"' in html and "Write your question." in html
    assert 'aria-describedby="id_follow_up_text_error id_follow_up_text_help"' in html
    too_long = "x" * (FollowUpQuestion.MAX_LENGTH + 1)
    response = client.post(_ask_url(case), {"text": too_long})
    assert response.status_code == 400
    assert "Keep the question under 2,000 characters (it has 2001)." in _body(response)
    assert too_long in _body(response)
    assert not FollowUpQuestion.objects.exists()


def test_follow_up_counts_a_newline_as_one_character(family: User, specialist: User) -> None:
    """The browser posts CRLF but counts a newline as one: a question that fits there fits."""
    case, _report = _quick_delivered(family, specialist)
    text = "a\r\n" * (FollowUpQuestion.MAX_LENGTH // 2)  # 2,000 characters as typed
    response = login(Client(), family).post(_ask_url(case), {"text": text})
    assert response.status_code == 302
    assert FollowUpQuestion.objects.get(case=case).text == text.replace("\r\n", "\n").strip()
    html = _body(login(Client(), family).get(_read_url(case)))
    assert 'maxlength="' not in html  # a long paste is never cut silently


def test_follow_up_typed_before_the_session_ended_waits_after_sign_in(
    family: User, specialist: User
) -> None:
    case, _report = _quick_delivered(family, specialist)
    client = Client()
    response = client.post(_ask_url(case), {"text": "Can she swim again?"})
    assert response.status_code == 302
    login_url = urlsplit(response["Location"])
    assert login_url.path == reverse("account_login")
    assert parse_qs(login_url.query)["next"] == [_read_url(case)]
    login(client, family)
    html = _body(client.get(_read_url(case)))
    assert "We kept the follow-up question you typed" in html
    assert ">Can she swim again?</textarea>" in html
    assert not FollowUpQuestion.objects.exists()  # shown to check, not sent by itself
    assert "Can she swim again?" not in _body(client.get(_read_url(case)))  # only once


def test_follow_up_url_opened_after_sign_in_leads_to_the_form(
    family: User, specialist: User
) -> None:
    """The idle timeout keeps the question under the follow-up URL and signs in to it."""
    from accounts.stash import STASH_KEY

    case, _report = _quick_delivered(family, specialist)
    client = login(Client(), family)
    session = client.session
    session[STASH_KEY] = {"path": _ask_url(case), "data": "text=Kept+by+the+timeout", "at": 1e12}
    session.save()
    response = client.get(_ask_url(case))
    assert response.status_code == 302
    assert response["Location"] == _read_url(case) + "#follow-up"
    assert ">Kept by the timeout</textarea>" in _body(client.get(_read_url(case)))


def test_pdf_missing_from_storage_is_a_page_not_a_500(
    family: User, specialist: User, caplog: pytest.LogCaptureFixture
) -> None:
    case, report = _quick_delivered(family, specialist)
    default_storage.delete(report.pdf.name)
    response = login(Client(), family).get(_pdf_url(report))
    assert response.status_code == 503
    html = _body(response)
    assert "The PDF cannot be downloaded just now" in html
    assert reverse("report_version", args=[case.reference, report.uid]) in html
    assert "no-store" in response["Cache-Control"]
    assert report.pdf.name not in caplog.text  # the type only


def test_pdf_link_refused_by_s3_is_a_page_not_a_500(
    s3_storage: dict[str, Any], family: User, specialist: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from botocore.exceptions import NoCredentialsError
    from storages.backends.s3 import S3Storage

    _case, report = _quick_delivered(family, specialist)

    def no_credentials(*args: Any, **kwargs: Any) -> str:
        raise NoCredentialsError

    monkeypatch.setattr(S3Storage, "url", no_credentials)
    response = login(Client(), family).get(_pdf_url(report))
    assert response.status_code == 503
    assert "The PDF cannot be downloaded just now" in _body(response)


def test_after_thirty_days_follow_ups_are_closed(family: User, specialist: User) -> None:
    case, _report = _quick_delivered(family, specialist)
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        client = login(Client(), family)  # a new session: the old one would have ended
        page = _body(client.get(_read_url(case)))
        assert "The 30 days for follow-up questions ended on" in page
        response = client.post(_ask_url(case), {"text": "Is it too late to ask?"})
    assert response.status_code == 400
    assert "The 30 days for follow-up questions ended on" in _body(response)
    assert not FollowUpQuestion.objects.exists()


def test_a_physician_can_ask_too(family: User, specialist: User, physician: User) -> None:
    case, _report = _quick_delivered(family, specialist)
    response = login(Client(), physician).post(_ask_url(case), {"text": "Which echo view?"})
    assert response.status_code == 302
    question = FollowUpQuestion.objects.get(case=case)
    assert question.asked_by == physician
    assert TimelineEvent.objects.filter(
        case=case, note="The physician asked follow-up question 1."
    ).exists()


@pytest.mark.parametrize("who", ["specialist", "coordinator"])
def test_staff_cannot_ask(
    who: str, request: pytest.FixtureRequest, family: User, specialist: User
) -> None:
    case, _report = _quick_delivered(family, specialist)
    user = request.getfixturevalue(who)
    client = login(Client(), user)
    page = client.get(_read_url(case))
    assert page.status_code == 200 and 'name="text"' not in _body(page)
    response = client.post(_ask_url(case), {"text": "Staff asking?"})
    assert response.status_code == 404
    event = AccessEvent.objects.filter(user=user).latest("pk")
    assert (event.object_type, event.outcome) == ("follow_up", AccessEvent.Outcome.DENIED)
    assert not FollowUpQuestion.objects.exists()


def test_someone_elses_family_asking_gets_the_gates_audited_404(
    family: User, other_family: User, specialist: User
) -> None:
    case, _report = _quick_delivered(family, specialist)
    response = login(Client(), other_family).post(_ask_url(case), {"text": "Not my child?"})
    assert response.status_code == 404
    event = AccessEvent.objects.get(user=other_family)
    assert (event.case, event.action, event.object_type, event.outcome) == (
        case,
        "create",
        "follow_up",
        AccessEvent.Outcome.DENIED,
    )
    assert not FollowUpQuestion.objects.exists()


def test_follow_ups_answered_in_a_signed_addendum(
    delivered: tuple[Case, Report],
    family: User,
    physician: User,
    specialist: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    case, report = delivered
    original = (report.content_sha256, report.pdf_sha256, report.summary)
    login(Client(), family).post(_ask_url(case), {"text": "Can she play football?"})
    login(Client(), physician).post(_ask_url(case), {"text": "Repeat echo when?"})

    addendum = services.addendum_draft_for(case=case, by=specialist)
    assert addendum.kind == Report.Kind.ADDENDUM and addendum.version == 1
    answers = {a.position: a for a in addendum.answers.all()}
    assert [answers[p].question_text for p in (1, 2)] == [
        "Can she play football?",
        "Repeat echo when?",
    ]
    services.draft_save(
        report=addendum,
        by=specialist,
        revision=addendum.revision,
        answers={1: "Yes, after the six-week check.", 2: "In six weeks."},
    )
    addendum.refresh_from_db()
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        services.report_sign(report=addendum, by=specialist, code=code())
    addendum.refresh_from_db()
    assert addendum.delivered_at is not None and addendum.pdf_sha256
    addressed = set(
        OutboundEmail.objects.filter(case=case, kind="report_addendum").values_list("to", flat=True)
    )
    assert addressed == {family.email, physician.email}
    assert all("football" not in m.body for m in mail.outbox)
    assert set(FollowUpQuestion.objects.values_list("answered_in", flat=True)) == {addendum.pk}

    report.refresh_from_db()
    assert (report.content_sha256, report.pdf_sha256, report.summary) == original
    case.refresh_from_db()
    assert case.status == S.DELIVERED

    client = login(Client(), family)
    page = _body(client.get(_read_url(case)))
    addendum_url = reverse("report_version", args=[case.reference, addendum.uid])
    assert f'answered in <a href="{addendum_url}">addendum 1</a>' in page
    addendum_page = client.get(addendum_url)
    assert addendum_page.status_code == 200
    assert "Yes, after the six-week check." in _body(addendum_page)
    assert "Answers to the follow-up questions" in _body(addendum_page)
    download = client.get(_pdf_url(addendum))
    assert download["Content-Disposition"] == (
        f'attachment; filename="{case.reference}-addendum-1.pdf"'
    )
    assert hashlib.sha256(_pdf_bytes(download)).hexdigest() == addendum.pdf_sha256
