"""The report editor over HTTP: the draft, autosave, the no-JavaScript save, the PDF
preview, signing, and what a signed report refuses; amended versions and addenda."""

import re
from typing import Any

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse

from accounts.models import User
from cases.models import AccessEvent, Case, Status, TimelineEvent
from core.models import OutboundEmail
from reports import services
from reports.models import ANSWER_MAX_CHARS, SECTION_MAX_CHARS, SECTIONS, Report
from tests.conftest import login
from tests.pdfs import pdf_text
from tests.reports.helpers import QUESTIONS, case_in_review, code, fill, filled_sections

PASSWORD = "SecondOpinion-demo-2026"


@pytest.fixture
def case(family: User, specialist: User) -> Case:
    return case_in_review(family, specialist)


@pytest.fixture
def writer(client: Client, specialist: User) -> Client:
    return login(client, specialist)


def _url(name: str, case: Case) -> str:
    return reverse(name, args=[case.reference])


def _draft(case: Case) -> Report:
    return Report.objects.get(case=case, kind=Report.Kind.REPORT, signed_at__isnull=True)


def _autosave(client: Client, case: Case, report: Report, revision: int, **fields: str) -> Any:
    return client.post(
        _url("report_autosave", case),
        {"report_uid": str(report.uid), "revision": revision, **fields},
    )


def _full_form(report: Report, **overrides: str) -> dict[str, Any]:
    data: dict[str, Any] = {"report_uid": str(report.uid), "revision": report.revision}
    for name, *_ in SECTIONS:
        data[name] = getattr(report, name)
    for answer in report.answers.all():
        data[f"answer_{answer.position}"] = answer.text
    data.update(overrides)
    return data


def _sign(client: Client, case: Case, report: Report, **credentials: str) -> Any:
    report.refresh_from_db()
    return client.post(
        _url("report_sign", case),
        {"report_uid": str(report.uid), "revision": report.revision, **credentials},
    )


def _filled(case: Case, specialist: User) -> Report:
    report = services.report_draft_for(case=case, by=specialist)
    fill(report, specialist)
    report.refresh_from_db()
    return report


# --- the draft ------------------------------------------------------------------------------


def test_opening_the_editor_starts_the_draft(writer: Client, case: Case, specialist: User) -> None:
    before = AccessEvent.objects.count()
    response = writer.get(_url("report_edit", case))
    assert response.status_code == 200
    report = _draft(case)
    assert report.version == 1 and report.author == specialist
    assert [a.question_text for a in report.answers.order_by("position")] == list(QUESTIONS)
    assert "labs.pdf" in report.records_reviewed
    html = response.content.decode()
    for question in QUESTIONS:
        assert question in html
    assert 'id="id_answer_1"' in html and 'id="id_answer_2"' in html
    assert re.search(r'<textarea[^>]*id="id_records_reviewed"[^>]*>\s*- labs.pdf', html)
    for _name, heading, *_ in SECTIONS:
        assert heading in html
    assert 'aria-live="polite"' in html and "js/report-editor.js" in html
    event = AccessEvent.objects.order_by("pk")[before:].first()
    assert event is not None
    assert (event.object_type, event.action, event.outcome) == (
        "report",
        "edit",
        AccessEvent.Outcome.ALLOWED,
    )
    assert TimelineEvent.objects.filter(case=case, note="The specialist started the report.")
    # Opening it again is the same draft.
    assert writer.get(_url("report_edit", case)).status_code == 200
    assert Report.objects.filter(case=case).count() == 1


def test_editor_before_accepting_sends_back_to_the_case(writer: Client, case: Case) -> None:
    Case.objects.filter(pk=case.pk).update(status=Status.ASSIGNED)
    response = writer.get(_url("report_edit", case), follow=True)
    assert response.redirect_chain[-1][0] == _url("workspace_case", case)
    assert "Accept the case before writing the report." in response.content.decode()
    assert not Report.objects.filter(case=case).exists()


@pytest.mark.parametrize("who", ["family", "physician", "coordinator", "other_specialist"])
def test_editor_is_only_for_the_assigned_specialist(who: str, case: Case, request: Any) -> None:
    client = login(Client(), request.getfixturevalue(who))
    assert client.get(_url("report_edit", case)).status_code == 404
    assert not Report.objects.filter(case=case).exists()


# --- autosave -----------------------------------------------------------------------------


def test_autosave_saves_a_field_and_bumps_the_revision(
    writer: Client, case: Case, specialist: User
) -> None:
    writer.get(_url("report_edit", case))
    report = _draft(case)
    response = _autosave(writer, case, report, 0, summary="Sofia is doing well.\r\nLine two.")
    assert response.status_code == 200
    body = response.json()
    assert body["revision"] == 1 and body["saved_at"]
    report.refresh_from_db()
    assert report.summary == "Sofia is doing well.\nLine two."
    assert report.revision == 1
    assert "labs.pdf" in report.records_reviewed  # fields not sent are left alone

    response = _autosave(writer, case, report, 1, answer_2="Yes, a second dose.")
    assert response.status_code == 200 and response.json()["revision"] == 2
    assert report.answers.get(position=2).text == "Yes, a second dose."


def test_autosave_from_a_stale_revision_is_a_conflict(
    writer: Client, case: Case, specialist: User
) -> None:
    writer.get(_url("report_edit", case))
    report = _draft(case)
    assert _autosave(writer, case, report, 0, summary="From the first tab").status_code == 200
    response = _autosave(writer, case, report, 0, summary="From the second tab")
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "conflict" and body["current_revision"] == 1
    assert "another tab or window" in body["message"]
    report.refresh_from_db()
    assert report.summary == "From the first tab" and report.revision == 1


def test_autosave_too_long_is_refused_with_the_field_named(writer: Client, case: Case) -> None:
    writer.get(_url("report_edit", case))
    report = _draft(case)
    response = _autosave(writer, case, report, 0, summary="x" * (SECTION_MAX_CHARS + 1))
    assert response.status_code == 400
    assert "20,000 characters" in response.json()["errors"]["summary"][0]
    report.refresh_from_db()
    assert report.summary == "" and report.revision == 0


def test_autosave_refuses_posts_without_the_draft(writer: Client, case: Case) -> None:
    writer.get(_url("report_edit", case))
    response = writer.post(_url("report_autosave", case), {"revision": 0, "summary": "x"})
    assert response.status_code == 400
    assert _draft(case).summary == ""


def test_autosave_get_saves_nothing_and_answers_the_csrf_token(writer: Client, case: Case) -> None:
    writer.get(_url("report_edit", case))
    response = writer.get(_url("report_autosave", case), headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.json()["csrf"]
    assert _draft(case).revision == 0
    assert writer.put(_url("report_autosave", case)).status_code == 405


def test_autosave_saves_the_valid_fields_when_one_is_too_long(writer: Client, case: Case) -> None:
    writer.get(_url("report_edit", case))
    report = _draft(case)
    response = _autosave(
        writer,
        case,
        report,
        0,
        summary="important text",
        answer_1="z" * (ANSWER_MAX_CHARS + 1),
    )
    assert response.status_code == 400
    body = response.json()
    assert set(body["errors"]) == {"answer_1"}
    assert "10,000 characters" in body["errors"]["answer_1"][0]
    assert body["revision"] == 1 and body["saved_at"]
    report.refresh_from_db()
    assert report.summary == "important text" and report.revision == 1
    assert report.answers.get(position=1).text == ""
    # The page carries on from the revision it was given: not taken for a second tab.
    again = _autosave(writer, case, report, 1, answer_1="Short now.")
    assert again.status_code == 200 and again.json()["revision"] == 2


def test_autosave_only_a_bad_field_saves_nothing_and_keeps_the_revision(
    writer: Client, case: Case
) -> None:
    writer.get(_url("report_edit", case))
    report = _draft(case)
    response = _autosave(writer, case, report, 0, answer_1="z" * (ANSWER_MAX_CHARS + 1))
    assert response.status_code == 400
    assert "revision" not in response.json()
    report.refresh_from_db()
    assert report.revision == 0


def test_autosave_signed_out_is_json_401_for_the_script(client: Client, case: Case) -> None:
    report = services.report_draft_for(case=case, by=case.assigned_specialist)
    response = client.post(
        _url("report_autosave", case),
        {"report_uid": str(report.uid), "revision": 0, "summary": "x"},
        headers={"Accept": "application/json"},
    )
    assert response.status_code == 401
    body = response.json()
    assert body["error"] == "signed_out" and "signed out" in body["message"]
    assert body["csrf"]
    # Without the script's Accept header: the usual way to the login page, back to the editor.
    plain = client.post(_url("report_autosave", case), {"report_uid": str(report.uid)})
    assert plain.status_code == 302
    assert plain["Location"].startswith(reverse("account_login"))
    assert "next=" + _url("report_edit", case) in plain["Location"]


# --- the form without JavaScript ------------------------------------------------------------


def test_save_draft_without_javascript(writer: Client, case: Case) -> None:
    writer.get(_url("report_edit", case))
    report = _draft(case)
    data = _full_form(report, summary="Plain words for the family.", answer_1="Yes.")
    response = writer.post(_url("report_edit", case), data)
    assert response.status_code == 302 and response["Location"] == _url("report_edit", case)
    report.refresh_from_db()
    assert report.summary == "Plain words for the family." and report.revision == 1
    assert report.answers.get(position=1).text == "Yes."
    assert "Draft saved." in writer.get(response["Location"]).content.decode()


def test_save_draft_too_long_keeps_the_text_and_says_where(writer: Client, case: Case) -> None:
    writer.get(_url("report_edit", case))
    report = _draft(case)
    long_text = "y" * (SECTION_MAX_CHARS + 5)
    data = _full_form(report, summary=long_text, answer_1="Kept answer")
    response = writer.post(_url("report_edit", case), data)
    assert response.status_code == 400
    html = response.content.decode()
    error = re.search(r'id="id_summary_error"[^>]*>([^<]*)<', html)
    assert error and "Keep this section under 20,000 characters" in error.group(1)
    assert re.search(r'id="id_summary"[^>]*aria-describedby="[^"]*id_summary_error"', html)
    assert long_text in html and "Kept answer" in html
    # Everything else was saved; the page says so and carries the new revision.
    assert "The other fields were saved" in html
    report.refresh_from_db()
    assert report.summary == "" and report.revision == 1
    assert report.answers.get(position=1).text == "Kept answer"
    assert re.search(r'name="revision" value="1" data-revision', html)
    data = _full_form(report, summary="Short again.", revision="1")
    assert writer.post(_url("report_edit", case), data).status_code == 302
    report.refresh_from_db()
    assert report.summary == "Short again." and report.revision == 2


def test_save_draft_after_the_session_ended_is_kept_across_sign_in(
    client: Client, case: Case, specialist: User
) -> None:
    report = services.report_draft_for(case=case, by=specialist)
    services.draft_save(
        report=report, by=specialist, revision=0, sections={"summary": "Saved before."}
    )
    report.refresh_from_db()
    data = _full_form(report, summary="Typed after the session ended.", answer_1="An answer.")
    data["revision"] = 0  # the page was older than the last autosave: still restored
    response = client.post(_url("report_edit", case), data)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))
    login(client, specialist)
    html = client.get(_url("report_edit", case)).content.decode()
    assert "We kept what you typed before you were signed out" in html
    assert "Typed after the session ended." in html and "An answer." in html
    assert "data-restored" in html
    assert re.search(rf'name="revision" value="{report.revision}" data-revision', html)
    report.refresh_from_db()
    assert report.summary == "Saved before."  # nothing saved until they press Save draft
    # Only once: a reload shows the draft as saved.
    again = client.get(_url("report_edit", case)).content.decode()
    assert "Typed after the session ended." not in again


def test_stashed_text_for_a_report_signed_meanwhile_is_shown_to_copy(
    client: Client, case: Case, specialist: User, django_capture_on_commit_callbacks: Any
) -> None:
    report = _filled(case, specialist)
    data = _full_form(report, summary="Typed late.")
    client.post(_url("report_edit", case), data)
    with django_capture_on_commit_callbacks(execute=True):
        services.report_sign(report=report, by=specialist, code=code())
    login(client, specialist)
    html = client.get(_url("report_edit", case)).content.decode()
    assert "What you typed, to copy" in html and "Typed late." in html


def test_save_draft_on_a_report_signed_meanwhile_shows_the_text_to_copy(
    writer: Client, case: Case, specialist: User, django_capture_on_commit_callbacks: Any
) -> None:
    report = _filled(case, specialist)
    with django_capture_on_commit_callbacks(execute=True):
        services.report_sign(report=report, by=specialist, code=code())
    response = writer.post(_url("report_edit", case), _full_form(report, summary="Typed in tab B."))
    assert response.status_code == 409
    html = response.content.decode()
    assert "What you typed, to copy" in html and "Typed in tab B." in html


def test_the_stash_never_keeps_a_password(client: Client, case: Case, specialist: User) -> None:
    from accounts.stash import STASH_KEY

    report = _filled(case, specialist)
    client.post(_url("report_edit", case), {**_full_form(report), "password": "secret-password"})
    assert "secret-password" not in client.session[STASH_KEY]["data"]


def test_save_draft_from_a_stale_page_keeps_the_text(writer: Client, case: Case) -> None:
    writer.get(_url("report_edit", case))
    report = _draft(case)
    stale = _full_form(report, summary="Typed in the old tab")
    assert _autosave(writer, case, report, 0, summary="Saved elsewhere").status_code == 200
    response = writer.post(_url("report_edit", case), stale)
    assert response.status_code == 409
    html = response.content.decode()
    assert "another tab or window" in html and "Typed in the old tab" in html
    report.refresh_from_db()
    assert report.summary == "Saved elsewhere"


# --- the preview --------------------------------------------------------------------------


def test_preview_is_the_draft_pdf(writer: Client, case: Case, specialist: User) -> None:
    report = services.report_draft_for(case=case, by=specialist)
    services.draft_save(
        report=report, by=specialist, revision=0, sections={"summary": "Preview words"}
    )
    response = writer.get(_url("report_preview", case))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert response["Content-Disposition"] == 'attachment; filename="draft-preview.pdf"'
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert response["X-Content-Type-Options"] == "nosniff"
    text = pdf_text(response.content)
    assert "DRAFT" in text and "Preview words" in text
    report.refresh_from_db()
    assert not report.is_signed


# --- signing ------------------------------------------------------------------------------


def test_sign_refused_while_a_question_is_unanswered(
    writer: Client, case: Case, specialist: User
) -> None:
    report = services.report_draft_for(case=case, by=specialist)
    services.draft_save(
        report=report,
        by=specialist,
        revision=0,
        sections=filled_sections(),
        answers={1: "Yes."},
    )
    page = writer.get(_url("report_edit", case)).content.decode()
    assert '<a href="#id_answer_2">Answer question 2.</a>' in page
    response = _sign(writer, case, report, password=PASSWORD)
    assert response.status_code == 400
    assert "Answer question 2." in response.content.decode()
    report.refresh_from_db()
    case.refresh_from_db()
    assert not report.is_signed and case.status == Status.IN_REVIEW


@pytest.mark.parametrize(
    ("credentials", "field"), [({"password": "wrong"}, "password"), ({"code": "000000"}, "code")]
)
def test_sign_refused_with_wrong_credentials(
    credentials: dict[str, str], field: str, writer: Client, case: Case, specialist: User
) -> None:
    report = _filled(case, specialist)
    response = _sign(writer, case, report, **credentials)
    assert response.status_code == 400
    html = response.content.decode()
    error = re.search(rf'id="id_{field}_error"[^>]*>([^<]*)<', html)
    assert error and "That password or code is not right" in error.group(1)
    report.refresh_from_db()
    case.refresh_from_db()
    assert not report.is_signed and case.status == Status.IN_REVIEW


def test_sign_needs_a_password_or_code(writer: Client, case: Case, specialist: User) -> None:
    report = _filled(case, specialist)
    response = _sign(writer, case, report)
    assert response.status_code == 400
    assert "Enter your password, or a current code" in response.content.decode()
    report.refresh_from_db()
    assert not report.is_signed


def test_sign_refused_from_a_stale_page(writer: Client, case: Case, specialist: User) -> None:
    report = _filled(case, specialist)
    response = writer.post(
        _url("report_sign", case),
        {"report_uid": str(report.uid), "revision": report.revision - 1, "password": PASSWORD},
    )
    assert response.status_code == 409
    assert "changed since this page was loaded" in response.content.decode()
    report.refresh_from_db()
    assert not report.is_signed


def test_sign_checks_the_revision_under_the_lock(
    writer: Client, case: Case, specialist: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another tab's save between the view's check and the lock: the signature is refused
    with the stale-page message, nothing is signed."""
    report = _filled(case, specialist)
    page_revision = report.revision
    real_sign = services.report_sign

    def save_elsewhere_first(**kwargs: Any) -> Any:
        other = Report.objects.get(pk=report.pk)
        services.draft_save(
            report=other,
            by=specialist,
            revision=other.revision,
            sections={"recommendations": "Rewritten in tab B."},
        )
        return real_sign(**kwargs)

    monkeypatch.setattr(services, "report_sign", save_elsewhere_first)
    response = writer.post(
        _url("report_sign", case),
        {"report_uid": str(report.uid), "revision": page_revision, "password": PASSWORD},
    )
    assert response.status_code == 409
    html = response.content.decode()
    assert "changed since this page was loaded" in html
    assert re.search(rf'name="revision" value="{page_revision + 1}" data-revision', html)
    report.refresh_from_db()
    assert not report.is_signed


def test_on_hold_the_editor_says_signing_waits(
    writer: Client, case: Case, specialist: User
) -> None:
    _filled(case, specialist)
    Case.objects.filter(pk=case.pk).update(
        status=Status.ON_HOLD, status_before_hold=Status.IN_REVIEW
    )
    html = writer.get(_url("report_edit", case)).content.decode()
    assert 'id="sign-on-hold"' in html and "data-sign-form" not in html


def test_on_hold_without_a_draft_says_on_hold(writer: Client, case: Case) -> None:
    Case.objects.filter(pk=case.pk).update(
        status=Status.ON_HOLD, status_before_hold=Status.IN_REVIEW
    )
    response = writer.get(_url("report_edit", case), follow=True)
    assert "This case is on hold" in response.content.decode()


def test_sign_with_password_delivers_and_then_refuses_every_change(
    writer: Client,
    case: Case,
    specialist: User,
    family: User,
    physician: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    report = _filled(case, specialist)
    with django_capture_on_commit_callbacks(execute=True):
        response = _sign(writer, case, report, password=PASSWORD)
    assert response.status_code == 302
    assert response["Location"] == _url("workspace_case", case)
    page = writer.get(response["Location"]).content.decode()
    assert (
        "Signed. The PDF is being prepared and will be delivered to the family and physician."
        in page
    )
    report.refresh_from_db()
    case.refresh_from_db()
    assert report.is_signed and report.signed_method == "password"
    assert report.signed_name == "Dr. Helen Park" and report.signed_credentials == "MD, PhD"
    assert report.pdf and report.delivered_at is not None
    assert case.status == Status.DELIVERED
    moves = list(
        TimelineEvent.objects.filter(case=case, kind=TimelineEvent.Kind.STATUS)
        .order_by("pk")
        .values_list("to_status", flat=True)
    )
    assert moves[-2:] == [Status.REPORT_FINAL, Status.DELIVERED]
    kinds = set(OutboundEmail.objects.filter(case=case).values_list("kind", "to"))
    assert {("report_ready", family.email), ("report_ready", physician.email)} <= kinds
    assert all("Kawasaki" not in m.body for m in mail.outbox)

    # Read-only from now on, and every write is refused without changing anything.
    content = {name: getattr(report, name) for name, *_ in SECTIONS}
    editor = writer.get(_url("report_edit", case))
    assert editor.status_code == 200
    html = editor.content.decode()
    assert "<textarea" not in html and "Signed by Dr. Helen Park, MD, PhD" in html
    assert "UTC" in html and "report-editor.js" not in html

    autosave = _autosave(writer, case, report, report.revision, summary="Changed")
    assert autosave.status_code == 409 and autosave.json()["error"] == "signed"
    assert "signed and can no longer be changed" in autosave.json()["message"]
    save = writer.post(_url("report_edit", case), _full_form(report, summary="Changed"))
    assert save.status_code == 409
    assert "signed and can no longer be changed" in save.content.decode()
    sign = _sign(writer, case, report, password=PASSWORD)
    assert sign.status_code == 409 and "already signed" in sign.content.decode()
    report.refresh_from_db()
    assert {name: getattr(report, name) for name, *_ in SECTIONS} == content


def test_sign_with_a_fresh_code(writer: Client, case: Case, specialist: User) -> None:
    report = _filled(case, specialist)
    response = _sign(writer, case, report, code=code())
    assert response.status_code == 302
    report.refresh_from_db()
    case.refresh_from_db()
    assert report.is_signed and report.signed_method == "mfa"
    assert case.status == Status.REPORT_FINAL


# --- amended versions and addenda ----------------------------------------------------------


def _delivered(case: Case, specialist: User, capture: Any) -> Report:
    report = _filled(case, specialist)
    with capture(execute=True):
        services.report_sign(report=report, by=specialist, password=PASSWORD)
    report.refresh_from_db()
    assert report.delivered_at is not None
    return report


def test_amended_version_shows_the_note_and_asks_for_a_reason(
    writer: Client,
    case: Case,
    specialist: User,
    coordinator: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    first = _delivered(case, specialist, django_capture_on_commit_callbacks)
    draft = services.report_reopen(report=first, by=coordinator, note="Fix the dose in step 2.")
    response = writer.get(_url("report_edit", case))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Fix the dose in step 2." in html and 'id="id_amendment_reason"' in html
    assert '<a href="#id_amendment_reason">Give the reason for this new version.</a>' in html
    saved = _autosave(writer, case, draft, draft.revision, amendment_reason="Dose corrected.")
    assert saved.status_code == 200
    draft.refresh_from_db()
    assert draft.amendment_reason == "Dose corrected." and draft.version == 2
    # The case page lists both versions with their state.
    page = writer.get(_url("workspace_case", case)).content.decode()
    assert "Second opinion report, version 2" in page and "Delivered" in page


def test_addendum_answers_the_follow_up_questions(
    writer: Client,
    case: Case,
    specialist: User,
    family: User,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _delivered(case, specialist, django_capture_on_commit_callbacks)
    case.refresh_from_db()
    services.follow_up_ask(case=case, by=family, text="Can she play football this summer?")
    page = writer.get(_url("workspace_case", case)).content.decode()
    assert "Can she play football this summer?" in page
    assert _url("addendum_edit", case) in page

    response = writer.get(_url("addendum_edit", case))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Can she play football this summer?" in html
    assert 'id="id_summary"' not in html  # answers only
    addendum = Report.objects.get(case=case, kind=Report.Kind.ADDENDUM)
    saved = writer.post(
        _url("addendum_autosave", case),
        {"report_uid": str(addendum.uid), "revision": 0, "answer_1": "Yes, from July."},
    )
    assert saved.status_code == 200
    response = writer.post(
        _url("addendum_sign", case),
        {"report_uid": str(addendum.uid), "revision": 1, "password": PASSWORD},
    )
    assert response.status_code == 302
    addendum.refresh_from_db()
    assert addendum.is_signed and addendum.answers.get().text == "Yes, from July."
