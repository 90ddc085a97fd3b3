"""In a real browser: the family opens the delivered report from the case page, downloads the
PDF, asks a follow-up question; the physician reads the report. Each page checked with axe."""

import hashlib
import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from accounts.models import User
from cases.models import Case, Status
from reports.models import FollowUpQuestion, Report, ReportOpening
from tests.reports.helpers import case_in_review
from tests.reports.matrix_reports import delivered_report

from .conftest import assert_styled, axe_check, signed_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def delivered(family: User, specialist: User, physician: User) -> tuple[Case, Report]:
    case = case_in_review(family, specialist, physician_email=physician.email)
    Case.objects.filter(pk=case.pk).update(status=Status.DELIVERED)
    case.refresh_from_db()
    return case, delivered_report(case)


def test_family_reads_downloads_and_asks_a_follow_up(
    page: Page,
    live_server: Any,
    family: User,
    delivered: tuple[Case, Report],
    console_allowlist: list[re.Pattern[str]],
) -> None:
    # The empty question is sent back with its error as a 400, which Chromium logs.
    console_allowlist.append(re.compile(r"status of 400 \(Bad Request\) \(/cases/"))
    case, report = delivered
    signed_in(page, live_server, family)
    page.goto(f"/cases/{case.reference}/")
    page.get_by_role("link", name="Read the report").click()

    expect(page).to_have_url(f"{live_server.url}/cases/{case.reference}/report/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Second opinion report")
    main = page.get_by_role("main")
    for answer in report.answers.all():
        expect(main).to_contain_text(answer.text)
    expect(main).to_contain_text("Electronically signed by")
    assert_styled(page)
    axe_check(page)
    assert ReportOpening.objects.filter(report=report, user=family).exists()

    with page.expect_download() as download_info:
        page.get_by_role("link", name=re.compile(r"^Download the report \(PDF, ")).click()
    download = download_info.value
    assert download.suggested_filename == f"{case.reference}-report-v1.pdf"
    content = download.path().read_bytes()
    assert content.startswith(b"%PDF")
    assert hashlib.sha256(content).hexdigest() == report.pdf_sha256

    question = page.get_by_label("Your follow-up question")
    expect(question).to_have_accessible_description(re.compile(r"Up to 2,000 characters"))
    page.get_by_role("button", name="Send the follow-up question").click()
    question = page.get_by_label("Your follow-up question")
    expect(question).to_have_attribute("aria-invalid", "true")
    expect(question).to_have_accessible_description(re.compile(r"^Write your question\."))
    axe_check(page)

    question.fill("Can she start swimming lessons again?")
    page.get_by_role("button", name="Send the follow-up question").click()
    expect(page.get_by_role("status")).to_contain_text("Follow-up question 1 was sent.")
    expect(page.locator("#follow-up")).to_contain_text("Can she start swimming lessons again?")
    expect(page.locator("#follow-up")).to_contain_text("waiting for the specialist's answer")
    axe_check(page)
    asked = FollowUpQuestion.objects.get(case=case)
    assert (asked.asked_by, asked.text) == (family, "Can she start swimming lessons again?")


def test_physician_reads_the_report(
    page: Page,
    live_server: Any,
    physician: User,
    delivered: tuple[Case, Report],
) -> None:
    case, report = delivered
    signed_in(page, live_server, physician)
    page.goto(f"/cases/{case.reference}/")
    page.get_by_role("link", name="Read the report").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Second opinion report")
    expect(page.get_by_role("main")).to_contain_text("For the physician: clinical assessment")
    expect(page.get_by_role("main")).to_contain_text(report.diagnosis_assessment)
    axe_check(page)
    assert ReportOpening.objects.filter(report=report, user=physician, role="physician").exists()
