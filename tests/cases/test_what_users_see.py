"""What families, physicians and specialists see on their pages (tracker "Hardening and
polish"): headings, the order of a page, history in sentences, error summaries, the
specialist's view of records, report versions. The browser half is tests/browser/test_polish.py."""

import re
from collections import Counter
from typing import Any

from django.test import Client
from django.urls import reverse

from accounts.models import User
from cases.models import AccessEvent, Case, Status, TimelineEvent
from intake.models import Intake, Record
from tests.conftest import login
from tests.factories import CaseFactory
from tests.reports.helpers import case_in_review
from tests.reports.matrix_reports import delivered_report


def _html(response: Any) -> str:
    assert response.status_code in (200, 400), response.status_code
    return response.content.decode()


def _main(html: str) -> str:
    return html[html.index('<main id="main"') : html.index("</main>")]


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


# --- dashboard ------------------------------------------------------------------------------


def test_dashboard_heads_each_request_with_the_child_and_offers_the_report_first(
    family: User, specialist: User
) -> None:
    delivered = case_in_review(family, specialist)
    Case.objects.filter(pk=delivered.pk).update(status=Status.DELIVERED)
    delivered_report(delivered)
    draft = CaseFactory(family=family, status=Status.DRAFT)

    html = _html(login(Client(), family).get(reverse("dashboard")))
    card = html[html.index(f'id="case-{delivered.reference}"') :]
    card = card[: card.index("</section>")]
    heading = _text(card[card.index('">') + 2 : card.index("</h2>")])
    assert heading == "Sofia Lopez"  # the child, not the reference
    assert f"Request {delivered.reference}</p>" in card  # the reference, secondary
    buttons = re.findall(r'<a class="btn[^"]*" href="([^"]+)">([^<]+)', card)
    assert buttons[0] == (reverse("report_read", args=[delivered.reference]), "Read the report")

    # A request without a child's name yet is still a heading, and is not offered a report.
    draft_card = html[html.index(f'id="case-{draft.reference}"') :]
    draft_card = draft_card[: draft_card.index("</section>")]
    assert "New request" in draft_card and "Read the report" not in draft_card


# --- the case page --------------------------------------------------------------------------


def _proposed(family: User, specialist: User) -> Case:
    case = case_in_review(family, specialist)
    Case.objects.filter(pk=case.pk).update(
        status=Status.AWAITING_FAMILY_CONFIRMATION, proposed_specialist=specialist
    )
    case.refresh_from_db()
    return case


def test_case_page_puts_what_the_family_must_do_first_and_lists_its_sections(
    family: User, specialist: User
) -> None:
    case = _proposed(family, specialist)
    html = _html(login(Client(), family).get(reverse("case_detail", args=[case.reference])))
    main = _main(html)
    confirm = main.index("Please review and confirm")
    assert confirm < main.index('id="contents-heading"') < main.index('id="summary"')
    assert main.count("Please review and confirm") == 1  # not again further down

    contents = main[main.index('id="contents-heading"') : main.index("</nav>")]
    targets = re.findall(r'href="#([^"]+)"', contents)
    assert targets[:4] == [
        "summary-section",
        "questions-section",
        "records-section",
        "people-section",
    ]
    assert targets[-1] == "history-section"
    assert "in-person-section" in targets
    for target in targets:  # every entry leads somewhere on the page
        assert f'id="{target}"' in main, target


def test_case_page_ids_are_unique_with_the_upload_and_message_forms(
    family: User, specialist: User
) -> None:
    case = CaseFactory(family=family, status=Status.IN_TRIAGE)
    html = _html(login(Client(), family).get(reverse("case_detail", args=[case.reference])))
    assert 'name="kind"' in html and 'id="id_kind"' in html  # the upload form
    assert 'id="id_message_kind"' in html  # the message form's own ids
    ids = Counter(re.findall(r'\sid="([^"]+)"', html))
    assert [i for i, n in ids.items() if n > 1] == []
    for target in re.findall(r'<label[^>]*\sfor="([^"]+)"', html):
        assert ids[target] == 1, target


def test_history_says_who_did_what_by_name_and_role_never_by_email(
    family: User, specialist: User, coordinator: User
) -> None:
    case = case_in_review(family, specialist)
    nameless = User.objects.create_user("nameless-coordinator@example.com", role="coordinator")
    steps = [
        (family, Status.DRAFT, Status.SUBMITTED),
        (nameless, Status.SUBMITTED, Status.IN_TRIAGE),
        (coordinator, Status.IN_TRIAGE, Status.AWAITING_FAMILY_CONFIRMATION),
        (family, Status.AWAITING_FAMILY_CONFIRMATION, Status.ASSIGNED),
        (specialist, Status.ASSIGNED, Status.IN_REVIEW),
        (None, Status.REPORT_FINAL, Status.DELIVERED),
    ]
    for actor, before, after in steps:
        TimelineEvent.objects.create(
            case=case, kind="status", actor=actor, from_status=before, to_status=after
        )
    html = _html(login(Client(), family).get(reverse("case_detail", args=[case.reference])))
    history = _text(html[html.index('id="history-section"') :].split("</section>")[0])
    for line in [
        "Maria Lopez (parent) submitted the request",
        "The coordinator started reviewing the request",
        "Alex Kim (coordinator) proposed a specialist and the fee",
        "Maria Lopez (parent) confirmed the specialist",
        "Dr. Helen Park (specialist) started the review",
        "The report was delivered",
    ]:
        assert line in history, (line, history)
    assert "@" not in history
    assert "Assigned to a specialist (" not in history


def test_records_table_says_what_each_cell_is_for_narrow_screens(family: User) -> None:
    case = case_in_review(family, User.objects.create_user("s@example.com", role="specialist"))
    html = _html(login(Client(), family).get(reverse("case_detail", args=[case.reference])))
    table = html[html.index('class="table table-sm align-middle table-stack"') :]
    table = table[: table.index("</table>")]
    labels = re.findall(r'<td data-label="([^"]+)"', table)
    assert labels == ["File", "Kind", "Size", "Status", "Added"]


# --- forms ----------------------------------------------------------------------------------


def test_a_failed_submit_gets_an_error_title_and_a_summary_linking_to_each_field(
    family: User,
) -> None:
    case = CaseFactory(family=family, status=Status.IN_TRIAGE)
    client = login(Client(), family)
    response = client.post(reverse("record_upload", args=[case.reference]), {"description": "x"})
    assert response.status_code == 400
    html = response.content.decode()
    assert re.search(r"<title>Error: Request ", html)
    summary = html[
        html.index("data-error-summary") : html.index("</div>", html.index("data-error-summary"))
    ]
    links = re.findall(r'<a href="#([^"]+)">([^<]+)</a>', summary)
    assert ("id_file", "File: This field is required.") in links
    assert ("id_kind", "What is it?: This field is required.") in links
    for anchor, _message in links:
        assert f'id="{anchor}"' in html
    assert "js/error-summary.js" in html  # moves the focus to the summary
    assert not case.records.exists()

    ok = client.get(reverse("case_detail", args=[case.reference])).content.decode()
    assert "<title>Error:" not in ok and "data-error-summary" not in ok


def test_the_stepper_marks_steps_that_need_attention_in_words(family: User) -> None:
    case = CaseFactory(family=family, status=Status.DRAFT)
    Intake.objects.create(case=case)
    html = _html(
        login(Client(), family).get(reverse("intake_step", args=[case.reference, "review"]))
    )
    stepper = html[
        html.index('aria-label="Request steps"') : html.index(
            "</nav>", html.index('aria-label="Request steps"')
        )
    ]
    marked = re.findall(
        r'class="badge text-decoration-none border stepper-attention"[^>]*>(.*?)</a>', stepper
    )
    assert marked, stepper
    for badge in marked:
        assert "(needs attention)" in badge
        assert "visually-hidden" not in badge  # sighted users read it too


# --- the specialist's workspace -------------------------------------------------------------


def _record(case: Case, by: User, name: str, **state: Any) -> Record:
    from django.core.files.base import ContentFile

    record = Record(
        case=case, kind="lab_results", original_name=name, size=10, uploaded_by=by, **state
    )
    record.file.save(name, ContentFile(b"%PDF-1.4\n"), save=False)
    record.save()
    return record


def test_workspace_counts_records_the_scan_has_not_cleared_instead_of_saying_none(
    family: User, specialist: User
) -> None:
    case = case_in_review(family, specialist)
    case.records.all().delete()
    _record(case, family, "echo.pdf", state="available", scan_status="pending")
    _record(case, family, "mri.zip", state="verifying")
    _record(case, family, "bad.exe", state="rejected")
    client = login(Client(), specialist)
    html = _html(client.get(reverse("workspace_case", args=[case.reference])))
    assert "No records yet" not in html
    summary = _text(html[html.index('id="records-summary"') :].split("</p>")[0])
    assert summary.endswith(
        "3 records sent: 0 cleared by the virus scan, 2 waiting for the virus scan "
        "(listed once cleared), 1 refused or quarantined."
    )
    assert "None cleared by the virus scan yet." in html
    assert AccessEvent.objects.filter(case=case, user=specialist, object_type="case").exists()


def _opened(case: Case, record: Record, by: User) -> None:
    # The audit row the gate writes when the specialist downloads or views a record
    # (intake.access.record_for_user): "opened" is read from the audit log.
    AccessEvent.objects.create(
        user=by,
        role=by.role,
        case=case,
        object_type="record",
        object_id=str(record.uid),
        action="download",
        outcome=AccessEvent.Outcome.ALLOWED,
    )


def test_the_workspace_counts_the_records_this_specialist_has_not_opened(
    family: User, specialist: User, coordinator: User
) -> None:
    """What the specialist opened is read with the case (reports.workspace_views): their own
    views only, not the coordinator's."""
    case = case_in_review(family, specialist)
    case.records.all().delete()
    labs = _record(case, family, "labs.pdf", state="available", scan_status="clean")
    echo = _record(case, family, "echo.pdf", state="available", scan_status="clean")
    url = reverse("workspace_case", args=[case.reference])
    client = login(Client(), specialist)

    def summary() -> str:
        html = _html(client.get(url))
        return _text(html[html.index('id="records-summary"') :].split("</p>")[0])

    assert summary().endswith("You have not opened 2 of them yet.")
    _opened(case, labs, coordinator)
    assert summary().endswith("You have not opened 2 of them yet.")
    _opened(case, labs, specialist)
    _opened(case, labs, specialist)
    assert summary().endswith("You have not opened 1 of them yet.")
    _opened(case, echo, specialist)
    assert "You have not opened" not in summary()


def test_signing_warns_about_unscanned_and_unopened_records(family: User, specialist: User) -> None:
    case = case_in_review(family, specialist)
    _record(case, family, "echo.pdf", state="available", scan_status="pending")
    client = login(Client(), specialist)
    html = _html(client.get(reverse("report_edit", args=[case.reference])))
    warnings = _text(html[html.index('id="sign-record-warnings"') :].split("</div>")[0])
    assert "1 record is not cleared by the virus scan yet" in warnings
    assert "You have not opened 1 record: labs.pdf." in warnings

    labs = case.records.get(original_name="labs.pdf")
    _opened(case, labs, specialist)
    Record.objects.filter(case=case, original_name="echo.pdf").update(scan_status="clean")
    html = _html(client.get(reverse("report_edit", args=[case.reference])))
    warnings = _text(html[html.index('id="sign-record-warnings"') :].split("</div>")[0])
    assert "virus scan" not in warnings
    assert "You have not opened 1 record: echo.pdf." in warnings

    echo = case.records.get(original_name="echo.pdf")
    _opened(case, echo, specialist)
    html = _html(client.get(reverse("report_edit", args=[case.reference])))
    assert 'id="sign-record-warnings"' not in html


def test_no_deadline_once_the_report_is_delivered(family: User, specialist: User) -> None:
    from django.utils import timezone

    case = case_in_review(family, specialist)
    Case.objects.filter(pk=case.pk).update(due_at=timezone.now())
    client = login(Client(), specialist)
    assert "Report due" in _html(client.get(reverse("workspace_case", args=[case.reference])))
    Case.objects.filter(pk=case.pk).update(status=Status.DELIVERED)
    html = _html(client.get(reverse("workspace_case", args=[case.reference])))
    assert "Report due" not in html and "left" not in _text(_main(html)).split("Records")[0]


# --- the report page ------------------------------------------------------------------------


def test_the_report_title_is_the_largest_heading(family: User, specialist: User) -> None:
    case = case_in_review(family, specialist)
    Case.objects.filter(pk=case.pk).update(status=Status.DELIVERED)
    delivered_report(case)
    html = _html(login(Client(), family).get(reverse("report_read", args=[case.reference])))
    assert re.search(r'<h1 class="h2">Second opinion report</h1>', html)


def test_a_coordinator_signing_in_lands_on_the_console_not_the_family_dashboard(
    coordinator: User,
) -> None:
    response = login(Client(), coordinator).get(reverse("dashboard"))
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_the_physician_is_told_what_a_physician_must_do(physician: User, family: User) -> None:
    from cases.stages import stage_for

    case = CaseFactory(family=family, status=Status.DELIVERED, physician_email=physician.email)
    assert "with your physician" in stage_for(case).needed
    assert stage_for(case, physician=True).needed == (
        "Read the report, and go over it with the family."
    )
    confirm = CaseFactory(family=family, status=Status.AWAITING_FAMILY_CONFIRMATION)
    assert stage_for(confirm, physician=True).needed == ""
    response = login(Client(), physician).get(reverse("case_detail", args=[case.reference]))
    assert response.status_code == 200
    text = _text(_html(response))
    assert "with your physician" not in text
    assert "go over it with the family" in text
