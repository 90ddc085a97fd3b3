"""The card on file: the request form's card step, one Stripe Customer per family account,
removing the card, and nothing of a card but brand and last 4 in our database."""

import io
import re
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse

from billing import services
from billing.models import CaseBilling, StripeCustomer
from cases.models import AccessEvent, Case, Status
from intake.models import Intake
from tests.billing.conftest import (
    DECLINED_AT_SAVE,
    PUBLISHABLE_KEY,
    VISA,
    browser_confirms_setup,
    card_saved,
    card_step_url,
    ls_count,
    ls_get,
)
from tests.conftest import login
from tests.factories import CaseFactory, specialty

pytestmark = pytest.mark.usefixtures("stripe_on")

S = CaseBilling.State
NOTICE = "Nothing is charged now."


def draft(family: Any, slug: str = "cardiology") -> Case:
    case = CaseFactory(family=family, status=Status.DRAFT, specialty=specialty(slug))
    Intake.objects.create(case=case)
    return case


def secret_on(page: str) -> str:
    found = re.search(r'data-client-secret="([^"]+)"', page)
    assert found, "no client secret on the page"
    return found.group(1)


def test_the_card_step_shows_the_price_the_notice_and_stripe_js(
    stripe_on: str, family: Any, settings: Any
) -> None:
    case = draft(family)
    response = login(Client(), family).get(card_step_url(case))
    assert response.status_code == 200
    page = response.content.decode()
    assert "costs <strong>$875.00</strong>" in page
    assert NOTICE in page
    assert "only after our team has reviewed your request and gone over the charges" in page
    assert f'href="{reverse("refund_policy")}"' in page  # the policy is linked from here
    assert f'<script src="{settings.STRIPE_JS_URL}"></script>' in page
    assert f'data-stripe-key="{PUBLISHABLE_KEY}"' in page
    assert "<script>" not in page  # no inline script (CSP)
    secret = secret_on(page)
    billing = CaseBilling.objects.get(case=case)
    assert secret.startswith(f"{billing.setup_intent_id}_secret_")
    intent = ls_get(stripe_on, f"/v1/setup_intents/{billing.setup_intent_id}")
    assert intent["usage"] == "off_session"
    assert intent["metadata"] == {"case_reference": case.reference}
    # The CSP lets Stripe.js (here localstripe's copy) load and talk to its API.
    csp = response["Content-Security-Policy"]
    assert stripe_on in csp.split("script-src")[1].split(";")[0]
    assert stripe_on in csp.split("connect-src")[1].split(";")[0]


def test_reloading_the_card_step_reuses_the_setup_intent(stripe_on: str, family: Any) -> None:
    case = draft(family)
    client = login(Client(), family)
    first = secret_on(client.get(card_step_url(case)).content.decode())
    second = secret_on(client.get(card_step_url(case)).content.decode())
    assert first == second
    assert ls_count(stripe_on, "setup_intents") == 1


def test_saving_a_card_keeps_brand_and_last4_and_goes_to_review(
    stripe_on: str, family: Any
) -> None:
    case = draft(family)
    client = login(Client(), family)
    secret = secret_on(client.get(card_step_url(case)).content.decode())
    confirmed = browser_confirms_setup(stripe_on, secret, VISA)  # Stripe.js, in the browser
    response = client.post(card_step_url(case), {"setup_intent": confirmed["id"]})
    assert response.status_code == 302
    assert response["Location"] == reverse("intake_step", args=[case.reference, "review"])
    billing = CaseBilling.objects.get(case=case)
    assert (billing.state, billing.card_brand, billing.card_last4) == (S.CARD_SAVED, "visa", "4242")
    assert billing.payment_method_id == confirmed["payment_method"]
    customer = StripeCustomer.objects.get(user=family)
    assert billing.customer == customer
    # Attached to the family's Customer at Stripe, so it can be charged off session.
    method = ls_get(stripe_on, f"/v1/payment_methods/{billing.payment_method_id}")
    assert method["customer"] == customer.customer_id
    assert services.billing_missing_for_submit(case) is None
    page = client.get(card_step_url(case)).content.decode()
    assert "Visa ending in 4242" in page and "Remove this card" in page


def test_a_card_not_confirmed_at_stripe_is_not_kept(stripe_on: str, family: Any) -> None:
    case = draft(family)
    client = login(Client(), family)
    secret = secret_on(client.get(card_step_url(case)).content.decode())
    declined = browser_confirms_setup(stripe_on, secret, DECLINED_AT_SAVE)
    assert declined["error"]["code"] == "card_declined"  # shown by Stripe.js on the page
    seti = secret.split("_secret_")[0]
    # Even if the page posted the id anyway, Stripe says it did not succeed.
    response = client.post(card_step_url(case), {"setup_intent": seti})
    assert response.status_code == 400
    assert "The card was not saved. Nothing was charged." in response.content.decode()
    assert CaseBilling.objects.get(case=case).payment_method_id == ""
    assert services.billing_missing_for_submit(case) is not None


def test_a_setup_intent_of_another_case_is_refused(
    stripe_on: str, family: Any, other_family: Any
) -> None:
    theirs = draft(other_family)
    card_saved(stripe_on, theirs)
    mine = draft(family)
    client = login(Client(), family)
    client.get(card_step_url(mine))
    other_seti = CaseBilling.objects.get(case=theirs).setup_intent_id
    response = client.post(card_step_url(mine), {"setup_intent": other_seti})
    assert response.status_code == 400
    assert "This card form has expired" in response.content.decode()
    assert CaseBilling.objects.get(case=mine).payment_method_id == ""


def test_one_stripe_customer_per_family_account(stripe_on: str, family: Any) -> None:
    first, second = draft(family), draft(family)
    card_saved(stripe_on, first)
    card_saved(stripe_on, second)
    assert StripeCustomer.objects.filter(user=family).count() == 1
    assert ls_count(stripe_on, "customers") == 1


def test_a_free_specialty_has_no_card_step_and_no_stripe_objects(
    stripe_on: str, family: Any
) -> None:
    case = draft(family, "cardiac-surgery")
    assert not services.card_required(case)
    assert services.billing_missing_for_submit(case) is None
    response = login(Client(), family).get(card_step_url(case))
    assert response.status_code == 302
    assert response["Location"] == reverse("intake_step", args=[case.reference, "review"])
    billing = services.fee_fix_at_submission(case=case)
    assert (billing.fee_cents, billing.state) == (0, S.NOT_CHARGEABLE)
    assert ls_count(stripe_on, "customers") == 0
    assert ls_count(stripe_on, "setup_intents") == 0


def test_a_paid_specialty_needs_a_card_to_submit(stripe_on: str, family: Any) -> None:
    case = draft(family)
    assert services.card_required(case)
    assert "Add the card" in (services.billing_missing_for_submit(case) or "")


def test_the_fee_is_fixed_at_submission_once(stripe_on: str, family: Any) -> None:
    from django.utils import timezone

    from billing.models import Fee

    case = draft(family)
    card_saved(stripe_on, case)
    billing = services.fee_fix_at_submission(case=case)
    assert (billing.fee_cents, billing.fee.specialty, billing.state) == (87500, None, S.CARD_SAVED)
    Fee.objects.create(
        specialty=case.specialty, amount_cents=50000, effective_from=timezone.localdate()
    )
    again = services.fee_fix_at_submission(case=case)
    assert again.fee_cents == 87500
    assert services.fee_quote(case) == 87500
    assert services.fee_quote(draft(family)) == 50000  # a new request gets the new price


def test_removing_the_card_detaches_it(stripe_on: str, family: Any) -> None:
    case = draft(family)
    method = card_saved(stripe_on, case).payment_method_id
    client = login(Client(), family)
    response = client.post(
        reverse("billing:card_remove", args=[case.reference]), {"next": card_step_url(case)}
    )
    assert response.status_code == 302 and response["Location"] == card_step_url(case)
    billing = CaseBilling.objects.get(case=case)
    assert (billing.state, billing.payment_method_id, billing.card_last4) == (S.NO_CARD, "", "")
    assert billing.setup_intent_id is None
    assert ls_get(stripe_on, f"/v1/payment_methods/{method}")["customer"] is None
    # The step offers the card field again.
    assert "data-card-setup" in client.get(card_step_url(case)).content.decode()


def test_a_withdrawn_case_keeps_no_card(stripe_on: str, family: Any) -> None:
    case = draft(family)
    card_saved(stripe_on, case)
    Case.objects.filter(pk=case.pk).update(status=Status.WITHDRAWN)
    response = login(Client(), family).post(reverse("billing:card_remove", args=[case.reference]))
    assert response.status_code == 302
    assert CaseBilling.objects.get(case=case).payment_method_id == ""


def test_removing_is_for_the_family_only(stripe_on: str, family: Any, physician: Any) -> None:
    case = draft(family)
    card_saved(stripe_on, case)
    Case.objects.filter(pk=case.pk).update(status=Status.SUBMITTED)
    url = reverse("billing:card_remove", args=[case.reference])
    assert login(Client(), physician).post(url).status_code == 404
    assert CaseBilling.objects.get(case=case).payment_method_id
    refused = AccessEvent.objects.get(user=physician, outcome=AccessEvent.Outcome.DENIED)
    assert (refused.case_id, refused.action, refused.object_type) == (case.pk, "remove", "card")


def test_a_physician_on_the_card_step_sees_no_card_field(stripe_on: str, physician: Any) -> None:
    case = CaseFactory(
        family=None, created_by=physician, status=Status.DRAFT, physician_email=physician.email
    )
    Intake.objects.create(case=case, started_by_physician=True)
    response = login(Client(), physician).get(card_step_url(case))
    assert response.status_code == 200
    page = response.content.decode()
    assert "The parent or guardian adds the card" in page
    assert "data-card-setup" not in page
    assert ls_count(stripe_on, "customers") == 0


def test_no_card_data_in_our_database(stripe_on: str, family: Any, coordinator: Any) -> None:
    case = draft(family)
    card_saved(stripe_on, case, VISA)
    services.fee_fix_at_submission(case=case)
    Case.objects.filter(pk=case.pk).update(status=Status.AWAITING_FAMILY_CONFIRMATION)
    services.payment_charge(case=case, by=coordinator)
    out = io.StringIO()
    call_command("dumpdata", stdout=out)
    dump = out.getvalue()
    assert VISA not in dump
    assert not re.search(r"\b\d{13,19}\b", dump), "a card-number-like value is stored"
    for word in ('"cvc"', '"exp_month"', '"exp_year"', "2034"):
        assert word not in dump
    assert '"card_last4": "4242"' in dump  # what we do keep


def test_the_case_page_panel(stripe_on: str, family: Any, physician: Any) -> None:
    """templates/billing/_case_panel.html, for the case page: the family's saved card with a
    remove button, and the way to pay when the charge failed; nothing for others."""
    from django.template.loader import render_to_string
    from django.test import RequestFactory

    case = draft(family)
    card_saved(stripe_on, case)
    request = RequestFactory().get("/")
    html = render_to_string(
        "billing/_case_panel.html", {"case": case, "user": family}, request=request
    )
    assert "Saved card: Visa ending in 4242." in html
    assert reverse("billing:card_remove", args=[case.reference]) in html
    assert "Pay now" not in html
    CaseBilling.objects.filter(case=case).update(state=S.PAYMENT_NEEDED)
    Case.objects.filter(pk=case.pk).update(status=Status.PAYMENT_NEEDED)
    case.refresh_from_db()
    html = render_to_string(
        "billing/_case_panel.html", {"case": case, "user": family}, request=request
    )
    assert reverse("billing:pay", args=[case.reference]) in html
    assert (
        render_to_string(
            "billing/_case_panel.html", {"case": case, "user": physician}, request=request
        ).strip()
        == ""
    )
    bare = CaseFactory(family=family)
    assert (
        render_to_string(
            "billing/_case_panel.html", {"case": bare, "user": family}, request=request
        ).strip()
        == ""
    )


def test_stripe_not_answering_keeps_the_request_and_says_so(boundary: Any, family: Any) -> None:
    """Tested at the HTTP-client boundary: every try to create the SetupIntent times out."""
    case = draft(family)
    boundary.lose_answers["/v1/customers"] = 3
    response = login(Client(), family).get(card_step_url(case))
    assert response.status_code == 200
    page = response.content.decode()
    assert "We could not reach our card processor." in page
    assert "data-card-setup" not in page
    case.refresh_from_db()
    assert case.status == Status.DRAFT


def test_demo_requests_get_the_test_card(stripe_on: str, family: Any, settings: Any) -> None:
    from billing.demo import demo_card_save

    case = draft(family)
    assert demo_card_save(case=case, by=family)
    billing = CaseBilling.objects.get(case=case)
    assert (billing.state, billing.card_last4) == (S.CARD_SAVED, "4242")
    assert services.billing_missing_for_submit(case) is None
    settings.STRIPE_SECRET_KEY = ""
    assert not demo_card_save(case=draft(family), by=family)
    settings.STRIPE_SECRET_KEY = "sk_live_not_for_demo_data"
    assert not demo_card_save(case=draft(family), by=family)
