"""The specialist workspace in a real browser: My cases, accepting a case, writing the
report with autosave (surviving a reload), the warning when the same draft is open in a
second tab and the conflict when that tab saves first, then signing with the password.
axe checks My cases, the case page and the editor."""

import re
from typing import Any

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from accounts.models import User
from cases.models import Case, Status
from reports.models import SECTIONS, Report
from tests.reports.helpers import case_in_review

from .conftest import TIMEOUT_MS, assert_styled, axe_check, signed_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "SecondOpinion-demo-2026"
# Autosave waits 1.5 s after the last keystroke; allow for the save itself.
SAVED_TIMEOUT_MS = TIMEOUT_MS


@pytest.fixture
def console_allowlist() -> list[re.Pattern[str]]:
    # The second tab's save makes this tab's next save a 409, which Chromium logs.
    return [re.compile(r"status of 409")]


def expect_saved(page: Page) -> None:
    expect(page.locator("#autosave-status")).to_contain_text(
        re.compile(r"Saved at \d"), timeout=SAVED_TIMEOUT_MS
    )


def test_specialist_accepts_writes_and_signs(
    page: Page, live_server: Any, family: User, specialist: User, physician: User
) -> None:
    case = case_in_review(family, specialist)
    Case.objects.filter(pk=case.pk).update(status=Status.ASSIGNED, assigned_at=timezone.now())
    signed_in(page, live_server, specialist)

    # My cases: the new case waits to be accepted.
    page.goto("/cases/")
    expect(page).to_have_url(f"{live_server.url}/workspace/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My cases")
    assert_styled(page)
    to_accept = page.get_by_role("table", name=re.compile(r"^To accept"))
    expect(to_accept).to_contain_text(case.reference)
    axe_check(page)

    # The case page: the request, the questions, the clean record; accept.
    to_accept.get_by_role("link", name=case.reference).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Case {case.reference}")
    expect(page.locator("#intake-section")).to_contain_text("Kawasaki disease")
    expect(page.locator("#records-section")).to_contain_text("labs.pdf")
    axe_check(page)
    page.get_by_role("button", name="Accept the case").click()
    expect(page.locator(".messages")).to_contain_text(f"You accepted {case.reference}")
    case.refresh_from_db()
    assert case.status == Status.IN_REVIEW

    # The editor: type, autosave, reload, still there.
    page.get_by_role("link", name="Write the report").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Second opinion report")
    axe_check(page)
    summary = page.get_by_role("textbox", name=re.compile(r"^Summary for the family"))
    summary.fill("Sofia's heart is healthy.")
    answer = page.get_by_role("textbox", name="Answer to question 1")
    answer.fill("Yes, the diagnosis is right.")
    expect_saved(page)
    report = Report.objects.get(case=case)
    assert report.summary == "Sofia's heart is healthy."
    assert report.answers.get(position=1).text == "Yes, the diagnosis is right."
    page.reload()
    expect(summary).to_have_value("Sofia's heart is healthy.")
    expect(answer).to_have_value("Yes, the diagnosis is right.")

    # The same draft in a second tab: both warn; the second saves first, so this one stops.
    second = page.context.new_page()
    second.goto(page.url)
    warning = "also open in another tab or window"
    expect(second.locator("[data-editor-tabs]")).to_contain_text(warning)
    expect(page.locator("[data-editor-tabs]")).to_contain_text(warning)
    second.locator("#id_next_steps").fill("Written in the second tab.")
    expect_saved(second)
    page.locator("#id_next_steps").fill("Written in the first tab.")
    conflict = page.locator("[data-editor-conflict]")
    expect(conflict).to_contain_text("changed in another tab or window", timeout=SAVED_TIMEOUT_MS)
    expect(page.locator("#id_next_steps")).to_have_value("Written in the first tab.")
    report.refresh_from_db()
    assert report.next_steps == "Written in the second tab."
    second.close()
    expect(page.locator("[data-editor-tabs]")).to_be_hidden()

    # Carry on from the saved draft: fill everything, then sign with the password.
    page.reload()
    expect(conflict).to_be_hidden()
    for name, heading, *_ in SECTIONS:
        page.locator(f"#id_{name}").fill(f"{heading}: written in the browser.")
    answer.fill("Yes, the diagnosis is right.")
    page.locator("#id_answer_2").fill("Yes, give the second dose.")
    expect_saved(page)
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Sign the report").click()
    expect(page.locator(".messages")).to_contain_text(
        "Signed. The PDF is being prepared and will be delivered to the family and physician."
    )
    report.refresh_from_db()
    assert report.is_signed and report.summary == "Summary for the family: written in the browser."
    assert report.answers.get(position=2).text == "Yes, give the second dose."
