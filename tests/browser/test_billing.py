"""The card in a real browser, through localstripe's copy of Stripe.js (STRIPE_JS_URL): a
family saves card 4242 and submits; a declined card and a failed 3-D Secure show a clear
message and keep the request; a cardiac-surgery request has no card step; a family pays on
the page after a failed charge. Every request the browser sends to our server is captured,
and none carries a card number. axe checks the card and confirmation pages."""

import re
from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page, Request, expect

from accounts.models import User
from billing import services
from billing.models import CaseBilling, PaymentAttempt
from cases.models import Case, Status
from tests.billing.conftest import (  # noqa: F401 - fixtures used by name
    NEEDS_3DS,
    _billing_urls,
    card_step_url,
    case_to_charge,
    localstripe_url,
    ls_count,
    stripe_on,
)
from tests.conftest import login
from tests.intake.helpers import add_question, fill_until_questions, post_step, start

from .conftest import axe_check
from .conftest import signed_in as sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CARD_NUMBERS = ("4242424242424242", "4000000000000002", "4000002500003155")
NOTHING_CHARGED = "Nothing was charged, and the rest of your request is saved."


@pytest.fixture
def ls(request: pytest.FixtureRequest) -> str:
    """localstripe's URL, with the settings pointing at it (tests/billing/conftest.py)."""
    return str(request.getfixturevalue("stripe_on"))


@pytest.fixture
def sent(page: Page, live_server: Any) -> Iterator[list[Request]]:
    """Every request the browser sends to our server (not to Stripe), with its body."""
    captured: list[Request] = []

    def keep(request: Request) -> None:
        if request.url.startswith(live_server.url):
            captured.append(request)

    page.on("request", keep)
    yield captured
    for request in captured:
        body = request.post_data or ""
        for number in CARD_NUMBERS:
            assert number not in body.replace(" ", ""), f"card number sent to {request.url}"
        assert "cvc" not in body and "exp_month" not in body, request.url


def draft_until_card(family: User, slug: str = "cardiology") -> Case:
    """A draft filled in up to the card step, through the request form (the form itself is
    tested in test_intake)."""
    client = login(Client(), family)
    case = start(client)
    fill_until_questions(client, case, specialty=slug)
    assert add_question(client, case, "Is surgery the right choice now?").status_code == 302
    assert post_step(client, case, "records", {}).status_code == 302
    return case


def type_card(page: Page, number: str) -> None:
    """Type into the card field (localstripe's Card Element: plain inputs in our page; the
    real one is Stripe's iframe)."""
    element = page.locator("#card-element")
    element.get_by_placeholder("number").fill(number)
    element.get_by_placeholder("exp_month").fill("12")
    element.get_by_placeholder("exp_year").fill("34")
    element.get_by_placeholder("cvc").fill("123")
    element.get_by_placeholder("postal_code").fill("97201")


def main(page: Page) -> Any:
    return page.get_by_role("main")


def submit_request(page: Page) -> None:
    main(page).get_by_label("I accept the terms").check()
    main(page).get_by_label("I authorise the hospital to use the records").check()
    main(page).get_by_label("does not create a doctor-patient relationship").check()
    main(page).get_by_role("button", name="Submit request").click()


def test_family_saves_card_4242_and_submits(
    page: Page, live_server: Any, family: User, sent: list[Request], ls: str
) -> None:
    case = draft_until_card(family)
    sign_in(page, live_server, family)
    page.goto(card_step_url(case))
    expect(page.get_by_role("heading", level=1)).to_have_text("Payment card")
    expect(main(page)).to_contain_text("A Cardiology second opinion costs $875.00.")
    notice = main(page).locator("#charge-notice")
    expect(notice).to_contain_text("Nothing is charged now.")
    expect(notice).to_contain_text(
        "only after our team has reviewed your request and gone over the charges with you"
    )
    expect(page.locator("#card-element input")).to_have_count(5)  # Stripe.js mounted it
    axe_check(page)

    type_card(page, "4242424242424242")
    button = main(page).get_by_role("button", name="Save card and continue")
    button.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review and submit")
    expect(page.get_by_role("status")).to_contain_text(
        "Card saved: Visa ending in 4242. Nothing has been charged."
    )
    axe_check(page)
    billing = CaseBilling.objects.get(case=case)
    assert (billing.state, billing.card_brand, billing.card_last4) == (
        CaseBilling.State.CARD_SAVED,
        "visa",
        "4242",
    )
    posted = [r for r in sent if r.method == "POST" and r.url.endswith(card_step_url(case))]
    assert len(posted) == 1
    assert re.search(r"setup_intent=seti_\w+", posted[0].post_data or "")

    submit_request(page)
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"Request {case.reference}")
    expect(page.get_by_role("status")).to_contain_text("was submitted")
    axe_check(page)
    case.refresh_from_db()
    assert case.status == Status.SUBMITTED
    billing.refresh_from_db()
    assert (billing.fee_cents, billing.state) == (87500, CaseBilling.State.CARD_SAVED)
    assert ls_count(ls, "payment_intents") == 0  # saved, never charged


def test_declined_card_and_failed_3d_secure_keep_the_form(
    page: Page,
    live_server: Any,
    family: User,
    sent: list[Request],
    ls: str,
    console_allowlist: list[re.Pattern[str]],
) -> None:
    # Stripe answers the declined card with 402: Chromium logs the failed request.
    console_allowlist.append(re.compile(r"status of 402 .*/v1/setup_intents/seti_\w+/confirm"))
    case = draft_until_card(family)
    sign_in(page, live_server, family)
    page.goto(card_step_url(case))
    button = main(page).get_by_role("button", name="Save card and continue")

    type_card(page, "4000000000000002")
    button.click()
    errors = page.locator("#card-errors")
    expect(errors).to_have_text(f"Your card was declined. {NOTHING_CHARGED}")
    expect(errors).to_have_attribute("role", "alert")
    expect(button).to_be_enabled()
    expect(page.get_by_role("heading", level=1)).to_have_text("Payment card")
    axe_check(page)

    # A card whose bank asks for 3-D Secure, and the family fails it.
    type_card(page, NEEDS_3DS)
    button.click()
    page.get_by_role("button", name="Fail authentication").click()
    expect(errors).to_contain_text("authentication failed")
    expect(errors).to_contain_text(NOTHING_CHARGED)
    expect(button).to_be_enabled()

    assert CaseBilling.objects.get(case=case).payment_method_id == ""
    assert not [r for r in sent if r.method == "POST"]  # nothing reached our server
    # The rest of the request is still there.
    case.refresh_from_db()
    assert case.status == Status.DRAFT and case.questions.count() == 1
    assert case.intake.child_legal_first_name == "Sofia"

    # And 3-D Secure passed: the card is saved.
    type_card(page, NEEDS_3DS)
    button.click()
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review and submit")
    assert CaseBilling.objects.get(case=case).card_last4 == "3155"


def test_a_cardiac_surgery_request_has_no_card_step(
    page: Page, live_server: Any, family: User, sent: list[Request], ls: str
) -> None:
    case = draft_until_card(family, "cardiac-surgery")
    sign_in(page, live_server, family)
    page.goto(reverse("intake_step", args=[case.reference, "records"]))
    steps = page.get_by_role("navigation", name="Request steps")
    expect(steps).not_to_contain_text("Payment card")
    main(page).get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Review and submit")
    # Asked for directly, the card step sends the family on to review.
    page.goto(card_step_url(case))
    expect(page.get_by_role("heading", level=1)).to_have_text("Review and submit")
    expect(page.locator("#card-element")).to_have_count(0)
    submit_request(page)
    expect(page.get_by_role("status")).to_contain_text("was submitted")
    case.refresh_from_db()
    assert case.status == Status.SUBMITTED
    billing = CaseBilling.objects.get(case=case)
    assert (billing.fee_cents, billing.state) == (0, CaseBilling.State.NOT_CHARGEABLE)
    for kind in ("customers", "setup_intents", "payment_intents"):
        assert ls_count(ls, kind) == 0, kind


def test_family_pays_on_the_page_with_3d_secure(
    page: Page, live_server: Any, family: User, sent: list[Request], ls: str
) -> None:
    case = case_to_charge(ls, family, number=NEEDS_3DS)
    services.payment_charge(case=case, by=None)  # off session: the bank wants the family
    assert Case.objects.get(pk=case.pk).status == Status.PAYMENT_NEEDED
    sign_in(page, live_server, family)
    page.goto(reverse("billing:pay", args=[case.reference]))
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Payment for request {case.reference}"
    )
    expect(main(page)).to_contain_text("Amount due: $875.00")
    axe_check(page)
    main(page).get_by_role("button", name="Pay $875.00 with Visa ending in 3155").click()
    expect(
        main(page).get_by_role("heading", name="Confirm the payment with your bank")
    ).to_be_visible()
    axe_check(page)
    main(page).get_by_role("button", name="Confirm with my bank").click()
    page.get_by_role("button", name="Complete authentication").click()
    expect(page.get_by_role("status")).to_contain_text("your payment of $875.00 went through")
    axe_check(page)
    billing = CaseBilling.objects.get(case=case)
    assert (billing.state, billing.paid_cents) == (CaseBilling.State.PAID, 87500)
    assert Case.objects.get(pk=case.pk).status == Status.ASSIGNED
    attempt = PaymentAttempt.objects.get(case=case, number=2)
    assert attempt.on_session and attempt.status == PaymentAttempt.Status.SUCCEEDED


def test_family_pays_on_the_page_with_another_card(
    page: Page,
    live_server: Any,
    family: User,
    sent: list[Request],
    ls: str,
    console_allowlist: list[re.Pattern[str]],
) -> None:
    console_allowlist.append(re.compile(r"status of 400 \(Bad Request\) \(/cases/"))
    case = case_to_charge(ls, family, number="4000000000000341")
    services.payment_charge(case=case, by=None)  # declined off session
    sign_in(page, live_server, family)
    page.goto(reverse("billing:pay", args=[case.reference]))
    expect(main(page)).to_contain_text("Your card was declined.")
    type_card(page, "4242424242424242")
    main(page).get_by_role("button", name="Pay $875.00 with this card").click()
    expect(page.get_by_role("status")).to_contain_text("your payment of $875.00 went through")
    billing = CaseBilling.objects.get(case=case)
    assert (billing.state, billing.card_last4) == (CaseBilling.State.PAID, "4242")
    posted = [r for r in sent if r.method == "POST"]
    assert len(posted) == 1 and "setup_intent=seti_" in (posted[0].post_data or "")
