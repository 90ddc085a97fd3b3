"""A request's lifecycle in a real browser: the coordinator signs in with TOTP and, on the
case page of the console, takes a submitted request into review, requests a record, marks
the records received and proposes a specialist; the family, in a browser of their own,
sees the proposal and confirms it; the physician named on the request opens the case.
axe checks the family's and the physician's pages; the database is checked after each step.
"""

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, ConsoleMessage, Locator, Page, expect

from accounts.models import SpecialistProfile, Specialty, User
from cases.admin.labels import console_status
from cases.models import Case, RecordRequest, Status, TimelineEvent
from tests.conftest import totp_now
from tests.intake.helpers import complete_and_submit, start

from .conftest import TIMEOUT_MS, assert_styled, axe_check

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD_WHAT = "Echocardiogram report from March"


# --- helpers ------------------------------------------------------------------------------


def field(scope: Page | Locator, label: str) -> Locator:
    """The form control labelled ``label`` (required fields add an asterisk to the label)."""
    return scope.get_by_label(re.compile(rf"^\s*{re.escape(label)}\s*\*?\s*$"))


def main(page: Page) -> Locator:
    return page.get_by_role("main")


@contextmanager
def fresh_page(browser: Browser, live_server: Any) -> Iterator[Page]:
    """Another person's browser: a new context, with the same console policy as ``page``."""
    context = browser.new_context(base_url=live_server.url, locale="en-US")
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    errors: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        source = urlsplit(message.location.get("url", "")).path
        if message.type == "error" and source != "/favicon.ico":
            errors.append(f"{page.url}: {message.text} ({source or 'page'})")

    page.on("console", on_console)
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))
    try:
        yield page
    finally:
        context.close()
    assert not errors, "errors in the browser console:\n" + "\n".join(errors)


def sign_in(page: Page, email: str) -> None:
    """Sign in through the form (password only: families and physicians have no TOTP)."""
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign In")
    field(page, "Email").fill(email)
    field(page, "Password").fill(settings.DEMO_PASSWORD)
    main(page).get_by_role("button", name="Sign In").click()


def wait_for_fresh_totp_window(margin: float = 3.0) -> None:
    """allauth accepts only the current 30-second code: do not type one about to expire."""
    left = 30 - time.time() % 30
    if left < margin:
        time.sleep(left + 0.2)


def status_moves(case: Case) -> list[tuple[str, str]]:
    return list(
        TimelineEvent.objects.filter(case=case, kind=TimelineEvent.Kind.STATUS)
        .order_by("at", "pk")
        .values_list("from_status", "to_status")
    )


def timeline(case: Case) -> list[tuple[str, str, str, str]]:
    """Every timeline row of the case, oldest first: (kind, from, to, note)."""
    return list(
        TimelineEvent.objects.filter(case=case)
        .order_by("at", "pk")
        .values_list("kind", "from_status", "to_status", "note")
    )


class NewRows:
    """The timeline rows added since the last call."""

    def __init__(self, case: Case) -> None:
        self.case = case
        self.seen = len(timeline(case))

    def __call__(self) -> list[tuple[str, str, str, str]]:
        rows = timeline(self.case)
        new, self.seen = rows[self.seen :], len(rows)
        return new


def status_row(from_status: Status, to_status: Status, note: str) -> tuple[str, str, str, str]:
    return (TimelineEvent.Kind.STATUS, from_status, to_status, note)


def email_row(kind: str, to: str) -> tuple[str, str, str, str]:
    return (TimelineEvent.Kind.EMAIL, "", "", f"Email “{kind}” sent to {to}")


def note_row(note: str) -> tuple[str, str, str, str]:
    return (TimelineEvent.Kind.NOTE, "", "", note)


def admin_moves(page: Page) -> Locator:
    return page.locator("#case-moves")


def expect_admin_status(page: Page, label: str) -> None:
    expect(admin_moves(page).locator("p strong").first).to_have_text(label)


def expect_success(page: Page, text: str) -> None:
    expect(page.locator("ul.messagelist li.success")).to_contain_text(text)


def expect_tracker_at(page: Page, case: Case, stage: str) -> None:
    tracker = page.get_by_role("list", name=f"Progress of request {case.reference}")
    expect(tracker.locator("[aria-current=step]")).to_have_text(f"Now: {stage}")


# --- the test -----------------------------------------------------------------------------


@pytest.fixture
def submitted_case(
    family: User, physician: User, specialist: User, django_capture_on_commit_callbacks: Any
) -> Case:
    """The family's request, built and submitted through the real intake form (a free
    specialty, so no card); the specialist persona accepts cases in that specialty."""
    client = Client()
    client.force_login(family)
    case = start(client)
    response = complete_and_submit(client, case, django_capture_on_commit_callbacks)
    assert response.status_code == 302, response.content.decode()[:2000]
    case.refresh_from_db()
    assert case.status == Status.SUBMITTED
    assert case.family == family
    assert case.physician_email == physician.email
    assert case.specialty == Specialty.objects.get(slug="cardiac-surgery")
    profile = SpecialistProfile.objects.create(
        user=specialist, title="Attending Cardiac Surgeon", accepting_cases=True
    )
    profile.specialties.add(case.specialty)
    return case


def test_coordinator_moves_the_case_and_the_family_confirms(
    page: Page,
    browser: Browser,
    live_server: Any,
    submitted_case: Case,
    coordinator: User,
    family: User,
    physician: User,
    specialist: User,
) -> None:
    case = submitted_case
    moves_before = status_moves(case)
    assert moves_before[-1] == (Status.DRAFT, Status.SUBMITTED), moves_before
    change_url = f"/admin/cases/case/{case.pk}/change/"
    new_rows = NewRows(case)

    # The coordinator signs in with a password and a TOTP code, and lands on the case.
    page.goto(change_url)
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))
    sign_in(page, coordinator.email)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    wait_for_fresh_totp_window()
    field(page, "Code").fill(totp_now())
    main(page).get_by_role("button", name="Sign In").click()
    expect(page).to_have_url(f"{live_server.url}{change_url}")
    expect_admin_status(page, console_status(Status.SUBMITTED))
    expect(page.locator("#case-intake")).to_contain_text("Ventricular septal defect")
    axe_check(page)
    assert new_rows() == []  # opening the case changes nothing

    # 1. Take into review.
    admin_moves(page).get_by_role("button", name="Take into review").click()
    expect(page).to_have_url(f"{live_server.url}{change_url}")
    expect_success(page, f"{case.reference}: Taken into review.")
    expect_admin_status(page, console_status(Status.IN_TRIAGE))
    case.refresh_from_db()
    assert case.status == Status.IN_TRIAGE
    assert status_moves(case) == [*moves_before, (Status.SUBMITTED, Status.IN_TRIAGE)]
    assert new_rows() == [status_row(Status.SUBMITTED, Status.IN_TRIAGE, "Taken into review.")]
    expect(page.locator("#case-timeline tr.timeline-status").first).to_contain_text(
        f"{console_status(Status.SUBMITTED)} → {console_status(Status.IN_TRIAGE)}"
    )

    # 2. Request a record: the small form, then back to the case.
    admin_moves(page).get_by_role("link", name="Request a record…").click()
    expect(page).to_have_url(
        re.compile(rf"/admin/cases/case/{case.pk}/transition/request_records/$")
    )
    axe_check(page)
    page.locator("#id_what").fill(RECORD_WHAT)
    page.locator("#id_requested_from").select_option(RecordRequest.From.PHYSICIAN)
    page.locator("#id_provider_name").fill("Riverside Pediatrics")
    main_form = page.locator("#content-main form")
    main_form.get_by_role("button", name="Request a record").click()
    expect(page).to_have_url(f"{live_server.url}{change_url}")
    expect_success(page, f"{case.reference}: Record requested")
    expect_admin_status(page, console_status(Status.AWAITING_RECORDS))
    requests_table = page.locator("#case-record-requests")
    expect(requests_table).to_contain_text(RECORD_WHAT)
    expect(requests_table.get_by_role("button", name="Mark received")).to_be_visible()
    case.refresh_from_db()
    assert case.status == Status.AWAITING_RECORDS
    assert status_moves(case)[-1] == (Status.IN_TRIAGE, Status.AWAITING_RECORDS)
    record_request = RecordRequest.objects.get(case=case)
    assert record_request.what == RECORD_WHAT
    assert record_request.requested_from == RecordRequest.From.PHYSICIAN
    assert record_request.provider_name == "Riverside Pediatrics"
    assert record_request.received_at is None
    assert new_rows() == [
        status_row(Status.IN_TRIAGE, Status.AWAITING_RECORDS, "Records requested."),
        email_row("records_requested", family.email),
        email_row("records_requested", physician.email),
    ]

    # 3. All records received: the request is ticked off and the case goes back to review.
    admin_moves(page).get_by_role("button", name="All records received").click()
    expect(page).to_have_url(f"{live_server.url}{change_url}")
    expect_success(page, f"{case.reference}: All records marked as received.")
    expect_admin_status(page, console_status(Status.IN_TRIAGE))
    expect(requests_table.get_by_role("button", name="Mark received")).to_have_count(0)
    case.refresh_from_db()
    assert case.status == Status.IN_TRIAGE
    assert case.records_complete_at is not None
    assert status_moves(case)[-1] == (Status.AWAITING_RECORDS, Status.IN_TRIAGE)
    record_request.refresh_from_db()
    assert record_request.received_at is not None
    assert new_rows() == [
        note_row("All records received."),
        status_row(Status.AWAITING_RECORDS, Status.IN_TRIAGE, "All records received."),
    ]

    # 4. Propose the specialist (the only one accepting cardiac surgery).
    admin_moves(page).get_by_role("link", name="Propose a specialist…").click()
    expect(page).to_have_url(re.compile(rf"/admin/cases/case/{case.pk}/transition/propose/$"))
    axe_check(page)
    choice = page.locator("#id_specialist")
    expect(choice.locator("option")).to_have_count(2)  # the empty choice and Dr. Park
    choice.select_option(label=f"{specialist.get_full_name()} — 0 open case(s)")
    page.locator("#id_note").fill("Dr. Park leads our cardiac surgery team.")
    page.locator("#content-main form").get_by_role("button", name="Propose a specialist").click()
    expect(page).to_have_url(f"{live_server.url}{change_url}")
    expect_success(page, f"{case.reference}: Proposal sent to the family.")
    expect_admin_status(page, console_status(Status.AWAITING_FAMILY_CONFIRMATION))
    case.refresh_from_db()
    assert case.status == Status.AWAITING_FAMILY_CONFIRMATION
    assert case.proposed_specialist == specialist
    assert case.assigned_specialist is None
    assert case.proposal_note == "Dr. Park leads our cardiac surgery team."
    assert status_moves(case)[-1] == (Status.IN_TRIAGE, Status.AWAITING_FAMILY_CONFIRMATION)
    assert new_rows() == [
        status_row(
            Status.IN_TRIAGE,
            Status.AWAITING_FAMILY_CONFIRMATION,
            f"Proposed {specialist.get_full_name()} to the family.",
        ),
        email_row("proposal_ready", family.email),
    ]
    expected_moves = [
        *moves_before,
        (Status.SUBMITTED, Status.IN_TRIAGE),
        (Status.IN_TRIAGE, Status.AWAITING_RECORDS),
        (Status.AWAITING_RECORDS, Status.IN_TRIAGE),
        (Status.IN_TRIAGE, Status.AWAITING_FAMILY_CONFIRMATION),
    ]
    assert status_moves(case) == expected_moves

    # 5. The family, in their own browser, sees the proposal and confirms it.
    case_url = f"/cases/{case.reference}/"
    with fresh_page(browser, live_server) as family_page:
        family_page.goto(case_url)
        sign_in(family_page, family.email)
        expect(family_page).to_have_url(f"{live_server.url}{case_url}")
        expect(family_page.get_by_role("heading", level=1)).to_contain_text(case.reference)
        expect_tracker_at(family_page, case, "Confirm charges")
        proposal = family_page.get_by_role("region", name="Please review and confirm")
        expect(proposal).to_contain_text(specialist.get_full_name())
        expect(proposal).to_contain_text("No charge")
        expect(proposal).to_contain_text("Dr. Park leads our cardiac surgery team.")
        expect(
            proposal.get_by_role("button", name=re.compile(r"^Withdraw my request"))
        ).to_be_visible()
        assert_styled(family_page)
        axe_check(family_page)

        proposal.get_by_role(
            "button", name=f"Confirm for request {case.reference}", exact=True
        ).click()
        expect(family_page).to_have_url(f"{live_server.url}{case_url}")
        expect_tracker_at(family_page, case, "Specialist review")
        expect(family_page.get_by_role("region", name="Please review and confirm")).to_have_count(0)
        case.refresh_from_db()
        assert case.status == Status.ASSIGNED
        assert case.assigned_specialist == specialist
        assert case.assigned_at is not None
        assert case.due_at is not None
        assert status_moves(case)[: len(expected_moves)] == expected_moves
        assert status_moves(case)[-1][1] == Status.ASSIGNED
        assert new_rows() == [
            note_row("The family confirmed the specialist and the charges."),
            status_row(Status.AWAITING_FAMILY_CONFIRMATION, Status.ASSIGNED, "No charge."),
            email_row("case_assigned", family.email),
            email_row("specialist_new_case", specialist.email),
        ]
        due = family_page.get_by_role("region", name="When to expect the report")
        expect(due).to_contain_text("We expect the report by")
        expect(due).to_contain_text(
            re.compile(r"\w+day, \w+ \d{1,2}, \d{4}, \d{1,2}:\d{2} [AP]M Pacific")
        )
        axe_check(family_page)

    # 6. The physician named on the request opens the case.
    with fresh_page(browser, live_server) as physician_page:
        physician_page.goto(case_url)
        sign_in(physician_page, physician.email)
        expect(physician_page).to_have_url(f"{live_server.url}{case_url}")
        expect(physician_page.get_by_role("heading", level=1)).to_contain_text(case.reference)
        expect_tracker_at(physician_page, case, "Specialist review")
        expect(main(physician_page)).to_contain_text(f"Priya Shah ({physician.email})")
        # The proposal buttons are the family's alone.
        expect(
            main(physician_page).get_by_role("button", name=re.compile("^Confirm"))
        ).to_have_count(0)
        assert_styled(physician_page)
        axe_check(physician_page)

    case.refresh_from_db()
    assert case.status == Status.ASSIGNED
    assert new_rows() == []  # the family's and the physician's visits changed nothing
