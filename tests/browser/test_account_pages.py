"""The remaining pages a family or physician can reach: starting a request, linking to a
patient's request (with its error state), the refund policy, and the account pages
(profile, email addresses, password, opting in to two-factor authentication)."""

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from .conftest import axe_check, signed_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_refund_policy_is_public_and_accessible(page: Page) -> None:
    page.goto("/billing/refund-policy/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("efund")
    expect(page.get_by_role("main")).to_contain_text("charged")
    axe_check(page)


def test_family_account_pages(page: Page, live_server: Any, family: Any) -> None:
    signed_in(page, live_server, family)
    for path, heading in [
        ("/cases/new/", "Start a second-opinion request"),
        ("/accounts/profile/", "Your account"),
        ("/accounts/email/", "Email"),
        ("/accounts/password/change/", "Password"),
        ("/accounts/2fa/", "Two-Factor"),
    ]:
        page.goto(path)
        expect(page.get_by_role("heading", level=1)).to_contain_text(heading)
        axe_check(page)


def test_physician_links_to_a_request_with_errors_shown(
    page: Page, live_server: Any, physician: Any
) -> None:
    signed_in(page, live_server, physician)
    page.goto("/cases/link/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Link to a patient's request")
    axe_check(page)
    page.get_by_label("Case reference").fill("not-a-reference")
    page.get_by_role("main").get_by_role("button", name="Ask to be linked").click()
    reference = page.get_by_label("Case reference")
    expect(reference).to_have_value("not-a-reference")  # what was typed is kept
    expect(page.get_by_role("main")).to_contain_text("Enter a reference shaped like")
    axe_check(page)
