"""End to end in a real browser: a family signs up, a coordinator signs in with TOTP, and
sign-in works from the keyboard alone. Every page on the way is checked with axe."""

import re
import time
from typing import Any

import pytest
from allauth.account.models import EmailAddress
from django.conf import settings
from django.core import mail
from playwright.sync_api import Locator, Page, expect

from accounts.models import Role, User
from core.models import OutboundEmail
from tests.conftest import totp_now

from .conftest import assert_styled, axe_check

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_EMAIL = "new.parent@example.com"
NEW_PASSWORD = "Blue-harbour-lantern-42"


def field(page: Page, label: str) -> Locator:
    """The form control labelled ``label`` (required fields add an asterisk to the label)."""
    return page.get_by_label(re.compile(rf"^\s*{re.escape(label)}\s*\*?\s*$"))


def _sign_in(page: Page, email: str, password: str) -> None:
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign In")
    field(page, "Email").fill(email)
    field(page, "Password").fill(password)
    page.get_by_role("main").get_by_role("button", name="Sign In").click()


def test_family_signs_up_verifies_email_and_reaches_dashboard(page: Page, live_server: Any) -> None:
    page.goto("/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("second opinion for your child")
    assert_styled(page)
    axe_check(page)

    page.get_by_role("main").get_by_role("link", name="Start a request").click()
    expect(page).to_have_url(f"{live_server.url}/accounts/signup/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign Up")
    assert_styled(page)
    axe_check(page)

    # A mistake first: the error is shown at the field it concerns, and the page stays clean.
    field(page, "Email").fill(NEW_EMAIL)
    field(page, "Password").fill(NEW_PASSWORD)
    field(page, "Password (again)").fill(NEW_PASSWORD + "x")
    page.get_by_role("main").get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign Up")
    password_again = field(page, "Password (again)")
    expect(password_again).to_have_attribute("aria-invalid", "true")
    expect(password_again).to_have_accessible_description(
        "You must type the same password each time."
    )
    field_error = page.locator("#div_id_password2 .invalid-feedback")
    expect(field_error).to_be_visible()
    expect(field_error).to_have_text("You must type the same password each time.")
    expect(field(page, "Email")).to_have_value(NEW_EMAIL)
    assert not User.objects.filter(email=NEW_EMAIL).exists()
    assert mail.outbox == []
    axe_check(page)

    field(page, "Password").fill(NEW_PASSWORD)
    password_again.fill(NEW_PASSWORD)
    page.get_by_role("main").get_by_role("button", name="Sign Up").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify Your Email Address")
    axe_check(page)

    # The verification email went through the outbox table, then the Celery task (eager
    # here) that transaction.on_commit started once the row was committed, into locmem.
    user = User.objects.get(email=NEW_EMAIL)
    assert user.role == Role.FAMILY
    assert not EmailAddress.objects.get(user=user).verified
    queued = OutboundEmail.objects.get(to=NEW_EMAIL)
    assert queued.state == OutboundEmail.State.SENT
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == [NEW_EMAIL]
    assert message.subject == queued.subject
    links = re.findall(r"https?://\S+/accounts/confirm-email/\S+/", message.body)
    assert len(links) == 1, message.body
    assert links[0].startswith(f"{live_server.url}/"), links[0]

    # The link only shows a confirmation page (mail scanners follow links); a click confirms.
    page.goto(links[0])
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Email Address")
    axe_check(page)
    assert not EmailAddress.objects.get(user=user).verified
    page.get_by_role("main").get_by_role("button", name="Confirm").click()
    expect(page).to_have_url(re.compile(r"/accounts/login/"))
    expect(page.get_by_role("status")).to_contain_text(f"You have confirmed {NEW_EMAIL}")
    assert EmailAddress.objects.get(user=user).verified
    assert_styled(page)
    axe_check(page)

    _sign_in(page, NEW_EMAIL, NEW_PASSWORD)
    expect(page).to_have_url(f"{live_server.url}/cases/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My requests")
    expect(page.get_by_role("main")).to_contain_text("You have no requests yet.")
    expect(page.get_by_role("navigation", name="Main")).to_contain_text("Sign out")
    assert_styled(page)
    axe_check(page)


def _wait_for_fresh_totp_window(margin: float = 3.0) -> None:
    """allauth accepts only the current 30-second code: do not type one about to expire."""
    left = 30 - time.time() % 30
    if left < margin:
        time.sleep(left + 0.2)


def test_coordinator_signs_in_with_totp_and_reaches_admin(
    page: Page, live_server: Any, coordinator: User
) -> None:
    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=.*admin"))
    axe_check(page)
    _sign_in(page, coordinator.email, settings.DEMO_PASSWORD)

    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-Factor Authentication")
    assert_styled(page)
    axe_check(page)
    _wait_for_fresh_totp_window()
    field(page, "Code").fill(totp_now())
    page.get_by_role("main").get_by_role("button", name="Sign In").click()

    expect(page).to_have_url(f"{live_server.url}/admin/")
    expect(page.locator("#site-name")).to_have_text("Online Second Opinion — coordinator console")
    expect(page.locator("#user-tools")).to_contain_text(coordinator.get_short_name())
    # The coordinator group's permissions apply: the case list is on the index.
    expect(page.locator("#cases-case").get_by_role("link", name="Cases")).to_be_visible()
    axe_check(page)


def test_sign_in_with_the_keyboard_alone(page: Page, live_server: Any, family: User) -> None:
    page.goto("/accounts/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign In")

    def focused() -> str:
        return page.evaluate(
            "() => { const e = document.activeElement;"
            " return e.id || e.getAttribute('href') || e.textContent.trim(); }"
        )

    # The skip link comes first and shows itself; then Tab walks through the header into
    # the form.
    page.keyboard.press("Tab")
    assert focused() == "#main"
    expect(page.get_by_role("link", name="Skip to main content")).to_be_visible()
    order = []
    for _ in range(15):
        page.keyboard.press("Tab")
        order.append(focused())
        if order[-1] == "id_login":
            break
    assert order[-1] == "id_login", order
    page.keyboard.type(family.email)
    page.keyboard.press("Tab")
    assert focused() == "id_password"
    page.keyboard.type(settings.DEMO_PASSWORD)
    page.keyboard.press("Enter")

    expect(page).to_have_url(f"{live_server.url}/cases/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My requests")
