"""In a real browser, what families and specialists see (tracker "Hardening and polish"): the
case page reflows at 320 px, the error summary takes the focus, the stepper and alerts are
legible, the report's title is its largest heading. axe checks every page state touched."""

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from cases.models import Case, Status
from intake.models import Intake, Record
from tests.factories import CaseFactory
from tests.reports.helpers import case_in_review
from tests.reports.matrix_reports import delivered_report

from .conftest import assert_styled, axe_check, signed_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _long_named_record(case: Case, family: User) -> None:
    Record.objects.create(
        case=case,
        kind="imaging_report",
        original_name="MRI-brain-with-and-without-contrast-2026-03-14-final-report.pdf",
        description="MRI brain, March 2026, from Valley Imaging Center",
        size=123456,
        state="available",
        scan_status="pending",
        uploaded_by=family,
    )


def test_case_page_reflows_at_320_px_and_puts_the_confirmation_first(
    page: Page, live_server: Any, family: User, specialist: User
) -> None:
    case = case_in_review(family, specialist)
    _long_named_record(case, family)
    Case.objects.filter(pk=case.pk).update(
        status=Status.AWAITING_FAMILY_CONFIRMATION, proposed_specialist=specialist
    )
    signed_in(page, live_server, family)
    page.set_viewport_size({"width": 320, "height": 800})
    page.goto(f"/cases/{case.reference}/")
    assert_styled(page)
    # WCAG 1.4.10: no horizontal scrolling at 320 CSS px.
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 320, width
    headings = page.locator("main h2").all_inner_texts()
    assert headings[0] == "Please review and confirm", headings
    assert headings[1] == "On this page", headings
    expect(page.get_by_role("navigation", name="On this page")).to_be_visible()
    page.get_by_role("link", name="History").click()
    expect(page).to_have_url(re.compile(r"#history-section$"))
    axe_check(page)

    page.set_viewport_size({"width": 1280, "height": 800})
    axe_check(page)


def test_a_failed_upload_shows_a_focused_error_summary_linking_to_the_fields(
    page: Page, live_server: Any, family: User, console_allowlist: list[re.Pattern[str]]
) -> None:
    console_allowlist.append(re.compile(r"status of 400 \(Bad Request\)"))
    case = CaseFactory(family=family, status=Status.IN_TRIAGE)
    signed_in(page, live_server, family)
    page.goto(f"/cases/{case.reference}/")
    page.get_by_role("button", name="Upload file").click()

    expect(page).to_have_title(re.compile(r"^Error: "))
    summary = page.locator("[data-error-summary]")
    expect(summary).to_be_focused()
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    summary.get_by_role("link", name="What is it?: This field is required.").click()
    expect(page.locator("#id_kind")).to_be_focused()
    axe_check(page)


def test_review_step_marks_steps_to_finish_legibly(
    page: Page, live_server: Any, family: User
) -> None:
    case = CaseFactory(family=family, status=Status.DRAFT)
    Intake.objects.create(case=case)
    signed_in(page, live_server, family)
    page.goto(f"/cases/{case.reference}/request/review/")
    stepper = page.get_by_role("navigation", name="Request steps")
    marked = stepper.locator(".stepper-attention")
    expect(marked.first).to_contain_text("(needs attention)")
    sizes = stepper.locator(".badge").evaluate_all(
        "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))"
    )
    assert min(sizes) >= 14, sizes
    expect(page.get_by_role("alert").filter(has_text="Before you can submit")).to_be_visible()
    axe_check(page)  # includes the contrast of the alert's links


def test_report_title_is_the_largest_heading_and_versions_say_what_they_are(
    page: Page, live_server: Any, family: User, specialist: User
) -> None:
    case = case_in_review(family, specialist)
    Case.objects.filter(pk=case.pk).update(status=Status.DELIVERED)
    first = delivered_report(case)
    delivered_report(case, version=2, supersedes=first, amendment_reason="A date was wrong.")
    signed_in(page, live_server, family)
    page.goto("/cases/")
    page.get_by_role("link", name=re.compile(r"^Read the report")).first.click()
    # On the report's page (the click does not wait for it): its version links are there.
    expect(page.get_by_role("link", name="Version 2, current — PDF")).to_be_visible()
    sizes = page.evaluate(
        """() => [...document.querySelectorAll('main h1, main h2, main h3')]
            .map(h => [h.tagName, parseFloat(getComputedStyle(h).fontSize)])"""
    )
    h1 = [size for tag, size in sizes if tag == "H1"]
    assert len(h1) == 1 and h1[0] > max(size for tag, size in sizes if tag != "H1"), sizes
    expect(
        page.get_by_role("link", name=re.compile(r"^Version 1, replaced .+ — PDF$"))
    ).to_be_visible()
    expect(page.get_by_role("link", name="Version 2, current — PDF")).to_be_visible()
    axe_check(page)


def test_specialist_sees_record_counts_and_signing_warnings(
    page: Page, live_server: Any, family: User, specialist: User
) -> None:
    case = case_in_review(family, specialist)
    _long_named_record(case, family)
    signed_in(page, live_server, specialist)
    page.goto(f"/workspace/{case.reference}/")
    expect(page.locator("#records-summary")).to_contain_text(
        "2 records sent: 1 cleared by the virus scan (listed below), 1 waiting for the virus scan"
    )
    axe_check(page)
    page.goto(f"/workspace/{case.reference}/report/")
    warnings = page.locator("#sign-record-warnings")
    expect(warnings).to_contain_text("1 record is not cleared by the virus scan yet")
    expect(warnings).to_contain_text("You have not opened 1 record: labs.pdf.")
    axe_check(page)


def test_dashboard_with_a_delivered_report(
    page: Page, live_server: Any, family: User, specialist: User
) -> None:
    case = case_in_review(family, specialist)
    Case.objects.filter(pk=case.pk).update(status=Status.DELIVERED)
    delivered_report(case)
    signed_in(page, live_server, family)
    page.goto("/cases/")
    card = page.get_by_role("region", name=f"Sofia Lopez Request {case.reference}")
    expect(card.get_by_role("link").nth(1)).to_have_text(re.compile(r"^Read the report"))
    axe_check(page)
