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


def _sign_in_keeping_session(page: Page, live_server: Any, user: User) -> None:
    """Sign in (as in another tab) on the browser's own session, so what the server kept in
    it across sign-in is still there."""
    from django.conf import settings
    from django.test import Client

    from tests.conftest import login

    client = Client()
    for cookie in page.context.cookies():
        if cookie["name"] == settings.SESSION_COOKIE_NAME:
            client.cookies[settings.SESSION_COOKIE_NAME] = cookie["value"]
    login(client, user)
    new = client.cookies[settings.SESSION_COOKIE_NAME]
    page.context.add_cookies([{"name": new.key, "value": new.value, "url": live_server.url}])


def test_signed_out_editor_says_so_and_save_draft_still_saves(
    page: Page,
    live_server: Any,
    family: User,
    specialist: User,
    console_allowlist: list[re.Pattern[str]],
) -> None:
    # The autosave refused while signed out (401, or 403 without a CSRF cookie).
    console_allowlist.append(re.compile(r"status of 40[13]"))
    case = case_in_review(family, specialist)
    signed_in(page, live_server, specialist)
    page.goto(f"/workspace/{case.reference}/report/")
    summary = page.locator("#id_summary")
    summary.fill("Saved while signed in.")
    expect_saved(page)

    page.context.clear_cookies()  # the session ended
    summary.fill("Typed after the session ended.")
    conflict = page.locator("[data-editor-conflict]")
    expect(conflict).to_contain_text(
        "You have been signed out. Your text is still here: sign in again in another tab, "
        "then press Save draft.",
        timeout=SAVED_TIMEOUT_MS,
    )
    expect(page.locator("#autosave-status")).to_contain_text("signed out")
    report = Report.objects.get(case=case)
    assert report.summary == "Saved while signed in."
    # No endless retry: nothing more is sent until the specialist acts.
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url))
    page.wait_for_timeout(2500)
    assert not [u for u in sent if "autosave" in u]

    _sign_in_keeping_session(page, live_server, specialist)
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".messages")).to_contain_text("Draft saved.")
    expect(summary).to_have_value("Typed after the session ended.")
    report.refresh_from_db()
    assert report.summary == "Typed after the session ended."


def test_save_draft_while_signed_out_is_kept_across_sign_in(
    page: Page,
    live_server: Any,
    family: User,
    specialist: User,
    console_allowlist: list[re.Pattern[str]],
) -> None:
    console_allowlist.append(re.compile(r"status of 40[13]"))
    case = case_in_review(family, specialist)
    signed_in(page, live_server, specialist)
    page.goto(f"/workspace/{case.reference}/report/")
    page.context.clear_cookies()
    page.locator("#id_summary").fill("Not lost.")
    expect(page.locator("[data-editor-conflict]")).to_contain_text(
        "You have been signed out", timeout=SAVED_TIMEOUT_MS
    )
    page.get_by_role("button", name="Save draft").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next="))

    _sign_in_keeping_session(page, live_server, specialist)
    page.goto(f"/workspace/{case.reference}/report/")
    expect(page.locator(".messages")).to_contain_text("We kept what you typed")
    expect(page.locator("#id_summary")).to_have_value("Not lost.")
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".messages")).to_contain_text("Draft saved.")
    assert Report.objects.get(case=case).summary == "Not lost."


def test_one_field_too_long_does_not_hold_back_the_others(
    page: Page,
    live_server: Any,
    family: User,
    specialist: User,
    console_allowlist: list[re.Pattern[str]],
) -> None:
    console_allowlist.append(re.compile(r"status of 400"))
    case = case_in_review(family, specialist)
    signed_in(page, live_server, specialist)
    page.goto(f"/workspace/{case.reference}/report/")
    answer = page.locator("#id_answer_1")
    answer.fill("x" * 10_001)
    page.locator("#id_summary").fill("Saved despite the long answer.")
    error = page.locator("#id_answer_1_error")
    expect(error).to_contain_text(
        "Keep this answer under 10,000 characters", timeout=SAVED_TIMEOUT_MS
    )
    expect(answer).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#id_summary_error")).to_be_hidden()
    # The refused answer is sent again with the summary; the summary is saved all the same.
    expect(page.locator("#autosave-status")).to_contain_text(
        "Saved, except the field marked below", timeout=SAVED_TIMEOUT_MS
    )
    report = Report.objects.get(case=case)
    assert report.summary == "Saved despite the long answer."
    assert report.answers.get(position=1).text == ""

    # Shortened: it saves, the error goes, and the page's revision still matches.
    answer.fill("Yes, the diagnosis is right.")
    expect_saved(page)
    expect(error).to_be_hidden()
    report.refresh_from_db()
    assert report.answers.get(position=1).text == "Yes, the diagnosis is right."
    assert report.summary == "Saved despite the long answer."
